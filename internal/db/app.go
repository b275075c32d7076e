package db

import (
	"context"
	"io"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// sqlApp is an app whose passkeys passkeyctl reads and writes in SQL
// tables: Auth.js (authjsApp, authjs.go) or Better Auth (betterAuthApp,
// betterauth_app.go). Detection chooses it once (Schema.setApp), as it
// chooses the Dialect, and the store's entry points are written once
// against it: each method is one step that differs between the apps.
type sqlApp interface {
	// storedID is raw in the form the app stores and looks up in its
	// credential ID column.
	storedID(raw []byte) string
	// appendStoredID appends storedID(raw) to b.
	appendStoredID(b, raw []byte) []byte
	// storedPrefix is a credential ID prefix in the alphabet the app
	// stores IDs in.
	storedPrefix(prefix string) string
	// credentialColumn is the table and column holding the app's
	// credential IDs; "" when the table does not exist.
	credentialColumn(s *Schema) (table, col string, err error)
	// newUserEmail is an e-mail address as the app's sign-in stores it.
	newUserEmail(email string) string
	// newUserID is an id for a new user in the form the app generates.
	newUserID(s *Schema, now time.Time, r io.Reader) (string, error)
	// users returns the app's user table.
	users(s *Schema) (userTable, error)
	// ownColumn names, in messages, a column the app's schema defines.
	ownColumn() string
	// describe is what the store says of the app (store.Description,
	// without where the database is).
	describe(s *Schema) store.Description
	// ready reports whether the schema can serve purpose (Store.Ready).
	ready(s *Schema, purpose store.Purpose) error
	// untypedTimeForm is how the app's ORM writes a date into a SQLite
	// column whose declared type says neither integer nor text.
	untypedTimeForm() TimeForm

	getPasskey(d *DB, ctx context.Context, q sqlx.QueryerContext, s *Schema, raw []byte, providerID string) (passkey.Passkey, error)
	listPasskeys(d *DB, ctx context.Context, s *Schema, opts store.ListOptions, fn func(passkey.Passkey) error) error
	listOrphans(d *DB, ctx context.Context, s *Schema, opts store.ListOptions, fn func(store.Orphan) error) error
	wrongProviderHint(d *DB, ctx context.Context, q sqlx.QueryerContext, s *Schema, c *store.ProviderCheck, providerID string) (string, error)
	credentialLookup(d *DB, s *Schema, providerID string) (*credentialLookup, error)
	revokePlan(d *DB, s *Schema, opts store.RevokeOptions) (*revokePlan, error)
	// orphanPlan is how RemoveOrphans finds and deletes what no sign-in
	// of the app can use (orphans.go).
	orphanPlan(d *DB, s *Schema, opts store.OrphanOptions) (*orphanPlan, error)
	// exportPasskeys calls fn with every passkey (of opts.UserID) as an
	// export record.
	exportPasskeys(d *DB, ctx context.Context, s *Schema, opts store.ExportOptions, fn func(passkey.ExportRecord) error) error
	// exportBatch calls fn with the export record of each passkey whose
	// stored ID is in batch, as the column's collation compares, and its
	// stored ID.
	exportBatch(d *DB, ctx context.Context, s *Schema, opts store.ExportOptions, batch []string, fn func(stored string, rec passkey.ExportRecord)) error
	checkEnroll(d *DB, ctx context.Context, q sqlx.QueryerContext, s *Schema, userID string, newUser bool) error
	createPasskey(d *DB, ctx context.Context, s *Schema, p store.NewPasskey, opts store.EnrollOptions) (passkey.Passkey, error)
	updateCounter(d *DB, ctx context.Context, s *Schema, raw []byte, counter uint32) error
	// rename sets a passkey's name where the app stores one.
	rename(d *DB, ctx context.Context, s *Schema, raw []byte, name string) (before, after passkey.Passkey, err error)
	// importTarget refuses up front an import that would fail half-way
	// (missing tables, drift, NOT NULL columns without a default that no
	// app column explains) and returns what writes the app's rows.
	importTarget(d *DB, s *Schema, opts store.ImportOptions) (importTarget, error)
	// statsSQL is the app's queries of Stats (stats.go).
	statsSQL(d *DB, s *Schema, providerID string) (*statsSQL, error)
}

// appFor is the implementation of app: the one place an App becomes
// behaviour. Anything but Better Auth is Auth.js, as it always was.
func appFor(app App) sqlApp {
	if app == AppBetterAuth {
		return betterAuthApp{}
	}
	return authjsApp{}
}

// setApp chooses the app commands work on: App for messages and callers,
// and its implementation for the store's entry points.
func (s *Schema) setApp(app App) {
	s.App = app
	s.chosenApp = appFor(app)
}

// app is the implementation of the schema's app. A Schema built by hand
// (tests) has none chosen; its App decides then.
func (s *Schema) app() sqlApp {
	if s.chosenApp != nil {
		return s.chosenApp
	}
	return appFor(s.App)
}
