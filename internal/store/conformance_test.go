package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
	"github.com/passkeyctl/passkeyctl/internal/store"
	"github.com/passkeyctl/passkeyctl/internal/store/redis"
	"github.com/passkeyctl/passkeyctl/internal/store/storetest"
	goredis "github.com/redis/go-redis/v9"
)

// providerID is the Auth.js Passkey provider id every backend is opened
// with.
const providerID = "passkey"

// sqlStore returns the store of d's app as the commands open it.
func sqlStore(t *testing.T, d *db.DB) store.Store {
	t.Helper()
	s, err := d.DetectForStore(context.Background())
	if err != nil {
		t.Fatalf("detect schema: %v", err)
	}
	return &db.Store{DB: d, Schema: s, ProviderID: providerID}
}

// authjsSQL is Auth.js on a fresh database of dialect, its tables as
// `passkeyctl migrate --core` creates them (the Prisma schema).
func authjsSQL(dialect string) storetest.Backend {
	b := storetest.Backend{
		Name: "authjs-" + dialect,
		Open: func(t *testing.T) store.Store {
			t.Helper()
			_, d := dbtest.Migrated(t, dialect)
			return sqlStore(t, d)
		},
	}
	return b
}

// betterAuthSQL is Better Auth on a fresh database of dialect, its tables
// as its own migrator creates them (camelCase columns, text ids).
func betterAuthSQL(dialect string) storetest.Backend {
	b := storetest.Backend{
		Name: "betterauth-" + dialect,
		Open: func(t *testing.T) store.Store {
			t.Helper()
			_, d := dbtest.BetterAuth(t, dialect, dbtest.BetterAuthOptions{})
			return sqlStore(t, d)
		},
	}
	return b
}

// redisServer is the Redis the tests use: PASSKEYCTL_TEST_REDIS when set
// (a redis:// DSN without parameters), else the local one.
func redisServer() string {
	if s := os.Getenv("PASSKEYCTL_TEST_REDIS"); s != "" {
		return s
	}
	return "redis://127.0.0.1:6379/0"
}

// authjsRedis is Auth.js on Redis through @auth/unstorage-adapter, in a
// key space of its own: a unique driver base whose keys are removed (SCAN
// + UNLINK) when the test ends.
func authjsRedis() storetest.Backend {
	return storetest.Backend{
		Name: "authjs-redis",
		Open: func(t *testing.T) store.Store {
			t.Helper()
			var b [6]byte
			rand.Read(b[:])
			base := "pkconf-" + hex.EncodeToString(b[:])
			removeKeys(t, base)
			tg, err := redis.ParseTarget(redisServer() + "?base=" + base)
			if err != nil {
				t.Fatalf("PASSKEYCTL_TEST_REDIS: %v", err)
			}
			s, err := redis.Open(context.Background(), tg, redis.Options{ProviderID: providerID})
			if err != nil {
				t.Fatalf("Redis: %v", err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
}

// removeKeys removes every key under base when the test ends.
func removeKeys(t *testing.T, base string) {
	t.Helper()
	opts, err := goredis.ParseURL(redisServer())
	if err != nil {
		t.Fatalf("PASSKEYCTL_TEST_REDIS: %v", err)
	}
	c := goredis.NewClient(opts)
	t.Cleanup(func() {
		defer c.Close()
		ctx := context.Background()
		var cursor uint64
		for {
			keys, next, err := c.Scan(ctx, cursor, base+":*", 1000).Result()
			if err != nil {
				t.Errorf("remove the test's Redis keys: scan: %v", err)
				return
			}
			if len(keys) > 0 {
				if err := c.Unlink(ctx, keys...).Err(); err != nil {
					t.Errorf("remove the test's Redis keys: unlink: %v", err)
				}
			}
			if next == 0 {
				return
			}
			cursor = next
		}
	})
}

// backends are every store.Store the commands can open.
func backends() []storetest.Backend {
	var out []storetest.Backend
	for _, d := range dbtest.Dialects {
		out = append(out, authjsSQL(d))
	}
	for _, d := range dbtest.Dialects {
		out = append(out, betterAuthSQL(d))
	}
	return append(out, authjsRedis())
}

// TestConformance runs the store.Store conformance suite on every backend.
func TestConformance(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			storetest.Run(t, b)
		})
	}
}

// TestTransfer moves passkeys between apps and backends through the
// export format: what was enrolled in one signs in at the other.
func TestTransfer(t *testing.T) {
	for _, c := range []struct{ from, to storetest.Backend }{
		{authjsRedis(), authjsSQL("sqlite")},
		{authjsRedis(), betterAuthSQL("postgres")},
		{authjsSQL("postgres"), authjsRedis()},
		{betterAuthSQL("sqlite"), authjsRedis()},
	} {
		t.Run(c.from.Name+"-to-"+c.to.Name, func(t *testing.T) {
			t.Parallel()
			storetest.Transfer(t, c.from, c.to)
		})
	}
}
