package main

import (
	"errors"
	"strings"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
)

// Exit codes: a small documented table that scripts rely on (README "Exit
// codes", `passkeyctl --help`).
const (
	exitOK             = 0
	exitFailure        = 1   // database unreachable, SQL error, anything unexpected
	exitUsage          = 2   // bad flags or arguments, refused without --yes/--force
	exitNotFound       = 3   // user or credential not found
	exitSchemaNotReady = 4   // pending migration, drift, Auth.js tables missing
	exitCeremony       = 5   // ceremony failed or timed out
	exitInterrupted    = 130 // SIGINT (Ctrl-C): 128 + 2, the shell's convention
	exitTerminated     = 143 // SIGTERM: 128 + 15
)

const exitCodesHelp = `Exit codes (one code per kind of outcome, in every command):
  0    success (an import that skipped torn, duplicate or broken records
       included: it says so on stderr and in -o json)
  1    failure (database unreachable or connection lost, SQL error such as
       permission denied, lock timeout, import conflict, a deadlock still
       there after 5 tries)
  2    usage error, or refused without --yes/--force (a dry run refuses
       where the real run would)
  3    not found (user, credential; also one another run revoked first);
       nothing was changed
  4    schema not ready (pending migration, drift, app tables missing, a
       column too narrow for a credential, whoever finds it: passkeyctl or
       the database)
  5    ceremony failed or timed out; nothing was written
  130  interrupted by SIGINT (Ctrl-C): any command, serve included, stops
       within 2 s and rolls back what is open; a second Ctrl-C exits at once
  143  terminated by SIGTERM: the same`

// usageError marks an error as the caller's fault (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// errCeremony marks a failed, cancelled or timed-out ceremony (exit 5).
var errCeremony = errors.New("ceremony failed")

// exitCode maps an error to the documented exit code, in one place.
func exitCode(err error) int {
	var ue usageError
	var sig interrupted
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &sig):
		return signalExitCode(sig.sig)
	case errors.As(err, &ue), errors.Is(err, passkey.ErrInvalid), errors.Is(err, passkey.ErrRefused):
		return exitUsage
	case errors.Is(err, errCeremony):
		return exitCeremony
	case errors.Is(err, passkey.ErrNotFound):
		return exitNotFound
	case errors.Is(err, passkey.ErrSchemaNotReady), errors.Is(err, passkey.ErrDrift), db.IsSchemaError(err):
		// A driver error that says the schema cannot take the data is
		// the same outcome as passkeyctl's own check for it.
		return exitSchemaNotReady
	}
	return exitFailure
}

// errorLine is the one line (or short block, for drift lists) printed for
// err. Sentinel suffixes that only repeat what the message says are trimmed.
func errorLine(err error) string {
	msg := err.Error()
	for _, s := range []string{": " + passkey.ErrNotFound.Error(), ": " + passkey.ErrInvalid.Error()} {
		msg = strings.TrimSuffix(msg, s)
	}
	for _, s := range []string{passkey.ErrInvalid.Error() + ": ", passkey.ErrRefused.Error() + ": "} {
		msg = strings.TrimPrefix(msg, s)
	}
	return db.Redact(msg)
}
