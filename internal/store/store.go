// Package store is the one interface every command and the ceremony
// server use to read and write an app's passkeys, in the words of the
// domain: find a user, list passkeys, resolve credential IDs, revoke,
// enrol, update a counter, read and write export records.
//
// Each app or backend implements it once: Auth.js on SQL and Better Auth
// on SQL (package db), Auth.js on Redis through the Unstorage adapter
// (package store/redis). Which one a command gets is decided once, where
// the DSN is opened (cmd/passkeyctl/backends.go); code that holds a Store
// never asks which one it has. What differs between them and a command
// must say (the app's name, where its passkeys live, what a revoke
// deletes) is in the Description.
package store

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
)

// Store is one app's passkeys in one database or key space, for one
// Passkey provider id (the "provider" of Auth.js's webauthn accounts).
// Errors wrap the passkey package's domain errors (ErrNotFound,
// ErrConflict, ErrInvalid, ErrRefused, ErrSchemaNotReady, ErrDrift).
type Store interface {
	// Describe says what the store is, for messages and JSON.
	Describe() Description
	// Ready reports, with the fix, whether the store can serve purpose:
	// reading passkeys, or also enrolling them.
	Ready(purpose Purpose) error

	// FindUser resolves ref, a user id or an e-mail address (exact
	// first, then ignoring case as the app's own lookup would match).
	FindUser(ctx context.Context, ref string) (passkey.User, error)
	// NewUser prepares a user for an enrolment with --create-user: the
	// e-mail as the app's own sign-in would store it and a new id of the
	// app's kind. Nothing is written.
	NewUser(email string, now time.Time, rand io.Reader) (passkey.User, error)
	// CompleteUsers and CompleteCredentialIDs return up to limit user ids
	// or e-mails, or credential IDs as stored, that start with prefix:
	// shell completion.
	CompleteUsers(ctx context.Context, prefix string, limit int) ([]string, error)
	CompleteCredentialIDs(ctx context.Context, prefix string, limit int) ([]string, error)

	// ListPasskeys calls fn for each passkey, ordered by user id then
	// credential ID, streaming.
	ListPasskeys(ctx context.Context, opts ListOptions, fn func(passkey.Passkey) error) error
	// ListOrphans calls fn for each half-written passkey the app leaves
	// behind (Auth.js: a webauthn Account without its Authenticator).
	ListOrphans(ctx context.Context, opts ListOptions, fn func(Orphan) error) error
	// WrongProviderHint returns, when the no-account passkeys c collected
	// have their accounts under another provider, the sentence that names
	// the --provider-id to use; "" otherwise.
	WrongProviderHint(ctx context.Context, c *ProviderCheck) (string, error)
	// GetPasskey returns the passkey with this raw credential ID as the
	// app finds it at sign-in (ErrNotFound when it would not).
	GetPasskey(ctx context.Context, rawID []byte) (passkey.Passkey, error)
	// ResolveCredentials finds each ID in every form an operator may give
	// it (as stored, base64url, hex, a unique prefix of 8 characters or
	// more); all or an error naming the ones missing or ambiguous.
	ResolveCredentials(ctx context.Context, ids []string) ([]passkey.Passkey, error)
	// UserCredentialIDs returns the raw IDs of the user's passkeys.
	UserCredentialIDs(ctx context.Context, userID string) ([][]byte, error)

	// RemoveOrphans deletes, atomically, what no sign-in can use: the
	// webauthn accounts without their passkey, the passkeys whose user is
	// gone (with their accounts), and on Redis the index entries that name
	// nothing; each is checked again at delete time, so one that became
	// usable meanwhile stays. opts.Backup receives the passkeys' records
	// before the removal commits.
	RemoveOrphans(ctx context.Context, opts OrphanOptions) (*OrphanResult, error)
	// Revoke deletes the passkeys (and what the app keeps for each, and
	// with RevokeSessions the users' sessions) atomically, after locking
	// and re-reading them; opts.Backup receives the records of the locked
	// passkeys before the removal commits.
	Revoke(ctx context.Context, passkeys []passkey.Passkey, opts RevokeOptions) (*RevokeResult, error)
	// RevokeCredentials is ResolveCredentials and Revoke of what it
	// resolves, with their errors; a backend may look the IDs up inside
	// the revoke's transaction, reading each passkey once (revoke with
	// --yes or --dry-run, where nothing is shown before it runs).
	RevokeCredentials(ctx context.Context, ids []string, opts RevokeOptions) (*RevokeResult, error)
	// CheckEnroll reports, before a ceremony, whether a passkey for userID
	// (a new user when newUser) can be written as the app writes it.
	CheckEnroll(ctx context.Context, userID string, newUser bool) error
	// CreatePasskey writes a verified new passkey (and its user, with
	// opts.CreateUser) all or nothing.
	CreatePasskey(ctx context.Context, p NewPasskey, opts EnrollOptions) (passkey.Passkey, error)
	// UpdateCounter writes the signature counter after a verification.
	UpdateCounter(ctx context.Context, rawID []byte, counter uint32) error
	// Rename sets the passkey's name (Description.Named apps; others
	// refuse with ErrInvalid) and returns the passkey before and after.
	Rename(ctx context.Context, rawID []byte, name string) (before, after passkey.Passkey, err error)

	// Export calls fn with the export record of each passkey.
	Export(ctx context.Context, opts ExportOptions, fn func(passkey.ExportRecord) error) error
	// Import writes the records read from r.
	Import(ctx context.Context, r io.Reader, opts ImportOptions) (*ImportResult, error)

	// AuditLog calls fn with the entries of passkeyctl's audit log of this
	// app (see AuditContext) that f selects, oldest first; a log never
	// written has none.
	AuditLog(ctx context.Context, f AuditFilter, fn func(AuditEntry) error) error

	// Close releases the connections.
	Close() error

	// Stats counts the passkeys by status, algorithm, device type, backup
	// state and authenticator, aggregated where they are stored (see Stats).
	Stats(ctx context.Context) (*Stats, error)
}

// Purpose is what a command needs a store for (see Store.Ready).
type Purpose int

const (
	// ForReading needs the passkeys to be readable.
	ForReading Purpose = iota
	// ForEnrolling also needs the users to be there.
	ForEnrolling
)

// Description is what a command says about a store: the app, where its
// passkeys live, and what differs in what it stores.
type Description struct {
	// ID is the app's id in JSON output: "authjs" or "better-auth".
	ID string
	// Name is the app's name in messages: "Auth.js", "Better Auth".
	Name string
	// Label names the app and where its passkeys live, for summaries:
	// "Auth.js (table Authenticator)", "Auth.js (Redis keys authenticator:*)".
	Label string
	// Where is the passkeys' place in messages such as "credential X is
	// not in the Authenticator table": "Authenticator table".
	Where string
	// Record names one stored passkey's place, as in "no row of table
	// Authenticator has credentialID X".
	Record string
	// Location is the DSN, redacted: where the store is.
	Location string
	// Scope is what the DSN selects within Location, if anything: "PostgreSQL
	// schema auth".
	Scope string
	// Named is true when passkeys carry a name and a creation time that
	// listings show (Better Auth).
	Named bool
	// Accounts is true when each passkey has an account record of its
	// own that revoke deletes with it (Auth.js); Account names one in
	// messages: "Account row", "account key".
	Accounts bool
	Account  string
	// DeviceTypeField is where the app stores singleDevice/multiDevice.
	DeviceTypeField string
	// EncodeID writes a raw credential ID the way the app stores it.
	EncodeID func([]byte) string
	// RPIDSource says where the app takes its rpID from.
	RPIDSource string
	// Stranded says what a user revoke left without a passkey and without
	// any account has lost (RevokeResult.Stranded).
	Stranded string
	// ImportNote, when set, is said after passkeys were imported.
	ImportNote string
	// ExportWarning, when set, returns the warning an export under this
	// Passkey provider id deserves ("" for none).
	ExportWarning func(providerID string) string
	// Warnings are what detection found that the operator should fix.
	Warnings []Warning
}

// Warning is something detection found that works but should be fixed,
// with the SQL that fixes it when there is one.
type Warning struct {
	Message string `json:"message"`
	FixSQL  string `json:"fixSQL,omitempty"`
}

// WriteProblems prints drift differences and warnings (each with its fix)
// as every status report shows them.
func WriteProblems(w io.Writer, drift []string, warnings []Warning) {
	for _, dr := range drift {
		fmt.Fprintf(w, "drift: %s\n", dr)
	}
	for _, wa := range warnings {
		fmt.Fprintf(w, "warning: %s\n", wa.Message)
		if wa.FixSQL != "" {
			fmt.Fprintf(w, "  fix: %s\n", wa.FixSQL)
		}
	}
}
