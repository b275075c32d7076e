package main

import (
	"testing"

	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary act as the passkeyctl command inside
// testscript scripts, so scripts run the real program without a build step.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		// main itself, with its signal handling.
		"passkeyctl": main,
	})
}

// TestScripts runs testdata/script/*.txtar: the CLI as a user sees it.
// Each script gets fresh, empty databases in $PG_DSN, $MYSQL_DSN and
// $SQLITE_DSN and a clean
// environment without DATABASE_URL or PASSKEYCTL_*.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:  "testdata/script",
		Cmds: scriptCmds,
		Setup: func(env *testscript.Env) error {
			for _, d := range []struct{ name, dialect string }{{"PG_DSN", "postgres"}, {"MYSQL_DSN", "mysql"}} {
				dsn, drop, err := dbtest.Create(d.dialect)
				if err != nil {
					return err
				}
				env.Defer(func() {
					if err := drop(); err != nil {
						env.T().Log(err)
					}
				})
				env.Setenv(d.name, dsn)
			}
			env.Setenv("SQLITE_DSN", "sqlite:"+env.WorkDir+"/test.db")
			env.Setenv("HOME", env.WorkDir)
			return nil
		},
	})
}
