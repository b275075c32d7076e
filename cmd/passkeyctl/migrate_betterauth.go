package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// betterAuthTarget detects the schema for migrate and migrate status and
// reports whether the commands face a Better Auth database: one that holds
// only Better Auth's tables, or any with --schema better-auth. A database
// holding both apps' tables without --schema is migrated as Auth.js, which
// is all migrate knows how to create.
func betterAuthTarget(ctx context.Context, d *db.DB) (*db.Schema, bool, error) {
	s, err := d.Detect(ctx)
	if errors.Is(err, passkey.ErrInvalid) && d.SchemaOptions.App == "" && len(d.SchemaOptions.PasskeyTable+d.SchemaOptions.UserTable) == 0 {
		return nil, false, nil // both apps: the Auth.js side
	}
	if err != nil {
		return nil, false, err
	}
	return s, s.App == db.AppBetterAuth, nil
}

// refuseBetterAuthMigrate stops `migrate` on a Better Auth database:
// Better Auth's own migrator creates its tables.
func refuseBetterAuthMigrate(ctx context.Context, d *db.DB) error {
	s, ba, err := betterAuthTarget(ctx, d)
	if err != nil || !ba {
		return err
	}
	return fmt.Errorf("%w: this is a Better Auth database (tables %s): passkeyctl does not create Better Auth tables, Better Auth's migrator does (npx @better-auth/cli migrate, with the passkey plugin). Its passkeys need no migration: list, revoke, export, import and serve use them as they are; migrate status shows what passkeyctl detected",
		passkey.ErrRefused, betterAuthTables(s.BetterAuth))
}

func betterAuthTables(ba *db.BetterAuthSchema) string {
	var ns []string
	for _, t := range []*db.Table{ba.User, ba.Account, ba.Session, ba.Passkey} {
		if t != nil {
			ns = append(ns, t.Name)
		}
	}
	return strings.Join(ns, ", ")
}

// BetterAuthStatus is `migrate status` on a Better Auth database. The JSON
// field names are a documented, stable interface.
type BetterAuthStatus struct {
	App     db.App `json:"app"`
	Dialect string `json:"dialect"`
	// Naming is "camelCase" (Better Auth's migrator, Prisma) or
	// "snake_case" (Drizzle).
	Naming db.BetterAuthNaming `json:"naming"`
	Tables struct {
		User    *string `json:"user"`
		Account *string `json:"account"`
		Session *string `json:"session"`
		Passkey *string `json:"passkey"`
	} `json:"tables"`
	// IDMode and UserIDMode are "text", "uuid" or "integer".
	IDMode     db.IDMode `json:"idMode,omitempty"`
	UserIDMode db.IDMode `json:"userIdMode,omitempty"`
	// CreatedAt is how passkey.createdAt stores times: "timestamp",
	// "iso-text" or "unix-ms".
	CreatedAt db.TimeForm                 `json:"createdAtForm,omitempty"`
	Columns   db.BetterAuthPasskeyColumns `json:"passkeyColumns"`
	Drift     []string                    `json:"drift"`
	Warnings  []store.Warning             `json:"warnings"`
	UpToDate  bool                        `json:"upToDate"`
}

// betterAuthStatusRun prints migrate status for a Better Auth database;
// handled is false when the database is not one (the Auth.js status then
// runs).
func betterAuthStatusRun(ctx context.Context, opts *MigrateStatusOptions, d *db.DB) (handled bool, err error) {
	s, isBA, err := betterAuthTarget(ctx, d)
	if err != nil || !isBA {
		return err != nil, err
	}
	ba := s.BetterAuth
	st := BetterAuthStatus{App: db.AppBetterAuth, Dialect: s.Dialect, Drift: []string{}, Warnings: []store.Warning{}}
	name := func(t *db.Table) *string {
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
	}
	_, ready := s.PasskeyTableReady()
	st.UpToDate = ready == nil
	if isJSON(opts.Output) {
		err = writeResult(opts.IO.Out, opts.Output, st)
	} else {
		printBetterAuthStatus(opts.IO.Out, st)
	}
	if err != nil {
		return true, err
	}
	return true, ready
}

func printBetterAuthStatus(out io.Writer, st BetterAuthStatus) {
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
	for _, dr := range st.Drift {
		fmt.Fprintf(out, "drift: %s\n", dr)
	}
	for _, w := range st.Warnings {
		fmt.Fprintf(out, "warning: %s\n", w.Message)
		if w.FixSQL != "" {
			fmt.Fprintf(out, "  fix: %s\n", w.FixSQL)
		}
	}
}
