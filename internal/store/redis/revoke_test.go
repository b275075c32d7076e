package redis_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
	"github.com/passkeyctl/passkeyctl/internal/store/redis"
)

// TestRevoke_fixture revokes the fixture's passkeys one at a time and
// compares all keys before and after: exactly the passkey's keys change.
func TestRevoke_fixture(t *testing.T) {
	f := loadFixture(t)
	e := newEnv(t)
	e.load(f.DefaultOptions.FinalKeys)
	s := e.open("", "")
	l := redis.DefaultLayout()
	uid := f.DefaultOptions.FinalKeys["user:email:fixture@example.com"].Value
	cred1, cred2 := f.CredentialIDs["passkey1"].Base64, f.CredentialIDs["passkey2"].Base64

	// The older passkey: its authenticator and account go, both its
	// entries leave the list; the account pointer names the newer
	// passkey's account and stays; sessions stay.
	before := e.snapshot()
	ps, err := s.ResolveCredentials(ctx, []string{cred1})
	if err != nil {
		t.Fatal(err)
	}
	dry, err := s.Revoke(ctx, ps, store.RevokeOptions{DryRun: true})
	if err != nil || !dry.DryRun || dry.Accounts != 1 || len(dry.Passkeys) != 1 || len(dry.Stranded) != 0 {
		t.Fatalf("dry run: %+v %v", dry, err)
	}
	diffKeys(t, "dry run wrote nothing", before, e.snapshot())
	res, err := s.Revoke(ctx, ps, store.RevokeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Accounts != 1 || res.Sessions != 0 || len(res.Passkeys) != 1 || len(res.Stranded) != 0 || res.DryRun {
		t.Errorf("result %+v", res)
	}
	want := map[string]string{}
	for k, v := range before {
		want[k] = v
	}
	delete(want, l.AuthenticatorKey(cred1))
	delete(want, l.AccountKey("passkey", cred1))
	want[l.AuthenticatorListKey(uid)] = `["` + cred2 + `","` + cred2 + `"]`
	diffKeys(t, "revoke of the older passkey", want, e.snapshot())

	// The last passkey, with its sessions: the list key, the account and
	// its pointer, every session of the user and the session pointer
	// (which names the session the sign-out removed) go; the user and
	// the e-mail key stay. The adapter then finds no passkey: no list,
	// no authenticator, no account.
	ps, err = s.ResolveCredentials(ctx, []string{f.CredentialIDs["passkey2"].Base64URL})
	if err != nil {
		t.Fatal(err)
	}
	dry, err = s.Revoke(ctx, ps, store.RevokeOptions{RevokeSessions: true, DryRun: true})
	if err != nil || dry.Sessions != 3 || len(dry.Stranded) != 1 || dry.Stranded[0].ID != uid {
		t.Errorf("dry run with sessions: %+v %v", dry, err)
	}
	diffKeys(t, "dry run wrote nothing", want, e.snapshot())
	res, err = s.Revoke(ctx, ps, store.RevokeOptions{RevokeSessions: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Accounts != 1 || res.Sessions != 3 || len(res.Stranded) != 1 || res.Stranded[0].ID != uid || res.Stranded[0].Email == nil {
		t.Errorf("result %+v", res)
	}
	want = map[string]string{
		l.UserKey(uid):                    before[l.UserKey(uid)],
		l.EmailKey("fixture@example.com"): uid,
	}
	diffKeys(t, "revoke of the last passkey with its sessions", want, e.snapshot())
	if ids, err := s.UserCredentialIDs(ctx, uid); err != nil || len(ids) != 0 {
		t.Errorf("UserCredentialIDs after revoke: %x %v", ids, err)
	}

	// Revoking it again: nothing there, nothing written.
	_, err = s.Revoke(ctx, ps, store.RevokeOptions{})
	if !errors.Is(err, passkey.ErrNotFound) {
		t.Errorf("second revoke: %v, want ErrNotFound (a revoke that lost the race)", err)
	}
	diffKeys(t, "second revoke wrote nothing", want, e.snapshot())
}

// TestRevoke_othersUntouched: another user's passkey and a passkey whose
// account is someone else's stay as they are.
func TestRevoke_othersUntouched(t *testing.T) {
	e := newEnv(t)
	s := e.open("", "")
	key := fixtureKey1(t)
	var ids [][]byte
	for i, email := range []string{"a@example.com", "b@example.com"} {
		raw := []byte(fmt.Sprintf("credential-%d", i))
		ids = append(ids, raw)
		if _, err := s.CreatePasskey(ctx, store.NewPasskey{CredentialID: raw, PublicKey: key}, store.EnrollOptions{CreateUser: &store.NewUser{Email: email}}); err != nil {
			t.Fatal(err)
		}
	}
	before := e.snapshot()
	p, err := s.GetPasskey(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Revoke(ctx, []passkey.Passkey{p}, store.RevokeOptions{RevokeSessions: true}); err != nil {
		t.Fatal(err)
	}
	l := redis.DefaultLayout()
	cid := passkey.AuthjsCredentialID(ids[0])
	for _, k := range []string{l.AuthenticatorKey(cid), l.AccountKey("passkey", cid), l.AuthenticatorListKey(p.UserID), l.AccountByUserIDKey(p.UserID)} {
		delete(before, k)
	}
	diffKeys(t, "revoke of one user's passkey", before, e.snapshot())
}

// TestRevoke_concurrent: two revocations of the same passkey at once: one
// succeeds, the other is a conflict, and nothing is left half-done.
func TestRevoke_concurrent(t *testing.T) {
	e := newEnv(t)
	s1 := e.open("", "")
	s2 := e.open("", "")
	key := fixtureKey1(t)
	l := redis.DefaultLayout()
	for round := range 20 {
		raw := []byte(fmt.Sprintf("concurrent-%d", round))
		other := []byte(fmt.Sprintf("other-%d", round))
		p, err := s1.CreatePasskey(ctx, store.NewPasskey{CredentialID: raw, PublicKey: key}, store.EnrollOptions{CreateUser: &store.NewUser{Email: fmt.Sprintf("c%d@example.com", round)}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s1.CreatePasskey(ctx, store.NewPasskey{UserID: p.UserID, CredentialID: other, PublicKey: key}, store.EnrollOptions{}); err != nil {
			t.Fatal(err)
		}
		// Both read the passkey before either writes.
		p1, err1 := s1.GetPasskey(ctx, raw)
		p2, err2 := s2.GetPasskey(ctx, raw)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, st := range []*redis.Store{s1, s2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				pk := p1
				if i == 1 {
					pk = p2
				}
				_, errs[i] = st.Revoke(ctx, []passkey.Passkey{pk}, store.RevokeOptions{RevokeSessions: true})
			}()
		}
		wg.Wait()
		ok, conflict := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, passkey.ErrNotFound):
				conflict++ // lost the race
			default:
				t.Errorf("round %d: %v", round, err)
			}
		}
		if ok != 1 || conflict != 1 {
			t.Errorf("round %d: %d succeeded, %d conflicts (%v)", round, ok, conflict, errs)
		}
		snap := e.snapshot()
		cid := passkey.AuthjsCredentialID(raw)
		for _, k := range []string{l.AuthenticatorKey(cid), l.AccountKey("passkey", cid)} {
			if _, ok := snap[k]; ok {
				t.Errorf("round %d: %s left behind", round, k)
			}
		}
		if got, want := snap[l.AuthenticatorListKey(p.UserID)], `["`+passkey.AuthjsCredentialID(other)+`"]`; got != want {
			t.Errorf("round %d: list %s, want %s", round, got, want)
		}
		if _, ok := snap[l.AuthenticatorKey(passkey.AuthjsCredentialID(other))]; !ok {
			t.Errorf("round %d: the other passkey is gone", round)
		}
	}
}

// fixtureKey1 is the fixture's first (test-only) ES256 COSE key.
func fixtureKey1(t *testing.T) []byte {
	t.Helper()
	f := loadFixture(t)
	a, err := parseJSON(f.DefaultOptions.FinalKeys[f.Observations.KeyNormalisation[0].AuthenticatorKey].Value)
	if err != nil {
		t.Fatal(err)
	}
	key, err := base64.StdEncoding.DecodeString(a["credentialPublicKey"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// TestRevoke_accountOfAnotherUser: an account under the passkey's key that
// is another user's stays, as internal/db leaves it.
func TestRevoke_accountOfAnotherUser(t *testing.T) {
	e := newEnv(t)
	s := e.open("", "")
	raw := []byte("shared account")
	p, err := s.CreatePasskey(ctx, store.NewPasskey{CredentialID: raw, PublicKey: fixtureKey1(t)}, store.EnrollOptions{CreateUser: &store.NewUser{Email: "a@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	l := redis.DefaultLayout()
	acctKey := l.AccountKey("passkey", p.CredentialID)
	other := `{"providerAccountId":"` + p.CredentialID + `","provider":"passkey","type":"webauthn","userId":"someone-else","id":"passkey:` + p.CredentialID + `"}`
	e.c.Set(ctx, e.ns+":"+acctKey, other, 0)
	p, err = s.GetPasskey(ctx, raw)
	if err != nil || p.Status != passkey.StatusAccountUserMismatch {
		t.Fatalf("%+v %v", p, err)
	}
	res, err := s.Revoke(ctx, []passkey.Passkey{p}, store.RevokeOptions{})
	if err != nil || res.Accounts != 0 {
		t.Errorf("revoke: %+v %v", res, err)
	}
	snap := e.snapshot()
	if snap[acctKey] != other {
		t.Errorf("another user's account was touched: %q", snap[acctKey])
	}
	// The pointer names that account, which stays: the pointer stays too.
	if snap[l.AccountByUserIDKey(p.UserID)] != l.AccountPointer("passkey", p.CredentialID) {
		t.Errorf("account pointer: %q", snap[l.AccountByUserIDKey(p.UserID)])
	}
}

// TestRevoke_duringSignIns: sign-ins with the user's other passkey keep
// rewriting the list revoke watches; revoke retries and the list ends
// with the other passkey only, never with the revoked one put back.
func TestRevoke_duringSignIns(t *testing.T) {
	e := newEnv(t)
	s := e.open("", "")
	key := fixtureKey1(t)
	l := redis.DefaultLayout()
	for round := range 10 {
		gone, kept := []byte(fmt.Sprintf("gone-%d", round)), []byte(fmt.Sprintf("kept-%d", round))
		p, err := s.CreatePasskey(ctx, store.NewPasskey{CredentialID: gone, PublicKey: key}, store.EnrollOptions{CreateUser: &store.NewUser{Email: fmt.Sprintf("r%d@example.com", round)}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreatePasskey(ctx, store.NewPasskey{UserID: p.UserID, CredentialID: kept, PublicKey: key}, store.EnrollOptions{}); err != nil {
			t.Fatal(err)
		}
		p, _ = s.GetPasskey(ctx, gone)
		stop := make(chan struct{})
		var signIns sync.WaitGroup
		signIns.Add(1)
		go func() {
			defer signIns.Done()
			for n := uint32(1); ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := s.UpdateCounter(ctx, kept, n); err != nil {
					t.Errorf("sign-in: %v", err)
					return
				}
			}
		}()
		_, err = s.Revoke(ctx, []passkey.Passkey{p}, store.RevokeOptions{})
		close(stop)
		signIns.Wait()
		if err != nil {
			t.Fatalf("round %d: revoke during sign-ins: %v", round, err)
		}
		snap := e.snapshot()
		list := snap[l.AuthenticatorListKey(p.UserID)]
		if list == "" || strings.Contains(list, passkey.AuthjsCredentialID(gone)) || !strings.Contains(list, passkey.AuthjsCredentialID(kept)) {
			t.Errorf("round %d: list %s", round, list)
		}
		if _, ok := snap[l.AuthenticatorKey(passkey.AuthjsCredentialID(gone))]; ok {
			t.Errorf("round %d: revoked authenticator is back", round)
		}
		if err := s.UpdateCounter(ctx, gone, 99); !errors.Is(err, passkey.ErrNotFound) {
			t.Errorf("round %d: sign-in with the revoked passkey: %v", round, err)
		}
	}
}
