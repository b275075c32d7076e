package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/store/redis"
	goredis "github.com/redis/go-redis/v9"
)

// testServer is the Redis the tests use: PASSKEYCTL_TEST_REDIS when set
// (a redis:// DSN without parameters), else the local one.
func testServer() string {
	if s := os.Getenv("PASSKEYCTL_TEST_REDIS"); s != "" {
		return s
	}
	return "redis://127.0.0.1:6379/0"
}

// testEnv is one test's key space: a unique driver base "pktest-<random>"
// in front of everything the test writes, removed (SCAN + UNLINK) when the
// test ends.
type testEnv struct {
	t *testing.T
	// ns is the unique prefix; every key of the test starts with ns + ":".
	ns string
	c  *goredis.Client
}

func newEnv(t *testing.T) *testEnv {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	e := &testEnv{t: t, ns: "pktest-" + hex.EncodeToString(b[:])}
	opts, err := goredis.ParseURL(testServer())
	if err != nil {
		t.Fatalf("PASSKEYCTL_TEST_REDIS: %v", err)
	}
	e.c = goredis.NewClient(opts)
	if err := e.c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("Redis at %s: %v", testServer(), err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		var cursor uint64
		n := 0
		for {
			keys, next, err := e.c.Scan(ctx, cursor, e.ns+":*", 1000).Result()
			if err != nil {
				t.Errorf("cleanup scan: %v", err)
				break
			}
			if len(keys) > 0 {
				n += len(keys)
				if err := e.c.Unlink(ctx, keys...).Err(); err != nil {
					t.Errorf("cleanup unlink: %v", err)
				}
			}
			if next == 0 {
				break
			}
			cursor = next
		}
		e.c.Close()
	})
	return e
}

// open opens a Store whose driver base is ns (+ ":" + base when given)
// with the other DSN parameters in query.
func (e *testEnv) open(base, query string) *redis.Store {
	e.t.Helper()
	b := e.ns
	if base != "" {
		b += ":" + base
	}
	dsn := testServer() + "?base=" + b
	if query != "" {
		dsn += "&" + query
	}
	tg, err := redis.ParseTarget(dsn)
	if err != nil {
		e.t.Fatal(err)
	}
	s, err := redis.Open(context.Background(), tg, redis.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { s.Close() })
	return s
}

// load writes fixture keys (as the fixture names them) under ns.
func (e *testEnv) load(keys map[string]fixtureKey) {
	e.t.Helper()
	pipe := e.c.Pipeline()
	for k, v := range keys {
		pipe.Set(context.Background(), e.ns+":"+k, v.Value, 0)
	}
	if _, err := pipe.Exec(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

// snapshot returns every key of the test (without the ns prefix) with its
// value; it fails the test on a key that is not a string or has a TTL,
// which the adapter never writes.
func (e *testEnv) snapshot() map[string]string {
	e.t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	var cursor uint64
	for {
		keys, next, err := e.c.Scan(ctx, cursor, e.ns+":*", 1000).Result()
		if err != nil {
			e.t.Fatal(err)
		}
		for _, k := range keys {
			typ := e.c.Type(ctx, k).Val()
			ttl := e.c.TTL(ctx, k).Val()
			if typ != "string" || ttl != -1 {
				e.t.Errorf("key %s: type %s ttl %v; the adapter writes strings without TTL", k, typ, ttl)
			}
			out[strings.TrimPrefix(k, e.ns+":")] = e.c.Get(ctx, k).Val()
		}
		if next == 0 {
			return out
		}
		cursor = next
	}
}

// diffKeys reports every difference between want and got.
func diffKeys(t *testing.T, what string, want, got map[string]string) {
	t.Helper()
	var names []string
	for k := range want {
		names = append(names, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		w, wok := want[k]
		g, gok := got[k]
		switch {
		case !gok:
			t.Errorf("%s: key %s missing (want %s)", what, k, w)
		case !wok:
			t.Errorf("%s: unexpected key %s = %s", what, k, g)
		case w != g:
			t.Errorf("%s: key %s\n got %s\nwant %s", what, k, g, w)
		}
	}
}

// fixture is the part of testdata/unstorage-redis.json the tests read.
type fixture struct {
	Observations struct {
		KeyNormalisation []struct {
			CredentialID     string `json:"credentialID"`
			AuthenticatorKey string `json:"authenticatorKey"`
			AccountKey       string `json:"accountKey"`
		} `json:"keyNormalisation"`
		UserAccountByUserIDAfterSecondPasskey string `json:"userAccountByUserIdAfterSecondPasskey"`
	} `json:"observations"`
	CredentialIDs map[string]struct {
		Base64    string `json:"base64"`
		Base64URL string `json:"base64url"`
	} `json:"credentialIds"`
	DefaultOptions struct {
		Registration                   fixtureStep           `json:"registration"`
		Authentication                 fixtureStep           `json:"authentication"`
		RegisterExistingEmailSignedOut fixtureStep           `json:"registerExistingEmailSignedOut"`
		SecondPasskeySameUserSignedIn  fixtureStep           `json:"secondPasskeySameUserSignedIn"`
		AuthenticationOlderPasskey     fixtureStep           `json:"authenticationOlderPasskey"`
		AuthenticationSecondPasskey    fixtureStep           `json:"authenticationSecondPasskey"`
		SignOutLastBrowser             fixtureStep           `json:"signOutLastBrowser"`
		FinalKeys                      map[string]fixtureKey `json:"finalKeys"`
	} `json:"defaultOptions"`
	PrefixedOptions struct {
		DriverOptions  map[string]string `json:"driverOptions"`
		AdapterOptions map[string]string `json:"adapterOptions"`
		Registration   fixtureStep       `json:"registration"`
		Authentication fixtureStep       `json:"authentication"`
	} `json:"prefixedOptions"`
	UseItemRawOptions struct {
		Registration fixtureStep `json:"registration"`
	} `json:"useItemRawOptions"`
}

type fixtureStep struct {
	RedisCommands [][]string            `json:"redisCommands"`
	KeysWritten   map[string]fixtureKey `json:"keysWritten"`
	KeysChanged   map[string]struct {
		Before fixtureKey `json:"before"`
		After  fixtureKey `json:"after"`
	} `json:"keysChanged"`
	KeysRemoved []string `json:"keysRemoved"`
}

type fixtureKey struct {
	Type  string `json:"type"`
	TTL   int    `json:"ttl"`
	Value string `json:"value"`
}

func loadFixture(t *testing.T) *fixture {
	t.Helper()
	b, err := os.ReadFile("testdata/unstorage-redis.json")
	if err != nil {
		t.Fatal(err)
	}
	var f fixture
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return &f
}

// apply returns keys after step: written and changed keys set, removed
// keys gone.
func apply(keys map[string]string, step fixtureStep) map[string]string {
	out := map[string]string{}
	for k, v := range keys {
		out[k] = v
	}
	for k, v := range step.KeysWritten {
		out[k] = v.Value
	}
	for k, v := range step.KeysChanged {
		out[k] = v.After.Value
	}
	for _, k := range step.KeysRemoved {
		delete(out, k)
	}
	return out
}

// withoutSessions drops the session keys: passkeyctl never writes them.
func withoutSessions(keys map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range keys {
		if !strings.Contains(k, "user:session:") {
			out[k] = v
		}
	}
	return out
}

func values(keys map[string]fixtureKey) map[string]string {
	out := map[string]string{}
	for k, v := range keys {
		out[k] = v.Value
	}
	return out
}

var ctx = context.Background()

func deadline(t *testing.T, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return c
}

func parseJSON(v string) (map[string]any, error) {
	var m map[string]any
	err := json.Unmarshal([]byte(v), &m)
	return m, err
}
