package storetest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// enrolTime is the clock of every enrolment and import of the suite.
var enrolTime = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func now() time.Time { return enrolTime }

// enrolOptions are the options of an enrolment for an existing user.
func enrolOptions() store.EnrollOptions {
	return store.EnrollOptions{Now: now, Rand: rand.Reader}
}

// enrolNewUserOptions are the options of an enrolment that creates the
// user (serve --enroll --create-user).
func enrolNewUserOptions(id, email string) store.EnrollOptions {
	o := enrolOptions()
	o.CreateUser = &store.NewUser{ID: id, Email: email}
	return o
}

// importOptions are the options of an import with policy.
func importOptions(policy store.ConflictPolicy, createUsers bool) store.ImportOptions {
	return store.ImportOptions{OnConflict: policy, CreateUsers: createUsers, Now: now, Rand: rand.Reader}
}

// newES256Key returns a fresh P-256 public key as the COSE_Key an
// authenticator reports at registration (kty EC2, alg ES256, crv P-256).
func newES256Key(t *testing.T) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := k.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		t.Fatal(err)
	}
	enc, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		t.Fatal(err)
	}
	cose, err := enc.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: pub[1:33], -3: pub[33:65]})
	if err != nil {
		t.Fatal(err)
	}
	if alg, err := passkey.CheckPublicKey(cose); err != nil || alg != "ES256" {
		t.Fatalf("generated COSE key: %s, %v", alg, err)
	}
	return cose
}

// newCredentialID returns a random raw credential ID of n bytes.
func newCredentialID(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// newPasskey is a verified registration for userID with a fresh key and
// credential ID: counter, BE/BS flags and transports as given.
func newPasskey(t *testing.T, userID string, counter uint32, backupEligible bool, transports ...string) store.NewPasskey {
	t.Helper()
	return store.NewPasskey{
		UserID: userID, CredentialID: newCredentialID(t, 32), PublicKey: newES256Key(t), Counter: counter,
		BackupEligible: backupEligible, BackupState: backupEligible, Transports: transports,
	}
}

// enrol stores p with opts, failing the test on an error.
func enrol(t *testing.T, s store.Store, p store.NewPasskey, opts store.EnrollOptions) passkey.Passkey {
	t.Helper()
	got, err := s.CreatePasskey(context.Background(), p, opts)
	if err != nil {
		t.Fatalf("CreatePasskey(%s for user %q): %v", passkey.Base64URL(p.CredentialID), p.UserID, err)
	}
	return got
}

// listAll returns every passkey ListPasskeys gives for opts.
func listAll(t *testing.T, s store.Store, opts store.ListOptions) []passkey.Passkey {
	t.Helper()
	var out []passkey.Passkey
	if err := s.ListPasskeys(context.Background(), opts, func(p passkey.Passkey) error {
		out = append(out, p)
		return nil
	}); err != nil {
		t.Fatalf("ListPasskeys(%+v): %v", opts, err)
	}
	return out
}

// listOrphans returns every orphan ListOrphans gives. A store whose app
// keeps no account per passkey (Describe().Accounts false: Better Auth)
// can have no orphans, and may refuse the question with ErrInvalid.
func listOrphans(t *testing.T, s store.Store) []store.Orphan {
	t.Helper()
	var out []store.Orphan
	err := s.ListOrphans(context.Background(), store.ListOptions{}, func(o store.Orphan) error {
		out = append(out, o)
		return nil
	})
	if err != nil && !(errors.Is(err, passkey.ErrInvalid) && !s.Describe().Accounts) {
		t.Fatalf("ListOrphans: %v", err)
	}
	return out
}

// exportAll returns every record Export gives for opts and the same
// records as the JSON Lines an export file holds.
func exportAll(t *testing.T, s store.Store, opts store.ExportOptions) ([]passkey.ExportRecord, []byte) {
	t.Helper()
	var recs []passkey.ExportRecord
	var buf bytes.Buffer
	w := passkey.NewExportWriter(&buf)
	if err := s.Export(context.Background(), opts, func(r passkey.ExportRecord) error {
		recs = append(recs, r)
		return w.Write(r)
	}); err != nil {
		t.Fatalf("Export(%+v): %v", opts, err)
	}
	return recs, buf.Bytes()
}

// encodeRecords writes recs in the export format.
func encodeRecords(t *testing.T, recs []passkey.ExportRecord) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := passkey.NewExportWriter(&buf)
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// state is everything the store's interface shows of its passkeys: the
// listing and the export, one JSON line per passkey, sorted. Two equal
// states mean nothing a command can see has changed.
func state(t *testing.T, s store.Store) string {
	t.Helper()
	var lines []string
	for _, p := range listAll(t, s, store.ListOptions{}) {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, "list "+string(b))
	}
	recs, _ := exportAll(t, s, store.ExportOptions{})
	for _, r := range recs {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, "export "+string(b))
	}
	for _, o := range listOrphans(t, s) {
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, "orphan "+string(b))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// rawID decodes a stored or exported credential ID.
func rawID(t *testing.T, id string) []byte {
	t.Helper()
	raw, err := passkey.DecodeBase64(id)
	if err != nil || len(raw) == 0 {
		t.Fatalf("credential ID %q does not decode as base64: %v", id, err)
	}
	return raw
}

// deref is *s, or "<nil>".
func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
