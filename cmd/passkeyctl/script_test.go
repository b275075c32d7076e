package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
	goredis "github.com/redis/go-redis/v9"
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
// $SQLITE_DSN, its own Redis key space in $REDIS_DSN (the driver base
// $REDIS_BASE on the server at $REDIS_HOSTPORT), and a clean
// environment without DATABASE_URL or PASSKEYCTL_*.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:  "testdata/script",
		Cmds: scriptCmds,
		// [pooler]: $PG_DSN goes through the PgBouncer of the matrix run,
		// which refuses startup parameters such as role.
		// [redis-nopass]: the test Redis's default user has no password,
		// so it takes any (a script may then show one being redacted).
		Condition: func(cond string) (bool, error) {
			if cond == "redis-nopass" {
				opts, err := goredis.ParseURL(redisTestServer())
				return err == nil && opts.Password == "", err
			}
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
			base := scriptRedisBase(env.WorkDir)
			env.Defer(func() {
				if err := unlinkRedisBase(base); err != nil {
					env.T().Log(err)
				}
			})
			env.Setenv("REDIS_DSN", redisTestServer()+"?base="+base)
			env.Setenv("REDIS_BASE", base)
			if u, err := url.Parse(redisTestServer()); err == nil {
				env.Setenv("REDIS_HOSTPORT", u.Host)
			}
			env.Setenv("HOME", env.WorkDir)
			return nil
		},
	})
}

// redisTestServer is the Redis the scripts use: PASSKEYCTL_TEST_REDIS when
// set (a redis:// DSN without parameters), else the local one.
func redisTestServer() string {
	if s := os.Getenv("PASSKEYCTL_TEST_REDIS"); s != "" {
		return s
	}
	return "redis://127.0.0.1:6379/0"
}

// scriptRedisBase is a script's own Redis key space: the unstorage driver
// base "pkscript-<script>-<random>", in front of every key the script's
// commands write.
func scriptRedisBase(workDir string) string {
	var b [4]byte
	rand.Read(b[:])
	return "pk" + filepath.Base(workDir) + "-" + hex.EncodeToString(b[:])
}

// unlinkRedisBase removes every key under base (SCAN MATCH base:* and
// UNLINK). Nothing connects before: a script that does not use Redis costs
// one SCAN, and a machine without Redis only logs it.
func unlinkRedisBase(base string) error {
	opts, err := goredis.ParseURL(redisTestServer())
	if err != nil {
		return fmt.Errorf("PASSKEYCTL_TEST_REDIS: %v", err)
	}
	c := goredis.NewClient(opts)
	defer c.Close()
	ctx := context.Background()
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, base+":*", 1000).Result()
		if err != nil {
			return fmt.Errorf("clean Redis keys %s:*: %v", base, err)
		}
		if len(keys) > 0 {
			if err := c.Unlink(ctx, keys...).Err(); err != nil {
				return fmt.Errorf("clean Redis keys %s:*: %v", base, err)
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}
