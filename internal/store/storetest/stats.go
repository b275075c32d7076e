package storetest

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"maps"
	"math/big"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// testStats: Stats counts what was enrolled, by every breakdown. Four
// users: one with an ES256 multi-device passkey and an EdDSA single-device
// one; one with a single-device, not backed-up RS256 passkey (one lost
// device from lock-out); one with a multi-device ES256 passkey; one
// without passkeys. Every status is ok and there are no orphans, on every
// backend; the authenticator is the AAGUID where the app stores one.
func (s *suite) testStats(t *testing.T) {
	st := s.open(t)

	empty, err := st.Stats(ctx)
	if err != nil {
		t.Fatalf("Stats of an empty store: %v", err)
	}
	if empty.Passkeys != 0 || empty.UsersWithPasskeys != 0 || empty.UsersSingleDeviceOnly != 0 || empty.Orphans != 0 ||
		len(empty.ByAuthenticator) != 0 || empty.ByStatus[passkey.StatusOK] != 0 || empty.ByDeviceType[store.DeviceSingle] != 0 {
		t.Errorf("Stats of an empty store: %+v, want zeros", empty)
	}

	aaguid := []byte{0xea, 0x9b, 0x8d, 0x66, 0x4d, 0x01, 0x1d, 0x21, 0x3c, 0xe4, 0xb6, 0xb4, 0x8c, 0xb5, 0x75, 0xd4}
	withAAGUID := func(np store.NewPasskey) store.NewPasskey {
		np.AAGUID = aaguid
		return np
	}
	alice := newPasskey(t, "user-stats-a", 0, true, "internal")
	aliceEd := newPasskey(t, "user-stats-a", 0, false)
	aliceEd.PublicKey = newEdDSAKey(t)
	bob := withAAGUID(newPasskey(t, "user-stats-b", 0, false, "usb"))
	bob.PublicKey = newRS256Key(t)
	carol := withAAGUID(newPasskey(t, "user-stats-c", 0, true))
	enrol(t, st, alice, enrolNewUserOptions("user-stats-a", "alice@example.com"))
	enrol(t, st, aliceEd, enrolOptions())
	stored := enrol(t, st, bob, enrolNewUserOptions("user-stats-b", "bob@example.com"))
	enrol(t, st, carol, enrolNewUserOptions("user-stats-c", "carol@example.com"))
	enrol(t, st, newPasskey(t, "user-stats-d", 0, true), enrolNewUserOptions("user-stats-d", "dave@example.com"))
	// Dave's passkey is revoked: the user stays, without passkeys.
	dave := listAll(t, st, store.ListOptions{UserID: "user-stats-d"})
	if _, err := st.Revoke(ctx, dave, store.RevokeOptions{}); err != nil {
		t.Fatalf("Revoke dave's passkey: %v", err)
	}

	got, err := st.Stats(ctx)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	check := func(what string, got, want int64) {
		t.Helper()
		if got != want {
			t.Errorf("Stats: %s = %d, want %d", what, got, want)
		}
	}
	check("passkeys", got.Passkeys, 4)
	check("usersWithPasskeys", got.UsersWithPasskeys, 3)
	check("usersSingleDeviceOnly", got.UsersSingleDeviceOnly, 1)
	check("orphans", got.Orphans, 0)
	wantMap := func(what string, got, want map[string]int64) {
		t.Helper()
		if !maps.Equal(got, want) {
			t.Errorf("Stats: %s = %v, want %v", what, got, want)
		}
	}
	wantMap("byStatus", got.ByStatus, map[string]int64{passkey.StatusOK: 4, passkey.StatusNoAccount: 0, passkey.StatusAccountUserMismatch: 0, passkey.StatusNoUser: 0})
	wantMap("byAlgorithm", got.ByAlgorithm, map[string]int64{"ES256": 2, "EdDSA": 1, "RS256": 1})
	wantMap("byDeviceType", got.ByDeviceType, map[string]int64{store.DeviceSingle: 2, store.DeviceMulti: 2})
	wantMap("byBackedUp", got.ByBackedUp, map[string]int64{"true": 2, "false": 2})

	// The app that stores the AAGUID shows it as list does; another has
	// one "unknown" bucket.
	want := []store.AuthenticatorCount{{AAGUID: store.Unknown, Passkeys: 4}}
	if stored.AAGUID != nil {
		name := ""
		if stored.Authenticator != nil {
			name = *stored.Authenticator // the name list shows, from the same AAGUID
		}
		want = []store.AuthenticatorCount{{AAGUID: *stored.AAGUID, Name: name, Passkeys: 2}, {AAGUID: store.Unknown, Passkeys: 2}}
	}
	if len(got.ByAuthenticator) != len(want) {
		t.Errorf("Stats: byAuthenticator = %+v, want %+v", got.ByAuthenticator, want)
	} else {
		for i := range want {
			if got.ByAuthenticator[i] != want[i] {
				t.Errorf("Stats: byAuthenticator = %+v, want %+v", got.ByAuthenticator, want)
				break
			}
		}
	}
}

// newEdDSAKey returns a fresh Ed25519 public key as a COSE_Key (kty OKP,
// alg EdDSA, crv Ed25519).
func newEdDSAKey(t *testing.T) []byte {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return coseKey(t, map[int]any{1: 1, 3: -8, -1: 6, -2: []byte(pub)}, "EdDSA")
}

// newRS256Key returns a fresh 2048-bit RSA public key as a COSE_Key (kty
// RSA, alg RS256).
func newRS256Key(t *testing.T) []byte {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	e := big.NewInt(int64(k.PublicKey.E)).Bytes()
	return coseKey(t, map[int]any{1: 3, 3: -257, -1: k.PublicKey.N.Bytes(), -2: e}, "RS256")
}

// coseKey encodes m as authenticators do (deterministic CBOR) and checks
// that list would name its algorithm alg and accept it.
func coseKey(t *testing.T, m map[int]any, alg string) []byte {
	t.Helper()
	enc, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		t.Fatal(err)
	}
	b, err := enc.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := passkey.CheckPublicKey(b); err != nil || got != alg {
		t.Fatalf("generated COSE key: %s, %v; want a valid %s key", got, err, alg)
	}
	return b
}
