package ceremony

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/passkeyctl/passkeyctl/internal/ceremony/softauth"
)

// authjsFixture is testdata/authjs-registration-postgres.json (a copy of
// /work/shared/fixtures/): one registration and one sign-in made by a real
// Auth.js, with the rows it wrote and the test-only private key.
type authjsFixture struct {
	RP struct {
		ID, Origin string
	} `json:"rp"`
	Key struct {
		X, Y, D string
	} `json:"testOnlyPrivateKeyJwk"`
	Registration struct {
		Options struct {
			Challenge string `json:"challenge"`
			User      struct {
				ID, Name string
			} `json:"user"`
		} `json:"optionsJSON"`
		Response    json.RawMessage `json:"responseJSON"`
		RowsWritten struct {
			Authenticator []struct {
				CredentialID, UserID, ProviderAccountID, CredentialPublicKey, CredentialDeviceType string
				Counter                                                                            int64
				CredentialBackedUp                                                                 bool
				Transports                                                                         *string
			}
			Account []struct {
				UserID, Type, Provider, ProviderAccountID string
			}
		} `json:"rowsWritten"`
	} `json:"registration"`
	Authentication struct {
		Options struct {
			Challenge string `json:"challenge"`
		} `json:"optionsJSON"`
		Response     json.RawMessage `json:"responseJSON"`
		CounterAfter uint32          `json:"counterAfter"`
	} `json:"authentication"`
}

func loadAuthjsFixture(t *testing.T) authjsFixture {
	t.Helper()
	b, err := os.ReadFile("testdata/authjs-registration-postgres.json")
	if err != nil {
		t.Fatal(err)
	}
	var f authjsFixture
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if f.Registration.RowsWritten.Authenticator[0].CredentialID == "" || f.Key.D == "" {
		t.Fatal("fixture not understood")
	}
	return f
}

// TestFixture_authjs replays the real Auth.js registration through the
// enrolment path and checks that the rows written are byte for byte the
// ones Auth.js wrote; then it verifies Auth.js's real sign-in assertion and
// a fresh one signed with the fixture's key, as `serve --test` would.
func TestFixture_authjs(t *testing.T) {
	f := loadAuthjsFixture(t)
	want := f.Registration.RowsWritten.Authenticator[0]
	wantAcct := f.Registration.RowsWritten.Account[0]
	forEachDialect(t, func(t *testing.T, st *sqlStore) {
		ctx := context.Background()
		addUser(t, st, want.UserID, f.Registration.Options.User.Name)
		far := time.Now().Add(time.Hour)

		// Enrol: Auth.js's options were this session.
		cfg := testConfig(ModeEnroll)
		cfg.User = &User{ID: want.UserID, Email: f.Registration.Options.User.Name}
		cfg.Origins = []string{f.RP.Origin}
		s, err := New(cfg, st)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		handle := []byte(f.Registration.Options.User.ID)
		p := &pending{userHandle: handle, expires: far, session: webauthn.SessionData{
			Challenge:        f.Registration.Options.Challenge,
			RelyingPartyID:   f.RP.ID,
			UserID:           handle,
			UserVerification: protocol.VerificationRequired,
			CredParams:       credentialParameters,
		}}
		res, fail := s.finishEnroll(ctx, p, f.Registration.Response)
		if fail != nil {
			t.Fatalf("enrol the Auth.js registration: %s (%v)", fail.plain, fail.err)
		}
		got := readRow(t, st, want.CredentialID)
		exp := authRow{CredentialID: want.CredentialID, UserID: want.UserID, ProviderAccountID: want.ProviderAccountID, PublicKey: want.CredentialPublicKey,
			DeviceType: want.CredentialDeviceType, Counter: want.Counter, BackedUp: want.CredentialBackedUp, Transports: nullString(want.Transports),
			AccountUserID: wantAcct.UserID, AccountType: wantAcct.Type, AccountProvider: wantAcct.Provider}
		if got != exp {
			t.Fatalf("rows differ from Auth.js's\n got %+v\nwant %+v", got, exp)
		}
		if std(res.CredentialID) != want.CredentialID {
			t.Fatalf("result ID %s", std(res.CredentialID))
		}

		// Auth.js's own sign-in assertion verifies against the row.
		cfg = testConfig(ModeTest)
		cfg.Origins = []string{f.RP.Origin}
		s2, err := New(cfg, st)
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		p = &pending{expires: far, session: webauthn.SessionData{
			Challenge:        f.Authentication.Options.Challenge,
			RelyingPartyID:   f.RP.ID,
			UserVerification: protocol.VerificationRequired,
		}}
		res, fail = s2.finishTest(ctx, p, f.Authentication.Response)
		if fail != nil {
			t.Fatalf("verify the Auth.js assertion: %s (%v)", fail.plain, fail.err)
		}
		if res.Counter != f.Authentication.CounterAfter || readRow(t, st, want.CredentialID).Counter != int64(f.Authentication.CounterAfter) {
			t.Fatalf("counter %d, Auth.js wrote %d", res.Counter, f.Authentication.CounterAfter)
		}

		// A fresh assertion signed with the fixture's key, through the
		// server's own begin and finish.
		a := fixtureAuthenticator(t, f)
		a.Counter = f.Authentication.CounterAfter
		_, opts := s2.begin(ctx, nil)
		optsJSON, _ := json.Marshal(opts)
		answer, err := a.Get(optsJSON)
		if err != nil {
			t.Fatal(err)
		}
		if code, rep := s2.finish(ctx, answer); code != 200 {
			t.Fatalf("fresh assertion: %d %+v", code, rep)
		}
		if c := readRow(t, st, want.CredentialID).Counter; c != int64(f.Authentication.CounterAfter)+1 {
			t.Fatalf("counter %d after the fresh assertion", c)
		}
	})
}

// fixtureAuthenticator is a software authenticator holding the fixture's
// credential and private key.
func fixtureAuthenticator(t *testing.T, f authjsFixture) *softauth.Authenticator {
	t.Helper()
	d, err := base64.RawURLEncoding.DecodeString(f.Key.D)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := base64.StdEncoding.DecodeString(f.Registration.RowsWritten.Authenticator[0].CredentialID)
	a := &softauth.Authenticator{Alg: softauth.ES256, Key: key, CredID: id, Step: 1, BE: true, BS: true, UV: true,
		UserHandle: []byte(f.Registration.Options.User.ID), Origin: f.RP.Origin}
	// The key must be the one whose public half Auth.js stored.
	if std(a.COSEKey()) != f.Registration.RowsWritten.Authenticator[0].CredentialPublicKey {
		t.Fatalf("fixture key mismatch: %s", std(a.COSEKey()))
	}
	return a
}

func nullString(s *string) sql.NullString {
	if s == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: *s, Valid: true}
}
