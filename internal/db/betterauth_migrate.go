package db

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// `migrate` on databases whose tables Better Auth's migrator owns: the
// refusals and the status report, so that the migrate commands never ask
// which app they face.

// betterAuthTarget detects the schema for migrate and migrate status and
// reports whether the commands face a Better Auth database: one that holds
// only Better Auth's tables, or any with --schema better-auth. A database
// holding both apps' tables without --schema is migrated as Auth.js, which
// is all migrate knows how to create.
func (d *DB) betterAuthTarget(ctx context.Context) (*Schema, bool, error) {
	s, err := d.Detect(ctx)
	if errors.Is(err, passkey.ErrInvalid) && d.SchemaOptions.App == "" && len(d.SchemaOptions.PasskeyTable+d.SchemaOptions.UserTable) == 0 {
		return nil, false, nil // both apps: the Auth.js side
	}
	if err != nil {
		return nil, false, err
	}
	return s, s.App == AppBetterAuth, nil
}

// RefuseMigrate stops `migrate` on a database whose app's own migrator
// creates its tables: Better Auth's.
func (d *DB) RefuseMigrate(ctx context.Context) error {
	s, ba, err := d.betterAuthTarget(ctx)
	if err != nil || !ba {
		return err
	}
	return fmt.Errorf("%w: this is a Better Auth database (tables %s): passkeyctl does not create Better Auth tables, Better Auth's migrator does (npx @better-auth/cli migrate, with the passkey plugin). Its passkeys need no migration: list, revoke, export, import and serve use them as they are; migrate status shows what passkeyctl detected",
		passkey.ErrRefused, betterAuthTables(s.BetterAuth))
}

func betterAuthTables(ba *BetterAuthSchema) string {
	var ns []string
	for _, t := range []*Table{ba.User, ba.Account, ba.Session, ba.Passkey} {
		if t != nil {
			ns = append(ns, t.Name)
		}
	}
	return strings.Join(ns, ", ")
}

// BetterAuthStatus is `migrate status` on a Better Auth database. The JSON
// field names are a documented, stable interface.
type BetterAuthStatus struct {
	App     App    `json:"app"`
	Dialect string `json:"dialect"`
	// Naming is "camelCase" (Better Auth's migrator, Prisma) or
	// "snake_case" (Drizzle).
	Naming BetterAuthNaming `json:"naming"`
	Tables struct {
		User    *string `json:"user"`
		Account *string `json:"account"`
		Session *string `json:"session"`
		Passkey *string `json:"passkey"`
	} `json:"tables"`
	// IDMode and UserIDMode are "text", "uuid" or "integer".
	IDMode     IDMode `json:"idMode,omitempty"`
	UserIDMode IDMode `json:"userIdMode,omitempty"`
	// CreatedAt is how passkey.createdAt stores times: "timestamp",
	// "iso-text" or "unix-ms".
	CreatedAt TimeForm                 `json:"createdAtForm,omitempty"`
	Columns   BetterAuthPasskeyColumns `json:"passkeyColumns"`
	Drift     []string                 `json:"drift"`
	Warnings  []store.Warning          `json:"warnings"`
	UpToDate  bool                     `json:"upToDate"`
}

// StatusReport is `migrate status` of a database whose app's own migrator
// owns its tables: data for -o json, and Print for people.
type StatusReport interface {
	Print(w io.Writer)
}

// ForeignStatus is `migrate status` of a database whose tables another
// migrator owns (Better Auth's): its report, and whether its passkeys can
// be used as they are (ready, nil when they can). report is nil when
// passkeyctl's own migrations apply (Auth.js): MigrationStatus then.
func (d *DB) ForeignStatus(ctx context.Context) (report StatusReport, ready, err error) {
	s, isBA, err := d.betterAuthTarget(ctx)
	if err != nil || !isBA {
		return nil, nil, err
	}
	ba := s.BetterAuth
	st := BetterAuthStatus{App: AppBetterAuth, Dialect: s.Dialect, Drift: []string{}, Warnings: []store.Warning{}}
	name := func(t *Table) *string {
		if t == nil {
			return nil
		}
		return &t.Name
	}
	if ba != nil {
		st.Naming = ba.Naming
		st.Tables.User, st.Tables.Account, st.Tables.Session, st.Tables.Passkey = name(ba.User), name(ba.Account), name(ba.Session), name(ba.Passkey)
		st.IDMode, st.UserIDMode, st.CreatedAt, st.Columns = ba.IDMode, ba.UserIDMode, ba.CreatedAt, ba.P
		st.Drift = append(st.Drift, ba.Drift...)
		st.Warnings = append(st.Warnings, ba.Warnings...)
		if ut, uerr := ba.users(); uerr == nil {
			err = d.reading(ctx, func(q sqlx.QueryerContext) error {
				w, ok, err := d.emailFoldIndexWarning(ctx, q, ut)
				if ok {
					st.Warnings = append(st.Warnings, w)
				}
				return err
			})
			if err != nil {
				return nil, nil, err
			}
		}
	}
	_, ready = s.PasskeyTableReady()
	st.UpToDate = ready == nil
	return st, ready, nil
}

// Print implements StatusReport.
func (st BetterAuthStatus) Print(out io.Writer) {
	orNone := func(s *string) string {
		if s == nil {
			return "none"
		}
		return *s
	}
	fmt.Fprintf(out, "app:          Better Auth (passkeyctl does not migrate its tables)\n")
	fmt.Fprintf(out, "dialect:      %s\n", st.Dialect)
	naming := string(st.Naming)
	if naming == "" {
		naming = "- (no Better Auth tables)"
	}
	fmt.Fprintf(out, "naming:       %s\n", naming)
	fmt.Fprintf(out, "tables:       user=%s account=%s session=%s passkey=%s\n", orNone(st.Tables.User), orNone(st.Tables.Account), orNone(st.Tables.Session), orNone(st.Tables.Passkey))
	if st.Tables.Passkey != nil {
		fmt.Fprintf(out, "id mode:      passkey %s, user %s\n", st.IDMode, st.UserIDMode)
		if st.CreatedAt != "" {
			fmt.Fprintf(out, "createdAt:    %s\n", st.CreatedAt)
		}
		fmt.Fprintf(out, "credential:   %s (base64url, compared exactly)\n", st.Columns.CredentialID)
	}
	store.WriteProblems(out, st.Drift, st.Warnings)
}

// PrepareMigrateDown points `migrate down` at the one table it may drop:
// the Auth.js Authenticator table that `migrate` creates. It refuses a
// Better Auth database (or --schema better-auth), whose tables belong to
// Better Auth's migrator, and reads a database holding both apps' tables
// without --schema as Auth.js, as `migrate` does.
func (d *DB) PrepareMigrateDown(ctx context.Context) error {
	s, ba, err := d.betterAuthTarget(ctx)
	if err != nil {
		return err
	}
	if ba {
		if s.Authenticator != nil {
			return fmt.Errorf("%w: --schema better-auth: migrate down drops only the Auth.js %s table, never Better Auth's tables; to drop %s, pass --schema authjs", passkey.ErrRefused, s.Authenticator.Name, s.Authenticator.Name)
		}
		return fmt.Errorf("%w: this is a Better Auth database (tables %s): migrate down drops only the Auth.js Authenticator table, which it does not have; Better Auth's tables belong to Better Auth's migrator", passkey.ErrRefused, betterAuthTables(s.BetterAuth))
	}
	if s == nil {
		// Both apps' tables and no --schema: down only ever drops the
		// Auth.js table, just as migrate only ever creates it.
		d.SchemaOptions.App = AppAuthjs
	}
	return nil
}
