package redis_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store/redis"
)

func TestNormalizeKey(t *testing.T) {
	// Expected values computed with unstorage 1.17.6's normalizeKey (its
	// source is in the fixture's observations).
	cases := []struct{ in, want string }{
		{"", ""},
		{"a", "a"},
		{"authenticator:PasskeyCtl+Fixture/One//Redis+Key/w=", "authenticator:PasskeyCtl+Fixture:One:Redis+Key:w="},
		{"authenticator:/Second+Passkey//Same+User+Redis+ab/", "authenticator:Second+Passkey:Same+User+Redis+ab"},
		{"user:email:a?b@x.io", "user:email:a"},
		{"?everything", ""},
		{"a\\b/c", "a:b:c"},
		{":::a:::b:::", "a:b"},
		{"::", ""},
		{"/", ""},
		{"a::", "a"},
		{"::a", "a"},
		{"a b=c+d", "a b=c+d"},
		{"ünïcode/ключ", "ünïcode:ключ"},
	}
	for _, c := range cases {
		if got := redis.NormalizeKey(c.in); got != c.want {
			t.Errorf("NormalizeKey(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := redis.JoinKeys("", "user:x"); got != "user:x" {
		t.Errorf("JoinKeys with empty base = %q", got)
	}
	if got := redis.JoinKeys("myapp", "app2:user:x"); got != "myapp:app2:user:x" {
		t.Errorf("JoinKeys = %q", got)
	}
}

// TestLayout_fixtureKeys derives every key the fixture's default and
// prefixed runs touched from the ids in their values, with the layout of
// each run, and checks that each one is a key the Layout builds.
func TestLayout_fixtureKeys(t *testing.T) {
	f := loadFixture(t)
	def := redis.DefaultLayout()
	for _, kn := range f.Observations.KeyNormalisation {
		if got := def.AuthenticatorKey(kn.CredentialID); got != kn.AuthenticatorKey {
			t.Errorf("AuthenticatorKey(%s) = %s, want %s", kn.CredentialID, got, kn.AuthenticatorKey)
		}
		if got := def.AccountKey("passkey", kn.CredentialID); got != kn.AccountKey {
			t.Errorf("AccountKey(%s) = %s, want %s", kn.CredentialID, got, kn.AccountKey)
		}
	}
	cred2 := f.CredentialIDs["passkey2"].Base64
	if got := def.AccountPointer("passkey", cred2); got != f.Observations.UserAccountByUserIDAfterSecondPasskey {
		t.Errorf("AccountPointer = %s, want %s", got, f.Observations.UserAccountByUserIDAfterSecondPasskey)
	}

	prefixed := redis.DefaultLayout()
	prefixed.Base = f.PrefixedOptions.DriverOptions["base"]
	prefixed.BaseKeyPrefix = f.PrefixedOptions.AdapterOptions["baseKeyPrefix"]
	if prefixed.Base != "myapp" || prefixed.BaseKeyPrefix != "app2:" {
		t.Fatalf("fixture's prefixed run: base %q baseKeyPrefix %q", prefixed.Base, prefixed.BaseKeyPrefix)
	}

	runs := []struct {
		name   string
		layout redis.Layout
		steps  []fixtureStep
	}{
		{"default", def, []fixtureStep{f.DefaultOptions.Registration, f.DefaultOptions.Authentication, f.DefaultOptions.RegisterExistingEmailSignedOut,
			f.DefaultOptions.SecondPasskeySameUserSignedIn, f.DefaultOptions.AuthenticationOlderPasskey, f.DefaultOptions.AuthenticationSecondPasskey, f.DefaultOptions.SignOutLastBrowser}},
		{"prefixed", prefixed, []fixtureStep{f.PrefixedOptions.Registration, f.PrefixedOptions.Authentication}},
	}
	for _, run := range runs {
		t.Run(run.name, func(t *testing.T) {
			l := run.layout
			// Every key the Layout builds from the ids found in the values.
			built := map[string]string{}
			pointers := map[string]string{} // pointer value → key it denotes
			addIDs := func(v string) {
				var obj map[string]any
				if json.Unmarshal([]byte(v), &obj) != nil {
					return
				}
				if cid, ok := obj["credentialID"].(string); ok {
					built[l.AuthenticatorKey(cid)] = "authenticator"
					built[l.AccountKey("passkey", cid)] = "account"
					pointers[l.AccountPointer("passkey", cid)] = l.AccountKey("passkey", cid)
				}
				if uid, ok := obj["userId"].(string); ok {
					built[l.UserKey(uid)] = "user"
					built[l.AuthenticatorListKey(uid)] = "list"
					built[l.AccountByUserIDKey(uid)] = "account pointer"
					built[l.SessionByUserIDKey(uid)] = "session pointer"
				}
				if email, ok := obj["email"].(string); ok {
					built[l.EmailKey(email)] = "email"
				}
				if tok, ok := obj["sessionToken"].(string); ok {
					built[l.SessionKey(tok)] = "session"
				}
			}
			var keys []string
			for _, st := range run.steps {
				for _, c := range st.RedisCommands {
					if len(c) >= 2 && (c[0] == "get" || c[0] == "set" || c[0] == "unlink") {
						keys = append(keys, c[1])
					}
					if len(c) >= 3 {
						addIDs(c[2])
					}
				}
				for k, v := range st.KeysWritten {
					keys = append(keys, k)
					addIDs(v.Value)
				}
				for k, v := range st.KeysChanged {
					keys = append(keys, k)
					addIDs(v.After.Value)
				}
				keys = append(keys, st.KeysRemoved...)
			}
			if len(keys) < 20 {
				t.Fatalf("only %d keys in the fixture's %s run", len(keys), run.name)
			}
			for _, k := range keys {
				if _, ok := built[k]; !ok {
					t.Errorf("fixture key %s is not one the layout builds", k)
				}
			}
			// Every pointer value written points, through PointerKey, at a
			// key the Layout builds for the same account or session.
			for _, st := range run.steps {
				for _, c := range st.RedisCommands {
					if len(c) == 3 && c[0] == "set" && strings.Contains(c[1], "by-user-id") && !strings.HasPrefix(c[2], "[") {
						if _, ok := built[l.PointerKey(c[2])]; !ok {
							t.Errorf("pointer %s = %s denotes %s, not a key the layout builds", c[1], c[2], l.PointerKey(c[2]))
						}
						if want, isAcct := pointers[c[2]]; isAcct && l.PointerKey(c[2]) != want {
							t.Errorf("PointerKey(%s) = %s, want %s", c[2], l.PointerKey(c[2]), want)
						}
					}
				}
			}
		})
	}
}

func TestParseTarget(t *testing.T) {
	tg, err := redis.ParseTarget("redis://127.0.0.1:6379")
	if err != nil {
		t.Fatal(err)
	}
	if tg.Addr != "127.0.0.1:6379" || tg.DB != 0 || tg.TLS || tg.Layout != redis.DefaultLayout() {
		t.Errorf("defaults: %+v", tg)
	}
	tg, err = redis.ParseTarget("rediss://alice:s3cr3t-pw@cache.example:6380/4?base=myapp&baseKeyPrefix=app2:&authenticatorKeyPrefix=authenticator:id:")
	if err != nil {
		t.Fatal(err)
	}
	if !tg.TLS || tg.Addr != "cache.example:6380" || tg.DB != 4 || tg.Username != "alice" || tg.Password != "s3cr3t-pw" ||
		tg.Layout.Base != "myapp" || tg.Layout.BaseKeyPrefix != "app2:" || tg.Layout.AuthenticatorKeyPrefix != "authenticator:id:" ||
		tg.Layout.UserKeyPrefix != "user:" {
		t.Errorf("parsed: %+v", tg)
	}
	red := tg.Redacted()
	if strings.Contains(red, "s3cr3t") || !strings.Contains(red, "alice") || !strings.Contains(red, "base=myapp") {
		t.Errorf("Redacted() = %s", red)
	}
	if red2, err := redis.ParseTarget(red); err != nil || red2.Layout != tg.Layout {
		t.Errorf("Redacted() does not parse back to the same layout: %v", err)
	}
	for _, name := range []string{"userKeyPrefix", "emailKeyPrefix", "accountKeyPrefix", "accountByUserIdPrefix", "sessionKeyPrefix",
		"sessionByUserIdKeyPrefix", "verificationTokenKeyPrefix", "authenticatorKeyPrefix", "authenticatorUserKeyPrefix"} {
		if _, err := redis.ParseTarget("redis://h/0?" + name + "=x:"); err != nil {
			t.Errorf("parameter %s refused: %v", name, err)
		}
	}

	bad := []struct{ dsn, want string }{
		{"redis://u:s3cr3t-pw@h:6379/0?prefix=x", "unknown parameter \"prefix\"; accepted: accountByUserIdPrefix, accountKeyPrefix, authenticatorKeyPrefix, authenticatorUserKeyPrefix, base, baseKeyPrefix"},
		{"redis://u:s3cr3t-pw@h:6379/zero", "database \"zero\" is not a number"},
		{"redis://u:s3cr3t-pw@h:99999/0", "is not a TCP port"},
		{"redis://u:s3cr3t-pw@/0", "no host"},
		{"redis://u:s3cr3t-pw@h/0?base=a?b", "contains \"?\""},
		{"redis://u:s3cr3t-pw@h/0?base=a&base=b", "given 2 times"},
		{"http://u:s3cr3t-pw@h/0", "want redis:// or rediss://"},
		{"redis://u:s3cr3t-pw@h:6379/0\x7f", "not a URL"},
	}
	for _, c := range bad {
		_, err := redis.ParseTarget(c.dsn)
		if err == nil {
			t.Errorf("%q accepted", c.dsn)
			continue
		}
		if !errors.Is(err, passkey.ErrInvalid) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error %q, want one line containing %q, without the password", c.dsn, err, c.want)
		}
	}
	if !redis.IsTarget("REDIS://h") || !redis.IsTarget("rediss://h") || redis.IsTarget("postgres://h") {
		t.Error("IsTarget")
	}
}

func TestOpen_unreachableNamesNoPassword(t *testing.T) {
	// Port 1 on localhost: nothing listens; the dial fails at once.
	tg, err := redis.ParseTarget("redis://u:s3cr3t-pw@127.0.0.1:1/0")
	if err != nil {
		t.Fatal(err)
	}
	_, err = redis.Open(deadline(t, 10e9), tg, redis.Options{})
	if err == nil || strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("Open: %v", err)
	}
	// A wrong password on the real server: refused, and not echoed.
	tg, err = redis.ParseTarget(testServer())
	if err != nil {
		t.Fatal(err)
	}
	tg.Username, tg.Password = "nobody-here", "s3cr3t-pw"
	_, err = redis.Open(ctx, tg, redis.Options{})
	if err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("Open with a wrong password: %v", err)
	}
}
