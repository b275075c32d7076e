package main

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestPGlite runs testdata/pglite/*.txtar against the PGlite server
// PASSKEYCTL_TEST_PGLITE names (PostgreSQL compiled to WASM behind
// pglite-socket: what `npx prisma dev` serves to new Auth.js and Better
// Auth apps; .ci/peers/pglite starts one). PGlite has a single database and
// ignores the name in the DSN, so the scripts cannot get a fresh database
// each: each one empties its public schema first. Point the variable only at
// a PGlite kept for tests. Unset, the test is skipped, except in the matrix
// (PASSKEYCTL_TEST_MATRIX=1), where it fails: CI must not pass by skipping.
func TestPGlite(t *testing.T) {
	dsn := os.Getenv("PASSKEYCTL_TEST_PGLITE")
	if dsn == "" {
		if os.Getenv("PASSKEYCTL_TEST_MATRIX") == "1" {
			t.Fatal("PASSKEYCTL_TEST_PGLITE is not set: the matrix needs a PGlite server (start it with .ci/peers/pglite)")
		}
		t.Skip("PASSKEYCTL_TEST_PGLITE is not set (start PGlite with .ci/peers/pglite)")
	}
	testscript.Run(t, testscript.Params{
		Dir:  "testdata/pglite",
		Cmds: scriptCmds,
		Setup: func(env *testscript.Env) error {
			env.Setenv("PGLITE_DSN", dsn)
			env.Setenv("HOME", env.WorkDir)
			return nil
		},
	})
}
