package redis_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
	"github.com/passkeyctl/passkeyctl/internal/store/redis"
)

func listAll(t *testing.T, s *redis.Store, opts redis.ListOptions) []passkey.Passkey {
	t.Helper()
	var out []passkey.Passkey
	if err := s.ListWith(ctx, opts, func(p passkey.Passkey) error {
		out = append(out, p)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestListPasskeys_fixture reads the keys the real adapter left (loaded
// into Redis as they are) and checks every field and the order.
func TestListPasskeys_fixture(t *testing.T) {
	f := loadFixture(t)
	e := newEnv(t)
	e.load(f.DefaultOptions.FinalKeys)
	s := e.open("", "")
	uid := f.DefaultOptions.FinalKeys["user:email:fixture@example.com"].Value
	cred1, cred2 := f.CredentialIDs["passkey1"], f.CredentialIDs["passkey2"]
	pk := func(cred string) string {
		a, _ := parseJSON(f.DefaultOptions.FinalKeys[redis.DefaultLayout().AuthenticatorKey(cred)].Value)
		return a["credentialPublicKey"].(string)
	}

	ps := listAll(t, s, redis.ListOptions{})
	if len(ps) != 2 {
		t.Fatalf("listed %d passkeys, want 2: %+v", len(ps), ps)
	}
	// Same user; "/Second..." sorts before "PasskeyCtl...".
	want := []struct {
		id      string
		counter int64
	}{{cred2.Base64, 1}, {cred1.Base64, 2}}
	for i, w := range want {
		p := ps[i]
		if p.CredentialID != w.id || p.UserID != uid || p.Counter != w.counter || p.CredentialDeviceType != "multiDevice" || !p.CredentialBackedUp ||
			!slices.Equal(p.Transports, []string{"hybrid", "internal"}) || p.Algorithm != "ES256" || p.Status != passkey.StatusOK ||
			p.Email == nil || *p.Email != "fixture@example.com" || p.PublicKey != pk(w.id) || p.ProviderAccountID != w.id {
			t.Errorf("passkey %d: %+v", i, p)
		}
	}
	unordered := listAll(t, s, redis.ListOptions{Unordered: true})
	slices.SortFunc(unordered, func(a, b passkey.Passkey) int { return strings.Compare(a.CredentialID, b.CredentialID) })
	if !slices.EqualFunc(unordered, ps, passkeyEqual) {
		t.Errorf("unordered listing differs: %+v", unordered)
	}
	if got := listAll(t, s, redis.ListOptions{UserID: uid}); len(got) != 2 {
		t.Errorf("user listing: %d passkeys", len(got))
	}
	if got := listAll(t, s, redis.ListOptions{UserID: strings.ToUpper(uid)}); len(got) != 0 {
		t.Errorf("user listing compares ids exactly: %d passkeys", len(got))
	}
	if got := listAll(t, s, redis.ListOptions{Limit: 1}); len(got) != 1 || got[0].CredentialID != cred2.Base64 {
		t.Errorf("limit 1: %+v", got)
	}

	raw1, _ := base64.StdEncoding.DecodeString(cred1.Base64)
	raw2, _ := base64.StdEncoding.DecodeString(cred2.Base64)
	if p, err := s.GetPasskey(ctx, raw1); err != nil || !passkeyEqual(p, ps[1]) {
		t.Errorf("GetPasskey: %+v %v", p, err)
	}
	got, err := s.ResolveCredentials(ctx, []string{cred1.Base64URL, cred2.Base64, cred1.Base64})
	if err != nil || len(got) != 2 || got[0].CredentialID != cred1.Base64 || got[1].CredentialID != cred2.Base64 {
		t.Errorf("ResolveCredentials: %+v %v", got, err)
	}
	_, err = s.ResolveCredentials(ctx, []string{cred1.Base64URL, "AAAAAAAA"})
	if !errors.Is(err, passkey.ErrNotFound) || !strings.Contains(err.Error(), "AAAAAAAA") || !strings.Contains(err.Error(), "nothing was revoked") {
		t.Errorf("ResolveCredentials with an unknown ID: %v", err)
	}
	ids, err := s.UserCredentialIDs(ctx, uid)
	if err != nil || len(ids) != 2 || !bytes.Equal(ids[0], raw2) || !bytes.Equal(ids[1], raw1) {
		t.Errorf("UserCredentialIDs: %x %v", ids, err)
	}

	for _, ref := range []string{uid, "fixture@example.com", "FIXTURE@Example.COM", "  fixture@example.com "} {
		u, err := s.FindUser(ctx, ref)
		if err != nil || u.ID != uid || u.Email == nil || *u.Email != "fixture@example.com" || u.EmailVerified {
			t.Errorf("FindUser(%q) = %+v, %v", ref, u, err)
		}
	}
	if _, err := s.FindUser(ctx, "nobody@example.com"); !errors.Is(err, passkey.ErrNotFound) {
		t.Errorf("FindUser(nobody): %v", err)
	}
	// Another user whose e-mail differs only in case: the exact match
	// still wins, a third spelling is ambiguous.
	e.c.Set(ctx, e.ns+":user:u2", `{"email":"Fixture@example.com","id":"u2","emailVerified":"2026-01-01T00:00:00.000Z"}`, 0)
	e.c.Set(ctx, e.ns+":user:email:Fixture@example.com", "u2", 0)
	if u, err := s.FindUser(ctx, "fixture@example.com"); err != nil || u.ID != uid {
		t.Errorf("exact e-mail with a case twin: %+v %v", u, err)
	}
	if u, err := s.FindUser(ctx, "Fixture@example.com"); err != nil || u.ID != "u2" || !u.EmailVerified {
		t.Errorf("exact e-mail of the twin: %+v %v", u, err)
	}
	_, err = s.FindUser(ctx, "FIXTURE@EXAMPLE.COM")
	if !errors.Is(err, passkey.ErrInvalid) || !strings.Contains(err.Error(), uid) || !strings.Contains(err.Error(), "u2 <Fixture@example.com>") {
		t.Errorf("ambiguous e-mail: %v", err)
	}
	// An e-mail key is normalised: "a?b@x.io" is stored as user:email:a,
	// which a lookup of "a?c@y.io" also reaches; the user's own e-mail
	// decides.
	e.c.Set(ctx, e.ns+":user:u3", `{"email":"a?b@x.io","id":"u3"}`, 0)
	e.c.Set(ctx, e.ns+":user:email:a", "u3", 0)
	if u, err := s.FindUser(ctx, "a?b@x.io"); err != nil || u.ID != "u3" {
		t.Errorf("mangled e-mail key: %+v %v", u, err)
	}
	if u, err := s.FindUser(ctx, "a?c@y.io"); !errors.Is(err, passkey.ErrNotFound) {
		t.Errorf("another e-mail on the same mangled key found %+v, %v", u, err)
	}
}

// TestListPasskeys_status: each problem the adapter would stumble on.
func TestListPasskeys_status(t *testing.T) {
	f := loadFixture(t)
	l := redis.DefaultLayout()
	cred1 := f.CredentialIDs["passkey1"].Base64
	uid := f.DefaultOptions.FinalKeys["user:email:fixture@example.com"].Value
	authKey, acctKey := l.AuthenticatorKey(cred1), l.AccountKey("passkey", cred1)
	cases := []struct {
		name   string
		change func(e *testEnv)
		want   string
	}{
		{"ok", func(e *testEnv) {}, passkey.StatusOK},
		{"no account", func(e *testEnv) { e.c.Del(ctx, e.ns+":"+acctKey) }, passkey.StatusNoAccount},
		{"account of another credential on the same key", func(e *testEnv) {
			e.c.Set(ctx, e.ns+":"+acctKey, `{"providerAccountId":"PasskeyCtl+Fixture:One:Redis+Key:w=","provider":"passkey","type":"webauthn","userId":"`+uid+`","id":"x"}`, 0)
		}, passkey.StatusNoAccount},
		{"account of another user", func(e *testEnv) {
			e.c.Set(ctx, e.ns+":"+acctKey, strings.Replace(f.DefaultOptions.FinalKeys[acctKey].Value, uid, "someone-else", 1), 0)
		}, passkey.StatusAccountUserMismatch},
		{"no user", func(e *testEnv) { e.c.Del(ctx, e.ns+":"+l.UserKey(uid)) }, passkey.StatusNoUser},
		{"bad public key", func(e *testEnv) {
			v := f.DefaultOptions.FinalKeys[authKey].Value
			a, _ := parseJSON(v)
			e.c.Set(ctx, e.ns+":"+authKey, strings.Replace(v, a["credentialPublicKey"].(string), "bm90IGNib3I=", 1), 0)
		}, passkey.StatusBadPublicKey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.load(f.DefaultOptions.FinalKeys)
			c.change(e)
			s := e.open("", "")
			raw, _ := base64.StdEncoding.DecodeString(cred1)
			p, err := s.GetPasskey(ctx, raw)
			if err != nil {
				t.Fatal(err)
			}
			if p.Status != c.want {
				t.Errorf("status %s, want %s", p.Status, c.want)
			}
			ps := listAll(t, s, redis.ListOptions{})
			if i := slices.IndexFunc(ps, func(q passkey.Passkey) bool { return q.CredentialID == cred1 }); i < 0 || ps[i].Status != c.want {
				t.Errorf("list: %+v", ps)
			}
		})
	}
}

// TestListPasskeys_prefixed reads the fixture's app2:/myapp run with its
// layout, and sees nothing of it with the default one.
func TestListPasskeys_prefixed(t *testing.T) {
	f := loadFixture(t)
	e := newEnv(t)
	keys := map[string]fixtureKey{}
	for k, v := range apply(nil, f.PrefixedOptions.Registration) {
		keys[k] = fixtureKey{Value: v}
	}
	for k, v := range f.PrefixedOptions.Authentication.KeysChanged {
		keys[k] = v.After
	}
	e.load(keys)
	ps := listAll(t, e.open("myapp", "baseKeyPrefix=app2:"), redis.ListOptions{})
	if len(ps) != 1 || ps[0].Counter != 1 || ps[0].Status != passkey.StatusOK || ps[0].CredentialID != f.CredentialIDs["passkey1"].Base64 {
		t.Errorf("prefixed listing: %+v", ps)
	}
	if ps := listAll(t, e.open("", ""), redis.ListOptions{}); len(ps) != 0 {
		t.Errorf("default layout sees the prefixed app's passkeys: %+v", ps)
	}
	if ps := listAll(t, e.open("myapp", ""), redis.ListOptions{}); len(ps) != 0 {
		t.Errorf("a layout without baseKeyPrefix sees the prefixed app's passkeys: %+v", ps)
	}
}

func passkeyEqual(a, b passkey.Passkey) bool {
	return a.CredentialID == b.CredentialID && a.UserID == b.UserID && a.Counter == b.Counter && a.Status == b.Status &&
		a.Algorithm == b.Algorithm && a.PublicKey == b.PublicKey && slices.Equal(a.Transports, b.Transports) &&
		a.CredentialBackedUp == b.CredentialBackedUp && a.CredentialDeviceType == b.CredentialDeviceType
}

// TestFindUser_idAndEmail: a reference that is one user's id and another
// user's e-mail is ambiguous, as in internal/db.
func TestFindUser_idAndEmail(t *testing.T) {
	e := newEnv(t)
	s := e.open("", "")
	e.c.Set(ctx, e.ns+":user:x@example.com", `{"email":"one@example.com","id":"x@example.com"}`, 0)
	e.c.Set(ctx, e.ns+":user:u2", `{"email":"x@example.com","id":"u2"}`, 0)
	e.c.Set(ctx, e.ns+":user:email:x@example.com", "u2", 0)
	_, err := s.FindUser(ctx, "x@example.com")
	if !errors.Is(err, passkey.ErrInvalid) || !strings.Contains(err.Error(), "matches 2 users") {
		t.Errorf("id of one user, e-mail of another: %v", err)
	}
	if _, err := s.FindUser(ctx, " "); !errors.Is(err, passkey.ErrInvalid) {
		t.Errorf("empty reference: %v", err)
	}
}

// TestUserCredentialIDs_verified: list entries whose passkey is gone or
// is another user's are not excluded credentials.
func TestUserCredentialIDs_verified(t *testing.T) {
	e := newEnv(t)
	s := e.open("", "")
	key := fixtureKey1(t)
	mine, theirs := []byte("mine"), []byte("theirs")
	p, err := s.CreatePasskey(ctx, store.NewPasskey{CredentialID: mine, PublicKey: key}, store.EnrollOptions{CreateUser: &store.NewUser{Email: "me@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreatePasskey(ctx, store.NewPasskey{CredentialID: theirs, PublicKey: key}, store.EnrollOptions{CreateUser: &store.NewUser{Email: "them@example.com"}}); err != nil {
		t.Fatal(err)
	}
	l := redis.DefaultLayout()
	list := `["` + passkey.AuthjsCredentialID(theirs) + `","gone","` + passkey.AuthjsCredentialID(mine) + `","` + passkey.AuthjsCredentialID(mine) + `"]`
	e.c.Set(ctx, e.ns+":"+l.AuthenticatorListKey(p.UserID), list, 0)
	ids, err := s.UserCredentialIDs(ctx, p.UserID)
	if err != nil || len(ids) != 1 || !bytes.Equal(ids[0], mine) {
		t.Errorf("UserCredentialIDs: %q %v", ids, err)
	}
}
