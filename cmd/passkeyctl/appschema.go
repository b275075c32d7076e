package main

import (
	"fmt"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// Global settings that choose the app's tables (flag = config key; env
// PASSKEYCTL_SCHEMA, PASSKEYCTL_TABLES).
const (
	keySchema = "schema"
	keyTables = "tables"
)

// schemaOptions reads --schema and --tables. Bad values are usage errors.
func (f *Factory) schemaOptions() (db.SchemaOptions, error) {
	var so db.SchemaOptions
	app, err := db.ParseApp(f.Get(keySchema))
	if err != nil {
		return so, usageError{err}
	}
	so.App = app
	if err := db.ParseTables(f.Get(keyTables), &so); err != nil {
		return so, usageError{err}
	}
	return so, nil
}

// appLabel names the schema's app and table for messages: "Auth.js
// (Authenticator)" or "Better Auth (passkey)".
func appLabel(s *db.Schema) string {
	if s.App == db.AppBetterAuth {
		name := "passkey"
		if s.BetterAuth != nil && s.BetterAuth.Passkey != nil {
			name = s.BetterAuth.Passkey.Name
		}
		return fmt.Sprintf("Better Auth (table %s)", name)
	}
	_, _, _, _, name := s.TableNames()
	if s.Authenticator != nil {
		name = s.Authenticator.Name
	}
	return fmt.Sprintf("Auth.js (table %s)", name)
}

// targetFunc describes the database a command writes to; see
// Factory.describeTarget.
type targetFunc func(d *db.DB, s *db.Schema) string

// printTarget says, on stderr, which database a writing command works on,
// before its prompt, its dry run and its summary: the question that matters
// before revoke --yes. A nil target (tests that build options by hand)
// prints nothing.
func printTarget(io *IOStreams, target targetFunc, d *db.DB, s *db.Schema) {
	if target != nil {
		fmt.Fprintln(io.ErrOut, "target: "+target(d, s))
	}
}

// appName is "Auth.js" or "Better Auth".
func appName(s *db.Schema) string {
	if s.App == db.AppBetterAuth {
		return "Better Auth"
	}
	return "Auth.js"
}

// passkeyTableName is the table that holds the schema's passkeys.
func passkeyTableName(s *db.Schema) string {
	if s.App == db.AppBetterAuth && s.BetterAuth != nil && s.BetterAuth.Passkey != nil {
		return s.BetterAuth.Passkey.Name
	}
	if s.Authenticator != nil {
		return s.Authenticator.Name
	}
	_, _, _, _, name := s.TableNames()
	return name
}

// schemaWarnings are the detection warnings of the schema's app.
func schemaWarnings(s *db.Schema) []store.Warning {
	if s.App == db.AppBetterAuth {
		if s.BetterAuth == nil {
			return nil
		}
		return s.BetterAuth.Warnings
	}
	return s.Warnings
}
