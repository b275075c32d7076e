package redis_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
	"github.com/passkeyctl/passkeyctl/internal/store/redis"
)

// fixturePasskey is the registration of a fixture credential as
// serve --enroll would hand it to CreatePasskey: the values the real
// registration stored (public key, flags, transports), decoded.
func fixturePasskey(t *testing.T, authValue string, userID string) store.NewPasskey {
	t.Helper()
	var a struct {
		CredentialID        string `json:"credentialID"`
		CredentialPublicKey string `json:"credentialPublicKey"`
	}
	if err := json.Unmarshal([]byte(authValue), &a); err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(a.CredentialID)
	if err != nil {
		t.Fatal(err)
	}
	key, err := base64.StdEncoding.DecodeString(a.CredentialPublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return store.NewPasskey{UserID: userID, CredentialID: raw, PublicKey: key, Counter: 0,
		BackupEligible: true, BackupState: true, Transports: []string{"hybrid", "internal"}}
}

// valueOf returns the value the step set for key.
func valueOf(t *testing.T, st fixtureStep, key string) string {
	t.Helper()
	if v, ok := st.KeysWritten[key]; ok {
		return v.Value
	}
	t.Fatalf("fixture step wrote no %s", key)
	return ""
}

// TestCreatePasskey_fixture replays the fixture's default run (first
// registration with a new user, sign-in, second passkey of the same user,
// sign-ins with the older and the newer passkey) through CreatePasskey and
// UpdateCounter, and compares every key and value after each step with
// what the real adapter left (its session keys aside: passkeyctl writes no
// sessions).
func TestCreatePasskey_fixture(t *testing.T) {
	f := loadFixture(t)
	e := newEnv(t)
	s := e.open("", "")
	d := f.DefaultOptions
	uid := d.FinalKeys["user:email:fixture@example.com"].Value
	cred1, cred2 := f.Observations.KeyNormalisation[0], f.Observations.KeyNormalisation[1]

	np1 := fixturePasskey(t, valueOf(t, d.Registration, cred1.AuthenticatorKey), "")
	p, err := s.CreatePasskey(ctx, np1, store.EnrollOptions{CreateUser: &store.NewUser{ID: uid, Email: "fixture@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if p.CredentialID != cred1.CredentialID || p.UserID != uid || p.Status != passkey.StatusOK || p.Algorithm != "ES256" || p.Email == nil || *p.Email != "fixture@example.com" {
		t.Errorf("CreatePasskey returned %+v", p)
	}
	want := withoutSessions(apply(nil, d.Registration))
	diffKeys(t, "registration", want, e.snapshot())

	if err := s.UpdateCounter(ctx, np1.CredentialID, 1); err != nil {
		t.Fatal(err)
	}
	want = withoutSessions(apply(want, d.Authentication))
	diffKeys(t, "sign-in", want, e.snapshot())

	np2 := fixturePasskey(t, valueOf(t, d.SecondPasskeySameUserSignedIn, cred2.AuthenticatorKey), uid)
	if _, err := s.CreatePasskey(ctx, np2, store.EnrollOptions{}); err != nil {
		t.Fatal(err)
	}
	want = withoutSessions(apply(want, d.SecondPasskeySameUserSignedIn))
	diffKeys(t, "second passkey", want, e.snapshot())

	if err := s.UpdateCounter(ctx, np1.CredentialID, 2); err != nil {
		t.Fatal(err)
	}
	want = withoutSessions(apply(want, d.AuthenticationOlderPasskey))
	diffKeys(t, "sign-in with the older passkey", want, e.snapshot())

	if err := s.UpdateCounter(ctx, np2.CredentialID, 1); err != nil {
		t.Fatal(err)
	}
	want = withoutSessions(apply(want, d.AuthenticationSecondPasskey))
	diffKeys(t, "sign-in with the newer passkey", want, e.snapshot())
	diffKeys(t, "final keys", withoutSessions(values(d.FinalKeys)), e.snapshot())
}

// TestCreatePasskey_fixturePrefixed replays the fixture's run with the
// driver's base "myapp" and the adapter's baseKeyPrefix "app2:".
func TestCreatePasskey_fixturePrefixed(t *testing.T) {
	f := loadFixture(t)
	e := newEnv(t)
	s := e.open("myapp", "baseKeyPrefix=app2:")
	reg := f.PrefixedOptions.Registration
	var uid string
	for k, v := range reg.KeysWritten {
		if k == "myapp:app2:user:email:fixture@example.com" {
			uid = v.Value
		}
	}
	if uid == "" {
		t.Fatal("no e-mail key in the fixture's prefixed registration")
	}
	np := fixturePasskey(t, valueOf(t, reg, "myapp:app2:"+f.Observations.KeyNormalisation[0].AuthenticatorKey), "")
	if _, err := s.CreatePasskey(ctx, np, store.EnrollOptions{CreateUser: &store.NewUser{ID: uid, Email: "fixture@example.com"}}); err != nil {
		t.Fatal(err)
	}
	want := withoutSessions(apply(nil, reg))
	diffKeys(t, "prefixed registration", want, e.snapshot())
	if err := s.UpdateCounter(ctx, np.CredentialID, 1); err != nil {
		t.Fatal(err)
	}
	diffKeys(t, "prefixed sign-in", withoutSessions(apply(want, f.PrefixedOptions.Authentication)), e.snapshot())
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestCreatePasskey_refusals(t *testing.T) {
	f := loadFixture(t)
	e := newEnv(t)
	s := e.open("", "")
	cred1 := f.Observations.KeyNormalisation[0]
	np := fixturePasskey(t, valueOf(t, f.DefaultOptions.Registration, cred1.AuthenticatorKey), "")

	// A new user gets a random UUID v4, as crypto.randomUUID() gives.
	p, err := s.CreatePasskey(ctx, np, store.EnrollOptions{CreateUser: &store.NewUser{Email: "new@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if !uuidV4.MatchString(p.UserID) {
		t.Errorf("new user id %q is not a UUID v4", p.UserID)
	}
	snap := e.snapshot()
	if got, want := snap["user:"+p.UserID], `{"email":"new@example.com","id":"`+p.UserID+`"}`; got != want {
		t.Errorf("user value %s, want %s", got, want)
	}

	check := func(name string, err, want error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Errorf("%s: error %v, want %v", name, err, want)
		}
		diffKeys(t, name+" wrote nothing", snap, e.snapshot())
	}
	_, err = s.CreatePasskey(ctx, np, store.EnrollOptions{CreateUser: &store.NewUser{Email: "other@example.com"}})
	check("the same credential again", err, passkey.ErrConflict)

	np2 := np
	np2.CredentialID = []byte("another credential")
	_, err = s.CreatePasskey(ctx, np2, store.EnrollOptions{CreateUser: &store.NewUser{Email: "new@example.com"}})
	check("a new user with a taken e-mail", err, passkey.ErrConflict)

	np2.UserID = "no-such-user"
	_, err = s.CreatePasskey(ctx, np2, store.EnrollOptions{})
	check("a user that does not exist", err, passkey.ErrNotFound)

	// "/Second+Passkey//Same+User+Redis+ab/" and
	// "Second+Passkey//Same+User+Redis+ab//" share one key once
	// normalised: the second must not overwrite the first.
	first, _ := base64.StdEncoding.DecodeString("/Second+Passkey//Same+User+Redis+ab/")
	second, _ := base64.StdEncoding.DecodeString("Second+Passkey//Same+User+Redis+ab//")
	np3 := np
	np3.UserID, np3.CredentialID = p.UserID, first
	if _, err := s.CreatePasskey(ctx, np3, store.EnrollOptions{}); err != nil {
		t.Fatal(err)
	}
	snap = e.snapshot()
	np3.CredentialID = second
	_, err = s.CreatePasskey(ctx, np3, store.EnrollOptions{})
	check("a credential whose key collides with another's", err, passkey.ErrConflict)

	if err := s.UpdateCounter(ctx, second, 5); !errors.Is(err, passkey.ErrNotFound) {
		t.Errorf("UpdateCounter of a credential whose key holds another: %v", err)
	}
	diffKeys(t, "UpdateCounter of the colliding credential wrote nothing", snap, e.snapshot())
	if _, err := s.GetPasskey(ctx, second); !errors.Is(err, passkey.ErrNotFound) {
		t.Errorf("GetPasskey of the colliding credential: %v", err)
	}
}

// TestUpdateCounter_keepsOtherFields: a value with fields the adapter
// does not write keeps them, in place; a missing list is created.
func TestUpdateCounter_keepsOtherFields(t *testing.T) {
	e := newEnv(t)
	s := e.open("", "")
	v := `{"providerAccountId":"AAAA","counter":7,"note":"<kept> \u2028","credentialID":"AAAA","credentialPublicKey":"x","credentialBackedUp":false,"credentialDeviceType":"singleDevice","userId":"u1"}`
	e.c.Set(ctx, e.ns+":authenticator:AAAA", v, 0)
	if err := s.UpdateCounter(ctx, []byte{0, 0, 0}, 8); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"authenticator:AAAA":          `{"providerAccountId":"AAAA","counter":8,"note":"<kept> ` + "\u2028" + `","credentialID":"AAAA","credentialPublicKey":"x","credentialBackedUp":false,"credentialDeviceType":"singleDevice","userId":"u1"}`,
		"authenticator:by-user-id:u1": `["AAAA"]`,
	}
	diffKeys(t, "counter update", want, e.snapshot())
	if err := s.UpdateCounter(ctx, []byte{1, 2, 3}, 1); !errors.Is(err, passkey.ErrNotFound) {
		t.Errorf("UpdateCounter of an unknown credential: %v", err)
	}
	_ = redis.DefaultProviderID
}

// TestCreatePasskey_noTransports: an empty list of transports is stored
// as @auth/core's transports?.join(",") stores it, "", and BE unset is
// "singleDevice"; with none reported the field is left out
// (JSON.stringify drops undefined).
func TestCreatePasskey_noTransports(t *testing.T) {
	e := newEnv(t)
	s := e.open("", "")
	key := fixtureKey1(t)
	p, err := s.CreatePasskey(ctx, store.NewPasskey{CredentialID: []byte{0xfb, 0xff, 0xfe}, PublicKey: key, Counter: 3, Transports: []string{}},
		store.EnrollOptions{CreateUser: &store.NewUser{ID: "u-1", Email: "Ünï <x>@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	pk := base64.StdEncoding.EncodeToString(key)
	want := map[string]string{
		"user:u-1":                       `{"email":"Ünï <x>@example.com","id":"u-1"}`,
		"user:email:Ünï <x>@example.com": "u-1",
		"user:account:passkey:+:+":       `{"providerAccountId":"+//+","provider":"passkey","type":"webauthn","userId":"u-1","id":"passkey:+//+"}`,
		"user:account:by-user-id:u-1":    "user:account:passkey:+//+",
		"authenticator:+:+":              `{"providerAccountId":"+//+","counter":3,"credentialID":"+//+","credentialPublicKey":"` + pk + `","credentialBackedUp":false,"credentialDeviceType":"singleDevice","transports":"","userId":"u-1"}`,
		"authenticator:by-user-id:u-1":   `["+//+"]`,
	}
	diffKeys(t, "passkey with an empty list of transports", want, e.snapshot())
	if p.CredentialID != "+//+" || len(p.Transports) != 0 || p.Transports == nil || p.CredentialDeviceType != "singleDevice" {
		t.Errorf("returned %+v", p)
	}
	if _, err := s.CreatePasskey(ctx, store.NewPasskey{UserID: "u-1", CredentialID: []byte{1, 2, 3}, PublicKey: key, Counter: 0}, store.EnrollOptions{}); err != nil {
		t.Fatal(err)
	}
	got := e.snapshot()["authenticator:AQID"]
	if strings.Contains(got, "transports") {
		t.Errorf("passkey without transports: %s", got)
	}
}
