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

// targetFunc describes the store a command writes to; see
// Factory.describeTarget.
type targetFunc func(store.Description) string

// printTarget says, on stderr, which database a writing command works on,
// before its prompt, its dry run and its summary: the question that matters
// before revoke --yes. A nil target (tests that build options by hand)
// prints nothing.
func printTarget(io *IOStreams, target targetFunc, desc store.Description) {
	if target != nil {
		fmt.Fprintln(io.ErrOut, "target: "+target(desc))
	}
}
