package redis_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
	"github.com/passkeyctl/passkeyctl/internal/store/redis"
	goredis "github.com/redis/go-redis/v9"
)

// TestSurvey: the default layout counts its own passkeys and points at the
// fixture's app2:/myapp passkeys it cannot read.
func TestSurvey(t *testing.T) {
	f := loadFixture(t)
	e := newEnv(t)
	e.load(f.DefaultOptions.FinalKeys)
	keys := map[string]fixtureKey{}
	for k, v := range apply(nil, f.PrefixedOptions.Registration) {
		keys[k] = fixtureKey{Value: v}
	}
	e.load(keys)
	sv, err := e.open("", "").Survey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Other users of the server may hold keys too: look at ours only.
	mine := map[string]int{}
	for stem, n := range sv.Elsewhere {
		if strings.HasPrefix(stem, e.ns+":") {
			mine[stem] = n
		}
	}
	if sv.Passkeys != 2 || len(mine) != 1 || mine[e.ns+":myapp:app2:authenticator"] != 1 {
		t.Errorf("default layout: %d passkeys, elsewhere %v", sv.Passkeys, mine)
	}
	sv, err = e.open("myapp", "baseKeyPrefix=app2:").Survey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sv.Passkeys != 1 || sv.Elsewhere[e.ns+":authenticator"] != 2 {
		t.Errorf("prefixed layout: %d passkeys, elsewhere %v", sv.Passkeys, sv.Elsewhere)
	}
	sv, err = e.open("", "authenticatorKeyPrefix=pk:").Survey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sv.Passkeys != 0 || sv.Elsewhere[e.ns+":authenticator"] != 2 || sv.Stems()[0] == "" {
		t.Errorf("custom prefix: %d passkeys, elsewhere %v", sv.Passkeys, sv.Elsewhere)
	}
}

// TestCheckLayout: a DSN without the app's base sees no passkey while the
// app's keys sit under its base: reported, naming the prefix to give; the
// right DSN, and an empty database, pass. CheckLayout surveys the whole
// database, so this test has a Redis database number of its own (13),
// where no other test writes.
func TestCheckLayout(t *testing.T) {
	e := newEnv(t)
	u, err := url.Parse(testServer())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/13"
	open := func(base, query string) *redis.Store {
		t.Helper()
		tg, err := redis.ParseTarget(u.String() + "?base=" + base + query)
		if err != nil {
			t.Fatal(err)
		}
		s, err := redis.Open(ctx, tg, redis.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	opts, err := goredis.ParseURL(u.String())
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(opts)
	t.Cleanup(func() {
		keys, _ := c.Keys(context.Background(), e.ns+":*").Result() // database 13 holds only this test's keys
		if len(keys) > 0 {
			c.Del(context.Background(), keys...)
		}
		c.Close()
	})

	app := open(e.ns+":myapp", "&baseKeyPrefix=app2:")
	if err := app.CheckLayout(ctx); err != nil {
		t.Fatalf("empty database: %v", err)
	}
	if _, err := app.CreatePasskey(ctx, store.NewPasskey{CredentialID: []byte{1, 2, 3, 4}, PublicKey: fixtureKey1(t)},
		store.EnrollOptions{CreateUser: &store.NewUser{ID: "u1", Email: "a@example.com"}}); err != nil {
		t.Fatal(err)
	}
	if err := app.CheckLayout(ctx); err != nil {
		t.Fatalf("the app's own layout: %v", err)
	}
	err = open(e.ns, "").CheckLayout(ctx)
	if !errors.Is(err, passkey.ErrSchemaNotReady) || !strings.Contains(err.Error(), "join to \""+e.ns+":myapp:app2\"") {
		t.Fatalf("layout without the base: %v", err)
	}
}
