package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
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
		MakeOrphan: makeSQLOrphan,
		SetAudit:   setSQLAudit,
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
		MakeOrphan: makeSQLOrphan,
		SetAudit:   setSQLAudit,
	}
	return b
}

// setSQLAudit is storetest.Backend.SetAudit on SQL.
func setSQLAudit(st store.Store, a *store.AuditContext) { st.(*db.Store).DB.Audit = a }

// makeSQLOrphan is storetest.Backend.MakeOrphan on SQL: the user row
// deleted with the foreign keys' checks (and so their cascades) off on its
// connection, as an app without foreign keys leaves it; or the Auth.js
// Authenticator row deleted alone.
func makeSQLOrphan(t *testing.T, st store.Store, kind storetest.OrphanKind, userID string, raw []byte) {
	t.Helper()
	ctx := context.Background()
	sq := st.(*db.Store)
	d, s := sq.DB, sq.Schema
	conn, err := d.X.Connx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := conn.ExecContext(ctx, d.Dialect.Rebind(q), args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	switch kind {
	case storetest.OrphanNoAuthenticator:
		exec("DELETE FROM "+d.Q(s.Authenticator.Name)+" WHERE "+d.Q("credentialID")+" = ?", passkey.AuthjsCredentialID(raw))
	case storetest.OrphanNoUser:
		users, id := "", ""
		if s.App == db.AppBetterAuth {
			users, id = s.BetterAuth.User.Name, s.BetterAuth.U.ID
		} else {
			users, id = s.User.Name, "id"
		}
		switch d.Dialect {
		case db.Postgres:
			exec("SET session_replication_role = replica")
			defer exec("SET session_replication_role = DEFAULT")
		case db.MySQL:
			exec("SET FOREIGN_KEY_CHECKS = 0")
			defer exec("SET FOREIGN_KEY_CHECKS = 1")
		case db.SQLite:
			exec("PRAGMA foreign_keys = OFF")
			defer exec("PRAGMA foreign_keys = ON")
		}
		exec("DELETE FROM "+d.Q(users)+" WHERE "+d.Q(id)+" = ?", userID)
	}
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
		MakeOrphan: makeRedisOrphan,
		SetAudit:   func(st store.Store, a *store.AuditContext) { st.(*redis.Store).SetAudit(a) },
	}
}

// makeRedisOrphan is storetest.Backend.MakeOrphan on Redis: the user key
// or the authenticator key deleted alone, as a partial write of the
// adapter leaves them.
func makeRedisOrphan(t *testing.T, st store.Store, kind storetest.OrphanKind, userID string, raw []byte) {
	t.Helper()
	rs := st.(*redis.Store)
	opts, err := goredis.ParseURL(redisServer())
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(opts)
	defer c.Close()
	key := rs.L.UserKey(userID)
	if kind == storetest.OrphanNoAuthenticator {
		key = rs.L.AuthenticatorKey(passkey.AuthjsCredentialID(raw))
	}
	if n, err := c.Del(context.Background(), key).Result(); err != nil || n != 1 {
		t.Fatalf("DEL %s: %d, %v", key, n, err)
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
