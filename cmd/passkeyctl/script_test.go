package main

import (
	"fmt"
	"os"
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
		// [pooler]: $PG_DSN goes through the PgBouncer of the matrix run,
		// which refuses startup parameters such as role.
		Condition: func(cond string) (bool, error) {
			if cond != "pooler" {
				return false, fmt.Errorf("unknown condition %q", cond)
			}
			pg, bouncer := os.Getenv("PASSKEYCTL_TEST_POSTGRES"), os.Getenv(dbtest.PgBouncerEnv)
			return pg != "" && pg == bouncer, nil
		},
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
