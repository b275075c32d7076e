package main

import (
	"context"
	"fmt"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
)

// prepareMigrateDown points `migrate down` at the one table it may drop:
// the Auth.js Authenticator table that `migrate` creates. It refuses a
// Better Auth database (or --schema better-auth), whose tables belong to
// Better Auth's migrator, and reads a database holding both apps' tables
// without --schema as Auth.js, as `migrate` does.
func prepareMigrateDown(ctx context.Context, d *db.DB) error {
	s, ba, err := betterAuthTarget(ctx, d)
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
		d.SchemaOptions.App = db.AppAuthjs
	}
	return nil
}
