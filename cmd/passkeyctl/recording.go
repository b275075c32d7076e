package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"strings"

	"github.com/passkeyctl/passkeyctl/internal/store"
)

// Settings of the audit log: who, why, and the --audit-file copy.
const (
	keyActor     = "actor"
	keyReason    = "reason"
	keyAuditFile = "audit-file"
)

// auditContext is who runs this command and why, which every change it
// makes is recorded with (store.AuditContext). The --audit-file is opened
// by Prepare, which a store calls before its first change: a command that
// only reads never creates it, and one that cannot open it changes
// nothing.
func (f *Factory) auditContext() (*store.AuditContext, error) {
	if f.audit != nil {
		return f.audit, nil
	}
	a := &store.AuditContext{
		Actor:   f.Get(keyActor),
		Reason:  f.Get(keyReason),
		Command: redactedCommand(f.args),
		Undoes:  f.undoes,
		Now:     f.Now,
	}
	if a.Actor == "" {
		a.Actor = osActor()
	}
	var file *os.File
	var openErr error
	a.Prepare = func() error {
		path := f.Get(keyAuditFile)
		if path == "" || file != nil || openErr != nil {
			return openErr
		}
		// Opened for appending, created owner-only: entries hold public
		// keys and e-mail addresses.
		if file, openErr = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); openErr != nil {
			openErr = usageError{fmt.Errorf("--audit-file: %v; nothing was changed", unwrapPathError(openErr))}
			return openErr
		}
		f.auditFile = file
		return nil
	}
	a.Recorded = func(e store.AuditEntry) {
		if file != nil {
			line, err := json.Marshal(e)
			if err == nil {
				_, err = file.Write(append(line, '\n'))
			}
			if err == nil {
				err = file.Sync()
			}
			if err != nil {
				fmt.Fprintf(f.IO.ErrOut, "warning: audit entry %d is recorded in the database but could not be appended to %s: %v\n", e.ID, file.Name(), err)
			}
		}
		f.recorded = append(f.recorded, e.ID)
		switch {
		case e.Action == store.AuditMigrateDown && len(e.Removed) > 0:
			fmt.Fprintf(f.IO.ErrOut, "Recorded as audit entry %d, with the records of the %d passkey(s) dropped: after `passkeyctl migrate`, `passkeyctl undo %d` restores them.\n", e.ID, len(e.Removed), e.ID)
		case len(e.Migrations) > 0:
			// A schema step is reversed by migrate (down), not undo.
			fmt.Fprintf(f.IO.ErrOut, "Recorded as audit entry %d.\n", e.ID)
		default:
			fmt.Fprintf(f.IO.ErrOut, "Recorded as audit entry %d; `passkeyctl undo %d` reverses it.\n", e.ID, e.ID)
		}
	}
	a.Warn = func(w string) { fmt.Fprintln(f.IO.ErrOut, "warning: "+w) }
	f.audit = a
	return a, nil
}

// osActor is the OS user and host: "alice@ops-1".
func osActor() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = fmt.Sprintf("uid %d", os.Getuid())
	}
	if host, err := os.Hostname(); err == nil && host != "" {
		return name + "@" + host
	}
	return name
}

// redactedCommand is the command line as the audit log records it: every
// DSN (a --dsn value, or any argument that looks like a URL with a
// password) in its redacted form.
func redactedCommand(args []string) string {
	out := make([]string, 0, len(args)+1)
	out = append(out, "passkeyctl")
	for i, a := range args {
		switch {
		case i > 0 && args[i-1] == "--"+keyDSN:
			a = describeDSN(a)
		case strings.HasPrefix(a, "--"+keyDSN+"="):
			a = "--" + keyDSN + "=" + describeDSN(strings.TrimPrefix(a, "--"+keyDSN+"="))
		case strings.Contains(a, "://") && strings.Contains(a, "@"):
			a = describeDSN(a)
		}
		if a == "" || strings.ContainsAny(a, " \t\"'\\$") {
			a = shellQuote(a)
		}
		out = append(out, a)
	}
	return strings.Join(out, " ")
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
