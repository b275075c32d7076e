package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

var ctx = context.Background()

// wantPasskey checks what GetPasskey, ListPasskeys or ResolveCredentials
// said of the passkey registered as np for the user with this e-mail.
func wantPasskey(t *testing.T, what string, s store.Store, got passkey.Passkey, np store.NewPasskey, email string) {
	t.Helper()
	wantType := "singleDevice"
	if np.BackupEligible {
		wantType = "multiDevice"
	}
	if enc := s.Describe().EncodeID; enc != nil && got.CredentialID != enc(np.CredentialID) {
		t.Errorf("%s: CredentialID %q, want %q (Describe().EncodeID of the raw ID)", what, got.CredentialID, enc(np.CredentialID))
	}
	if got.Status != passkey.StatusOK {
		t.Errorf("%s: Status %q, want %q", what, got.Status, passkey.StatusOK)
	}
	if got.UserID != np.UserID {
		t.Errorf("%s: UserID %q, want %q", what, got.UserID, np.UserID)
	}
	if deref(got.Email) != email {
		t.Errorf("%s: Email %s, want %s", what, deref(got.Email), email)
	}
	if got.Counter != int64(np.Counter) {
		t.Errorf("%s: Counter %d, want %d", what, got.Counter, np.Counter)
	}
	if got.CredentialDeviceType != wantType {
		t.Errorf("%s: CredentialDeviceType %q, want %q (BackupEligible %v)", what, got.CredentialDeviceType, wantType, np.BackupEligible)
	}
	if got.CredentialBackedUp != np.BackupState {
		t.Errorf("%s: CredentialBackedUp %v, want %v", what, got.CredentialBackedUp, np.BackupState)
	}
	if !slices.Equal(got.Transports, np.Transports) && (len(got.Transports) != 0 || len(np.Transports) != 0) {
		t.Errorf("%s: Transports %q, want %q", what, got.Transports, np.Transports)
	}
	if got.Algorithm != "ES256" {
		t.Errorf("%s: Algorithm %q, want ES256", what, got.Algorithm)
	}
}

// getPasskey is GetPasskey, failing the test on an error.
func getPasskey(t *testing.T, s store.Store, raw []byte) passkey.Passkey {
	t.Helper()
	p, err := s.GetPasskey(ctx, raw)
	if err != nil {
		t.Fatalf("GetPasskey(%s): %v", passkey.Base64URL(raw), err)
	}
	return p
}

// wantErr checks that err wraps want.
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want one wrapping %q", what, err, want)
	}
}

// testDescribeAndReady: a fresh store is ready for reading and enrolling,
// describes itself fully, and its EncodeID writes IDs as GetPasskey
// returns them.
func (s *suite) testDescribeAndReady(t *testing.T) {
	st := s.open(t)
	if err := st.Ready(store.ForReading); err != nil {
		t.Errorf("Ready(ForReading) on a fresh store: %v", err)
	}
	if err := st.Ready(store.ForEnrolling); err != nil {
		t.Errorf("Ready(ForEnrolling) on a fresh store: %v", err)
	}
	d := st.Describe()
	for _, f := range []struct{ name, value string }{
		{"ID", d.ID}, {"Name", d.Name}, {"Label", d.Label}, {"Where", d.Where}, {"Record", d.Record},
		{"Location", d.Location}, {"DeviceTypeField", d.DeviceTypeField},
	} {
		if strings.TrimSpace(f.value) == "" {
			t.Errorf("Describe().%s is empty", f.name)
		}
	}
	if d.ID != "authjs" && d.ID != "better-auth" {
		t.Errorf("Describe().ID %q: want authjs or better-auth", d.ID)
	}
	if d.EncodeID == nil {
		t.Fatal("Describe().EncodeID is nil")
	}
	// An ID with the bytes that base64 and base64url write differently.
	np := newPasskey(t, "user-describe", 0, true, "internal")
	np.CredentialID = append([]byte{0xfb, 0xff, 0xbf}, np.CredentialID...)
	p := enrol(t, st, np, enrolNewUserOptions("user-describe", "describe@example.com"))
	if enc := d.EncodeID(np.CredentialID); p.CredentialID != enc {
		t.Errorf("CreatePasskey returned CredentialID %q; Describe().EncodeID gives %q", p.CredentialID, enc)
	}
	if got := getPasskey(t, st, np.CredentialID); got.CredentialID != d.EncodeID(np.CredentialID) {
		t.Errorf("GetPasskey's CredentialID %q; Describe().EncodeID gives %q", got.CredentialID, d.EncodeID(np.CredentialID))
	}
}

// testEnrol: a passkey enrolled with a new user reads back as registered,
// by every lookup; a second one for the existing user too; one for a
// user that does not exist is refused with ErrNotFound.
func (s *suite) testEnrol(t *testing.T) {
	st := s.open(t)
	const uid, email = "user-enrol", "alice@example.com"
	if _, err := st.FindUser(ctx, email); !errors.Is(err, passkey.ErrNotFound) {
		t.Errorf("FindUser(%s) before the enrolment: %v, want ErrNotFound", email, err)
	}

	np1 := newPasskey(t, uid, 7, true, "hybrid", "internal")
	p := enrol(t, st, np1, enrolNewUserOptions(uid, email))
	wantPasskey(t, "CreatePasskey's result", st, p, np1, email)
	wantPasskey(t, "GetPasskey", st, getPasskey(t, st, np1.CredentialID), np1, email)
	if l := listAll(t, st, store.ListOptions{}); len(l) != 1 {
		t.Fatalf("ListPasskeys after one enrolment: %d passkeys, want 1", len(l))
	} else {
		wantPasskey(t, "ListPasskeys", st, l[0], np1, email)
	}
	if o := listOrphans(t, st); len(o) != 0 {
		t.Errorf("ListOrphans after an enrolment: %+v, want none", o)
	}

	for _, ref := range []string{uid, email, strings.ToUpper(email)} {
		u, err := st.FindUser(ctx, ref)
		if err != nil {
			t.Errorf("FindUser(%q): %v", ref, err)
			continue
		}
		if u.ID != uid || deref(u.Email) != email {
			t.Errorf("FindUser(%q) = id %q e-mail %s, want %q %s", ref, u.ID, deref(u.Email), uid, email)
		}
	}
	if err := st.CheckEnroll(ctx, uid, false); err != nil {
		t.Errorf("CheckEnroll(existing user %q): %v", uid, err)
	}

	// A second passkey of the existing user: single-device, no transports.
	np2 := newPasskey(t, uid, 0, false)
	wantPasskey(t, "second passkey's GetPasskey", st, enrol(t, st, np2, enrolOptions()), np2, email)
	ids, err := st.UserCredentialIDs(ctx, uid)
	if err != nil {
		t.Fatalf("UserCredentialIDs(%q): %v", uid, err)
	}
	want := [][]byte{np1.CredentialID, np2.CredentialID}
	slices.SortFunc(ids, bytes.Compare)
	slices.SortFunc(want, bytes.Compare)
	if !slices.EqualFunc(ids, want, bytes.Equal) {
		t.Errorf("UserCredentialIDs(%q) = %d IDs %x, want %x", uid, len(ids), ids, want)
	}
	if l := listAll(t, st, store.ListOptions{}); len(l) != 2 {
		t.Errorf("ListPasskeys after two enrolments: %d passkeys, want 2", len(l))
	}

	nu, err := st.NewUser("Bob.Smith@Example.COM", enrolTime, rand.Reader)
	if err != nil {
		t.Fatalf("NewUser: %v", err)
	}
	if deref(nu.Email) != "bob.smith@example.com" || nu.ID == "" {
		t.Errorf("NewUser(Bob.Smith@Example.COM) = id %q e-mail %s, want a new id and bob.smith@example.com", nu.ID, deref(nu.Email))
	}
	if err := st.CheckEnroll(ctx, nu.ID, true); err != nil {
		t.Errorf("CheckEnroll(new user %q): %v", nu.ID, err)
	}

	before := state(t, st)
	missing := newPasskey(t, "user-that-does-not-exist", 0, true)
	_, err = st.CreatePasskey(ctx, missing, enrolOptions())
	wantErr(t, "CreatePasskey for a user that does not exist", err, passkey.ErrNotFound)
	if _, err := st.GetPasskey(ctx, missing.CredentialID); !errors.Is(err, passkey.ErrNotFound) {
		t.Errorf("GetPasskey of the refused passkey: %v, want ErrNotFound", err)
	}
	if after := state(t, st); after != before {
		t.Errorf("a refused enrolment changed the store:\nbefore %s\nafter  %s", before, after)
	}
}

// testDuplicateCredential: a credential ID already stored is refused with
// ErrConflict, for the same user or with a new one, and nothing changes
// (in particular the new user is not created).
func (s *suite) testDuplicateCredential(t *testing.T) {
	st := s.open(t)
	np := newPasskey(t, "user-dup", 3, true, "usb")
	enrol(t, st, np, enrolNewUserOptions("user-dup", "dup@example.com"))
	before := state(t, st)

	again := newPasskey(t, "user-dup", 9, false, "nfc")
	again.CredentialID = np.CredentialID
	_, err := st.CreatePasskey(ctx, again, enrolOptions())
	wantErr(t, "CreatePasskey of a stored credential ID for its user", err, passkey.ErrConflict)

	again.UserID = "user-dup-new"
	_, err = st.CreatePasskey(ctx, again, enrolNewUserOptions("user-dup-new", "dup-new@example.com"))
	wantErr(t, "CreatePasskey of a stored credential ID with a new user", err, passkey.ErrConflict)
	if _, err := st.FindUser(ctx, "dup-new@example.com"); !errors.Is(err, passkey.ErrNotFound) {
		t.Errorf("the refused enrolment's new user: FindUser gives %v, want ErrNotFound", err)
	}
	if after := state(t, st); after != before {
		t.Errorf("a refused duplicate changed the store:\nbefore %s\nafter  %s", before, after)
	}
	wantPasskey(t, "GetPasskey after the refused duplicates", st, getPasskey(t, st, np.CredentialID), np, "dup@example.com")
}

// testRename: an app that stores passkey names (Describe().Named) takes a
// name at enrolment and a new one with Rename, which returns the passkey
// before and after; the others refuse both (ErrNoPasskeyName) and change
// nothing.
func (s *suite) testRename(t *testing.T) {
	st := s.open(t)
	np := newPasskey(t, "user-name", 1, true, "internal")
	name := "Alice's laptop"
	np.Name = &name
	if !st.Describe().Named {
		_, err := st.CreatePasskey(ctx, np, enrolNewUserOptions("user-name", "name@example.com"))
		wantErr(t, "CreatePasskey with a name", err, passkey.ErrNoPasskeyName)
		np.Name = nil
		enrol(t, st, np, enrolNewUserOptions("user-name", "name@example.com"))
		before := state(t, st)
		_, _, err = st.Rename(ctx, np.CredentialID, "YubiKey")
		wantErr(t, "Rename", err, passkey.ErrNoPasskeyName)
		if after := state(t, st); after != before {
			t.Errorf("a refused rename changed the store:\nbefore %s\nafter  %s", before, after)
		}
		return
	}
	enrol(t, st, np, enrolNewUserOptions("user-name", "name@example.com"))
	if p := getPasskey(t, st, np.CredentialID); p.Name == nil || *p.Name != name {
		t.Fatalf("enrolled with a name: GetPasskey's name %v", p.Name)
	}
	before, after, err := st.Rename(ctx, np.CredentialID, "YubiKey 5")
	if err != nil {
		t.Fatalf("Rename: %v", err)
	}
	if before.Name == nil || *before.Name != name || after.Name == nil || *after.Name != "YubiKey 5" || after.CredentialID != before.CredentialID {
		t.Errorf("Rename returned before %v, after %v", before.Name, after.Name)
	}
	if p := getPasskey(t, st, np.CredentialID); p.Name == nil || *p.Name != "YubiKey 5" || p.Counter != 1 {
		t.Errorf("after Rename: GetPasskey's name %v, counter %d", p.Name, p.Counter)
	}
	_, _, err = st.Rename(ctx, []byte("no such credential"), "x")
	wantErr(t, "Rename of an unknown credential", err, passkey.ErrNotFound)
}

// testCounter: UpdateCounter is what GetPasskey then reads, up to the
// largest value a 32-bit signed column holds; above it the store either
// keeps the value or refuses it as a schema limit (ErrSchemaNotReady), as
// it refuses any value it cannot store; an unknown credential is
// ErrNotFound.
func (s *suite) testCounter(t *testing.T) {
	st := s.open(t)
	np := newPasskey(t, "user-counter", 1, true, "internal")
	enrol(t, st, np, enrolNewUserOptions("user-counter", "counter@example.com"))
	s.run(t, "update", func(t *testing.T) {
		for _, c := range []uint32{42, 42, 0, 1<<31 - 1} {
			if err := st.UpdateCounter(ctx, np.CredentialID, c); err != nil {
				t.Fatalf("UpdateCounter(%d): %v", c, err)
			}
			if got := getPasskey(t, st, np.CredentialID); got.Counter != int64(c) {
				t.Errorf("GetPasskey after UpdateCounter(%d): counter %d", c, got.Counter)
			}
		}
	})
	s.run(t, "above-int32", func(t *testing.T) {
		const c = 1<<32 - 1
		err := st.UpdateCounter(ctx, np.CredentialID, c)
		switch {
		case err == nil:
			if got := getPasskey(t, st, np.CredentialID); got.Counter != c {
				t.Errorf("GetPasskey after UpdateCounter(%d): counter %d", uint32(c), got.Counter)
			}
		case !errors.Is(err, passkey.ErrSchemaNotReady):
			t.Errorf("UpdateCounter(%d): %v; want success or an error wrapping %q (a schema limit)", uint32(c), err, passkey.ErrSchemaNotReady)
		}
		big := newPasskey(t, "user-counter", c, true, "internal")
		if _, err := st.CreatePasskey(ctx, big, enrolOptions()); err == nil {
			if got := getPasskey(t, st, big.CredentialID); got.Counter != c {
				t.Errorf("GetPasskey of a passkey enrolled with counter %d: counter %d", uint32(c), got.Counter)
			}
		} else if !errors.Is(err, passkey.ErrSchemaNotReady) {
			t.Errorf("CreatePasskey with counter %d: %v; want success or an error wrapping %q (a schema limit)", uint32(c), err, passkey.ErrSchemaNotReady)
		}
	})
	s.run(t, "unknown", func(t *testing.T) {
		unknown := newCredentialID(t, 32)
		wantErr(t, "UpdateCounter of an unknown credential", st.UpdateCounter(ctx, unknown, 5), passkey.ErrNotFound)
		_, err := st.GetPasskey(ctx, unknown)
		wantErr(t, "GetPasskey of an unknown credential", err, passkey.ErrNotFound)
		// The stored ID with its letters' case swapped is another
		// credential, whatever the column's collation.
		before := getPasskey(t, st, np.CredentialID)
		other := rawID(t, swapCase(before.CredentialID))
		wantErr(t, "UpdateCounter of the raw ID whose stored form is the other case", st.UpdateCounter(ctx, other, 99), passkey.ErrNotFound)
		if got := getPasskey(t, st, np.CredentialID); got.Counter != before.Counter {
			t.Errorf("UpdateCounter of the ID in the other case changed this passkey's counter from %d to %d", before.Counter, got.Counter)
		}
	})
}

// credentialIDStartingWith returns a raw 33-byte credential ID whose
// base64 (and base64url: letters and digits only) starts with prefix.
func credentialIDStartingWith(t *testing.T, prefix string) []byte {
	t.Helper()
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := []byte(prefix)
	r := newCredentialID(t, 44)
	for len(b) < 44 {
		b = append(b, alnum[int(r[len(b)])%len(alnum)])
	}
	raw, err := base64.StdEncoding.DecodeString(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// testOrderAndLimit: ListPasskeys orders by user id then credential ID
// as stored (byte order: digits, then upper case, then lower case), and
// Limit and UserID (compared byte-exactly) select from that order.
func (s *suite) testOrderAndLimit(t *testing.T) {
	st := s.open(t)
	users := []string{"user-b", "user-a", "user-c"} // created out of order
	type enrolled struct {
		np    store.NewPasskey
		email string
	}
	var all []enrolled
	for i, u := range users {
		email := u + "@example.com"
		// Stored IDs whose byte order differs from a case-insensitive one.
		for j, prefix := range []string{"bq", "Bq", "0q"} {
			np := newPasskey(t, u, uint32(10*i+j), j%2 == 0, "internal")
			np.CredentialID = credentialIDStartingWith(t, prefix)
			opts := enrolOptions()
			if j == 0 {
				opts = enrolNewUserOptions(u, email)
			}
			enrol(t, st, np, opts)
			all = append(all, enrolled{np, email})
		}
	}
	enc := st.Describe().EncodeID
	slices.SortFunc(all, func(a, b enrolled) int {
		if c := strings.Compare(a.np.UserID, b.np.UserID); c != 0 {
			return c
		}
		return strings.Compare(enc(a.np.CredentialID), enc(b.np.CredentialID))
	})
	order := func(ps []passkey.Passkey) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.UserID+" "+p.CredentialID)
		}
		return out
	}
	want := func(es []enrolled) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.np.UserID+" "+enc(e.np.CredentialID))
		}
		return out
	}

	got := listAll(t, st, store.ListOptions{})
	if !slices.Equal(order(got), want(all)) {
		t.Errorf("ListPasskeys order:\n got %q\nwant %q", order(got), want(all))
	} else {
		for i, p := range got {
			wantPasskey(t, "ListPasskeys", st, p, all[i].np, all[i].email)
		}
	}
	if got := listAll(t, st, store.ListOptions{Limit: 4}); !slices.Equal(order(got), want(all[:4])) {
		t.Errorf("ListPasskeys Limit 4:\n got %q\nwant %q", order(got), want(all[:4]))
	}
	var userB []enrolled
	for _, e := range all {
		if e.np.UserID == "user-b" {
			userB = append(userB, e)
		}
	}
	if got := listAll(t, st, store.ListOptions{UserID: "user-b"}); !slices.Equal(order(got), want(userB)) {
		t.Errorf("ListPasskeys UserID user-b:\n got %q\nwant %q", order(got), want(userB))
	}
	if got := listAll(t, st, store.ListOptions{UserID: "user-b", Limit: 2}); !slices.Equal(order(got), want(userB[:2])) {
		t.Errorf("ListPasskeys UserID user-b Limit 2:\n got %q\nwant %q", order(got), want(userB[:2]))
	}
	if got := listAll(t, st, store.ListOptions{UserID: "USER-B"}); len(got) != 0 {
		t.Errorf("ListPasskeys UserID USER-B (compared byte-exactly): %q, want none", order(got))
	}
	if got := listAll(t, st, store.ListOptions{UserID: "user-nobody"}); len(got) != 0 {
		t.Errorf("ListPasskeys UserID of nobody: %q, want none", order(got))
	}
}

// testResolve: ResolveCredentials finds a passkey by each form of its ID
// an operator may give; an unknown ID is ErrNotFound and no passkeys.
func (s *suite) testResolve(t *testing.T) {
	st := s.open(t)
	var nps []store.NewPasskey
	for i := range 2 {
		np := newPasskey(t, "user-resolve", uint32(i), true, "hybrid")
		// "+///" as base64, "-___" as base64url: the forms differ.
		np.CredentialID = append([]byte{0xfb, 0xff, 0xff}, np.CredentialID...)
		opts := enrolOptions()
		if i == 0 {
			opts = enrolNewUserOptions("user-resolve", "resolve@example.com")
		}
		enrol(t, st, np, opts)
		nps = append(nps, np)
	}
	np := nps[0]
	stored := getPasskey(t, st, np.CredentialID).CredentialID
	url := passkey.Base64URL(np.CredentialID)
	resolves := func(t *testing.T, ids ...string) {
		t.Helper()
		ps, err := st.ResolveCredentials(ctx, ids)
		if err != nil {
			t.Fatalf("ResolveCredentials(%q): %v", ids, err)
		}
		if len(ps) != 1 {
			t.Fatalf("ResolveCredentials(%q): %d passkeys, want 1", ids, len(ps))
		}
		wantPasskey(t, "ResolveCredentials", st, ps[0], np, "resolve@example.com")
	}
	s.run(t, "as-stored", func(t *testing.T) { resolves(t, stored) })
	s.run(t, "base64url", func(t *testing.T) { resolves(t, url) })
	s.run(t, "base64-padded", func(t *testing.T) { resolves(t, base64.StdEncoding.EncodeToString(np.CredentialID)) })
	s.run(t, "hex", func(t *testing.T) { resolves(t, "hex:"+hex.EncodeToString(np.CredentialID)) })
	s.run(t, "same-twice", func(t *testing.T) { resolves(t, stored, url) })
	s.run(t, "prefix", func(t *testing.T) { resolves(t, stored[:10]) })
	s.run(t, "prefix-base64url", func(t *testing.T) { resolves(t, url[:10]) })
	s.run(t, "prefix-ellipsis", func(t *testing.T) { resolves(t, stored[:10]+"…") })
	s.run(t, "other-case", func(t *testing.T) {
		// The stored ID with its letters' case swapped is another
		// credential: only a byte-exact match counts, whatever the
		// column's collation.
		swapped := swapCase(stored)
		ps, err := st.ResolveCredentials(ctx, []string{swapped})
		wantErr(t, "ResolveCredentials of the stored ID in the other case", err, passkey.ErrNotFound)
		if len(ps) != 0 {
			t.Errorf("ResolveCredentials(%q) found %d passkeys, want none", swapped, len(ps))
		}
		_, err = st.GetPasskey(ctx, rawID(t, swapped))
		wantErr(t, "GetPasskey of the raw ID whose stored form is the other case", err, passkey.ErrNotFound)
	})
	s.run(t, "several", func(t *testing.T) {
		ps, err := st.ResolveCredentials(ctx, []string{stored, passkey.Base64URL(nps[1].CredentialID)})
		if err != nil || len(ps) != 2 {
			t.Fatalf("ResolveCredentials of both: %d passkeys, %v; want 2", len(ps), err)
		}
	})
	s.run(t, "unknown", func(t *testing.T) {
		unknown := passkey.Base64URL(newCredentialID(t, 32))
		for _, ids := range [][]string{{unknown}, {stored, unknown}} {
			ps, err := st.ResolveCredentials(ctx, ids)
			wantErr(t, "ResolveCredentials with an unknown ID", err, passkey.ErrNotFound)
			if len(ps) != 0 {
				t.Errorf("ResolveCredentials(%q) with an unknown ID returned %d passkeys, want none", ids, len(ps))
			}
		}
	})
	s.run(t, "unknown-prefix", func(t *testing.T) {
		ps, err := st.ResolveCredentials(ctx, []string{"zzzzzzzzzz…"})
		wantErr(t, "ResolveCredentials of a prefix nothing starts with", err, passkey.ErrNotFound)
		if len(ps) != 0 {
			t.Errorf("ResolveCredentials of a prefix nothing starts with returned %d passkeys", len(ps))
		}
	})
}

// testRevoke: a dry run changes nothing; a revoke hands the backup one
// record per passkey (RevokedAt set) before deleting, then the passkey is
// gone everywhere, without orphans; importing the backup restores it with
// its counter, and importing it again skips it.
func (s *suite) testRevoke(t *testing.T) {
	st := s.open(t)
	gone := newPasskey(t, "user-revoke", 5, true, "hybrid", "internal")
	enrol(t, st, gone, enrolNewUserOptions("user-revoke", "revoke@example.com"))
	kept := newPasskey(t, "user-keep", 8, false, "usb")
	enrol(t, st, kept, enrolNewUserOptions("user-keep", "keep@example.com"))
	ps, err := st.ResolveCredentials(ctx, []string{passkey.Base64URL(gone.CredentialID)})
	if err != nil || len(ps) != 1 {
		t.Fatalf("ResolveCredentials: %d passkeys, %v", len(ps), err)
	}
	revokedAt := time.Date(2026, 4, 5, 6, 7, 8, 0, time.UTC)
	clock := func() time.Time { return revokedAt }
	// What revoke --backup saves, read before the revoke: the restore
	// below falls back on it when Backup received nothing.
	saved, _ := exportAll(t, st, store.ExportOptions{CredentialIDs: [][]byte{gone.CredentialID}})
	if len(saved) != 1 {
		t.Fatalf("Export of the passkey to revoke: %d records, want 1", len(saved))
	}

	s.run(t, "dry-run", func(t *testing.T) {
		before := state(t, st)
		res, err := st.Revoke(ctx, ps, store.RevokeOptions{DryRun: true, Now: clock})
		if err != nil {
			t.Fatalf("Revoke DryRun: %v", err)
		}
		if !res.DryRun || len(res.Passkeys) != 1 {
			t.Errorf("Revoke DryRun result: DryRun %v, %d passkeys; want true, 1", res.DryRun, len(res.Passkeys))
		}
		if after := state(t, st); after != before {
			t.Errorf("Revoke DryRun changed the store:\nbefore %s\nafter  %s", before, after)
		}
	})

	var backup []passkey.ExportRecord
	var presentAtBackup []bool
	res, err := st.Revoke(ctx, ps, store.RevokeOptions{Now: clock, Backup: func(recs []passkey.ExportRecord) error {
		backup = append(backup[:0], recs...)
		presentAtBackup = presentAtBackup[:0]
		// Read on another connection, with a deadline: the revoke holds
		// its locks until the backup returns.
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		for _, r := range recs {
			_, err := st.GetPasskey(rctx, rawID(t, r.CredentialID))
			presentAtBackup = append(presentAtBackup, err == nil)
		}
		return nil
	}})
	if err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if res.DryRun || len(res.Passkeys) != 1 {
		t.Errorf("Revoke result: DryRun %v, %d passkeys; want false, 1", res.DryRun, len(res.Passkeys))
	}
	s.run(t, "stranded", func(t *testing.T) {
		// The user enrolled by passkeyctl has no other account.
		if len(res.Stranded) != 1 || res.Stranded[0].ID != "user-revoke" {
			t.Errorf("Revoke result: Stranded %+v, want user-revoke alone (left with no passkey and no account)", res.Stranded)
		}
	})

	s.run(t, "backup", func(t *testing.T) {
		if len(backup) != 1 {
			t.Fatalf("Revoke's Backup received %d records, want 1 (revoke --backup would save nothing)", len(backup))
		}
		r := backup[0]
		if !bytes.Equal(rawID(t, r.CredentialID), gone.CredentialID) || r.Counter != 5 || r.Status != passkey.StatusOK ||
			r.DeviceType != "multiDevice" || deref(r.User.Email) != "revoke@example.com" || r.User.ID != "user-revoke" {
			t.Errorf("backup record %+v: want credential %s, counter 5, status ok, multiDevice, user user-revoke <revoke@example.com>", r, passkey.Base64URL(gone.CredentialID))
		}
		if r.RevokedAt == nil {
			t.Errorf("backup record has no RevokedAt")
		} else if at, err := time.Parse(time.RFC3339Nano, *r.RevokedAt); err != nil || !at.Equal(revokedAt) {
			t.Errorf("backup record RevokedAt %q, want %s", *r.RevokedAt, revokedAt.Format(time.RFC3339))
		}
		if slices.Contains(presentAtBackup, false) {
			t.Errorf("the passkey was already gone when Backup was called (GetPasskey from another connection)")
		}
	})

	s.run(t, "gone", func(t *testing.T) {
		if _, err := st.GetPasskey(ctx, gone.CredentialID); !errors.Is(err, passkey.ErrNotFound) {
			t.Errorf("GetPasskey of the revoked passkey: %v, want ErrNotFound", err)
		}
		if l := listAll(t, st, store.ListOptions{UserID: "user-revoke"}); len(l) != 0 {
			t.Errorf("ListPasskeys of the revoked user: %d passkeys, want none", len(l))
		}
		if l := listAll(t, st, store.ListOptions{}); len(l) != 1 || l[0].UserID != "user-keep" {
			t.Errorf("ListPasskeys after the revoke: %d passkeys, want only user-keep's", len(l))
		}
		if o := listOrphans(t, st); len(o) != 0 {
			t.Errorf("ListOrphans after the revoke: %+v, want none", o)
		}
		if ids, err := st.UserCredentialIDs(ctx, "user-revoke"); err != nil || len(ids) != 0 {
			t.Errorf("UserCredentialIDs of the revoked user: %x, %v; want none", ids, err)
		}
		wantPasskey(t, "GetPasskey of the passkey kept", st, getPasskey(t, st, kept.CredentialID), kept, "keep@example.com")
	})

	recs := backup
	if len(recs) != 1 {
		at := revokedAt.Format(time.RFC3339)
		saved[0].RevokedAt = &at
		recs = saved
		t.Logf("Backup received %d records: restoring from the export taken before the revoke, with RevokedAt", len(backup))
	}
	s.run(t, "restore", func(t *testing.T) {
		ires, err := st.Import(ctx, bytes.NewReader(encodeRecords(t, recs)), importOptions(store.ConflictFail, false))
		if err != nil {
			t.Fatalf("Import of the revoke backup: %v", err)
		}
		if ires.Read != 1 || ires.Inserted != 1 {
			t.Errorf("Import of the revoke backup: read %d inserted %d, want 1 and 1", ires.Read, ires.Inserted)
		}
		wantPasskey(t, "GetPasskey of the restored passkey", st, getPasskey(t, st, gone.CredentialID), gone, "revoke@example.com")
		if o := listOrphans(t, st); len(o) != 0 {
			t.Errorf("ListOrphans after the restore: %+v, want none", o)
		}
	})
	// The backup of a passkey the store holds again is an undo not
	// needed: skipped, not a conflict.
	s.run(t, "restore-again-skips", func(t *testing.T) {
		if _, err := st.GetPasskey(ctx, gone.CredentialID); err != nil {
			t.Fatalf("the passkey was not restored: %v", err)
		}
		restored := state(t, st)
		ires, err := st.Import(ctx, bytes.NewReader(encodeRecords(t, recs)), importOptions(store.ConflictFail, false))
		if err != nil {
			t.Fatalf("Import of the revoke backup a second time: %v", err)
		}
		if ires.Skipped != 1 || ires.Inserted != 0 {
			t.Errorf("Import of the revoke backup a second time: skipped %d inserted %d, want 1 and 0", ires.Skipped, ires.Inserted)
		}
		if after := state(t, st); after != restored {
			t.Errorf("a second import of the backup changed the store:\nbefore %s\nafter  %s", restored, after)
		}
	})
}

// testRevokeCredentials: RevokeCredentials (revoke --yes and --dry-run)
// reads IDs as ResolveCredentials does, in the order given and once each,
// prefixes too; an unknown ID among them revokes nothing and backs
// nothing up; a revoke tells which users are left without a passkey.
func (s *suite) testRevokeCredentials(t *testing.T) {
	st := s.open(t)
	a1 := newPasskey(t, "user-a", 1, true, "hybrid")
	enrol(t, st, a1, enrolNewUserOptions("user-a", "a@example.com"))
	a2 := newPasskey(t, "user-a", 2, false, "usb")
	enrol(t, st, a2, enrolOptions())
	b1 := newPasskey(t, "user-b", 3, true, "internal")
	enrol(t, st, b1, enrolNewUserOptions("user-b", "b@example.com"))
	ids := func(ps []passkey.Passkey) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.CredentialID)
		}
		return out
	}
	stored := func(np store.NewPasskey) string { return getPasskey(t, st, np.CredentialID).CredentialID }
	forms := []string{passkey.Base64URL(b1.CredentialID), "hex:" + hex.EncodeToString(a1.CredentialID), stored(b1)}
	want := []string{stored(b1), stored(a1)}
	noBackup := func([]passkey.ExportRecord) error {
		t.Errorf("Backup called by a revoke that does not happen")
		return nil
	}

	s.run(t, "dry-run", func(t *testing.T) {
		before := state(t, st)
		res, err := st.RevokeCredentials(ctx, forms, store.RevokeOptions{DryRun: true})
		if err != nil {
			t.Fatalf("RevokeCredentials DryRun: %v", err)
		}
		if got := ids(res.Passkeys); !res.DryRun || !slices.Equal(got, want) {
			t.Errorf("RevokeCredentials DryRun of %q: DryRun %v, passkeys %q; want true, %q", forms, res.DryRun, got, want)
		}
		if after := state(t, st); after != before {
			t.Errorf("RevokeCredentials DryRun changed the store:\nbefore %s\nafter  %s", before, after)
		}
	})
	s.run(t, "prefix", func(t *testing.T) {
		prefix := passkey.Base64URL(a2.CredentialID)[:12] + "…"
		res, err := st.RevokeCredentials(ctx, []string{prefix}, store.RevokeOptions{DryRun: true})
		if err != nil || !slices.Equal(ids(res.Passkeys), []string{stored(a2)}) {
			t.Errorf("RevokeCredentials DryRun of the prefix %q: %v; want %s", prefix, err, stored(a2))
		}
	})
	s.run(t, "unknown-revokes-nothing", func(t *testing.T) {
		before := state(t, st)
		unknown := passkey.Base64URL([]byte("no such credential here"))
		_, err := st.RevokeCredentials(ctx, append(slices.Clone(forms), unknown), store.RevokeOptions{Backup: noBackup})
		wantErr(t, "RevokeCredentials with an unknown ID", err, passkey.ErrNotFound)
		if err != nil && !strings.Contains(err.Error(), unknown) {
			t.Errorf("RevokeCredentials with an unknown ID: %v; want it named", err)
		}
		if after := state(t, st); after != before {
			t.Errorf("RevokeCredentials with an unknown ID changed the store:\nbefore %s\nafter  %s", before, after)
		}
	})
	s.run(t, "revoke", func(t *testing.T) {
		var backedUp []string
		res, err := st.RevokeCredentials(ctx, forms, store.RevokeOptions{Backup: func(recs []passkey.ExportRecord) error {
			backedUp = backedUp[:0]
			for _, r := range recs {
				backedUp = append(backedUp, passkey.Base64URL(rawID(t, r.CredentialID)))
			}
			return nil
		}})
		if err != nil {
			t.Fatalf("RevokeCredentials: %v", err)
		}
		if got := ids(res.Passkeys); !slices.Equal(got, want) {
			t.Errorf("RevokeCredentials: passkeys %q, want %q", got, want)
		}
		slices.Sort(backedUp)
		if wantBackup := []string{passkey.Base64URL(a1.CredentialID), passkey.Base64URL(b1.CredentialID)}; !slices.Equal(backedUp, slices.Sorted(slices.Values(wantBackup))) {
			t.Errorf("RevokeCredentials backed up %q, want %q", backedUp, wantBackup)
		}
		// user-a keeps a2; user-b has nothing left.
		if len(res.Stranded) != 1 || res.Stranded[0].ID != "user-b" {
			t.Errorf("RevokeCredentials: Stranded %+v, want user-b alone", res.Stranded)
		}
		for _, np := range []store.NewPasskey{a1, b1} {
			if _, err := st.GetPasskey(ctx, np.CredentialID); !errors.Is(err, passkey.ErrNotFound) {
				t.Errorf("GetPasskey of a revoked passkey: %v, want ErrNotFound", err)
			}
		}
		wantPasskey(t, "GetPasskey of the passkey kept", st, getPasskey(t, st, a2.CredentialID), a2, "a@example.com")
		if o := listOrphans(t, st); len(o) != 0 {
			t.Errorf("ListOrphans after the revoke: %+v, want none", o)
		}
	})
	s.run(t, "again-not-found", func(t *testing.T) {
		_, err := st.RevokeCredentials(ctx, forms[:1], store.RevokeOptions{Backup: noBackup})
		wantErr(t, "RevokeCredentials of a revoked passkey", err, passkey.ErrNotFound)
	})
}

// testExportImport: the export of one store imported into a fresh store
// of the same backend gives the same passkeys and users' e-mails; a
// second import fails on conflicts and writes nothing with ConflictFail,
// and skips them with ConflictSkip.
func (s *suite) testExportImport(t *testing.T) {
	src := s.open(t)
	nps := map[string]store.NewPasskey{} // by base64url ID
	emails := map[string]string{}        // by base64url ID
	for i, u := range []string{"anna", "ben", "cleo"} {
		uid, email := "user-"+u, u+"@example.com"
		for j := range 2 {
			np := newPasskey(t, uid, uint32(100*i+j), j == 0, []string{"hybrid", "internal"}[:j+i%2]...)
			opts := enrolOptions()
			if j == 0 {
				opts = enrolNewUserOptions(uid, email)
			}
			enrol(t, src, np, opts)
			nps[passkey.Base64URL(np.CredentialID)] = np
			emails[passkey.Base64URL(np.CredentialID)] = email
		}
	}
	recs, jsonl := exportAll(t, src, store.ExportOptions{})
	if len(recs) != len(nps) {
		t.Fatalf("Export: %d records, want %d", len(recs), len(nps))
	}
	for _, r := range recs {
		if r.Status != passkey.StatusOK || r.RevokedAt != nil || r.Version != passkey.ExportFormatVersion {
			t.Errorf("exported record %s: status %q revokedAt %v version %d", r.CredentialID, r.Status, r.RevokedAt, r.Version)
		}
		if _, ok := nps[passkey.Base64URL(rawID(t, r.CredentialID))]; !ok {
			t.Errorf("exported record of a credential never enrolled: %s", r.CredentialID)
		}
	}

	if one, _ := exportAll(t, src, store.ExportOptions{UserID: "user-ben"}); len(one) != 2 || one[0].User.ID != "user-ben" || one[1].User.ID != "user-ben" {
		t.Errorf("Export UserID user-ben: %d records, want ben's 2", len(one))
	}

	dst := s.open(t)
	res, err := dst.Import(ctx, bytes.NewReader(jsonl), importOptions(store.ConflictFail, true))
	if err != nil {
		t.Fatalf("Import into a fresh store: %v", err)
	}
	if res.Read != len(nps) || res.Inserted != len(nps) || len(res.UsersCreated) != 3 {
		t.Errorf("Import into a fresh store: read %d inserted %d users created %d, want %d %d 3", res.Read, res.Inserted, len(res.UsersCreated), len(nps), len(nps))
	}
	got, _ := exportAll(t, dst, store.ExportOptions{})
	if len(got) != len(nps) {
		t.Errorf("the target exports %d records, want %d", len(got), len(nps))
	}
	for _, r := range got {
		id := passkey.Base64URL(rawID(t, r.CredentialID))
		np, ok := nps[id]
		if !ok {
			t.Errorf("the target holds a credential never enrolled: %s", r.CredentialID)
			continue
		}
		p := getPasskey(t, dst, np.CredentialID)
		np.UserID = p.UserID // the target may give the user a new id
		wantPasskey(t, "GetPasskey in the import's target", dst, p, np, emails[id])
		if deref(r.User.Email) != emails[id] {
			t.Errorf("target record %s: user e-mail %s, want %s", id, deref(r.User.Email), emails[id])
		}
	}

	imported := state(t, dst)
	res, err = dst.Import(ctx, bytes.NewReader(jsonl), importOptions(store.ConflictFail, true))
	wantErr(t, "a second Import with ConflictFail", err, passkey.ErrConflict)
	if res == nil || len(res.Conflicts) != len(nps) {
		n := -1
		if res != nil {
			n = len(res.Conflicts)
		}
		t.Errorf("a second Import with ConflictFail reported %d conflicts, want %d", n, len(nps))
	}
	if after := state(t, dst); after != imported {
		t.Errorf("a failed Import changed the store:\nbefore %s\nafter  %s", imported, after)
	}

	res, err = dst.Import(ctx, bytes.NewReader(jsonl), importOptions(store.ConflictSkip, true))
	if err != nil {
		t.Fatalf("a second Import with ConflictSkip: %v", err)
	}
	if res.Skipped != len(nps) || res.Inserted != 0 || len(res.UsersCreated) != 0 {
		t.Errorf("a second Import with ConflictSkip: skipped %d inserted %d users created %d, want %d 0 0", res.Skipped, res.Inserted, len(res.UsersCreated), len(nps))
	}
	if after := state(t, dst); after != imported {
		t.Errorf("an Import that skipped everything changed the store:\nbefore %s\nafter  %s", imported, after)
	}
}

// testCompletion: completion finds a stored credential ID by its start,
// and a user by the start of their e-mail.
func (s *suite) testCompletion(t *testing.T) {
	st := s.open(t)
	np := newPasskey(t, "uid-completion", 0, true, "internal")
	p := enrol(t, st, np, enrolNewUserOptions("uid-completion", "amelie@example.com"))
	other := newPasskey(t, "uid-other", 0, true, "internal")
	enrol(t, st, other, enrolNewUserOptions("uid-other", "zoe@example.com"))

	s.run(t, "credential-ids", func(t *testing.T) {
		ids, err := st.CompleteCredentialIDs(ctx, p.CredentialID[:6], 10)
		if err != nil {
			t.Fatalf("CompleteCredentialIDs: %v", err)
		}
		if !slices.Contains(ids, p.CredentialID) {
			t.Errorf("CompleteCredentialIDs(%q) = %q, want it to hold %q", p.CredentialID[:6], ids, p.CredentialID)
		}
		all, err := st.CompleteCredentialIDs(ctx, "", 10)
		if err != nil || len(all) != 2 {
			t.Errorf("CompleteCredentialIDs(\"\") = %q, %v; want both IDs", all, err)
		}
		if one, err := st.CompleteCredentialIDs(ctx, "", 1); err != nil || len(one) != 1 {
			t.Errorf("CompleteCredentialIDs(\"\", limit 1) = %q, %v; want one ID", one, err)
		}
	})
	s.run(t, "users", func(t *testing.T) {
		got, err := st.CompleteUsers(ctx, "a", 10)
		if err != nil {
			t.Fatalf("CompleteUsers(a): %v", err)
		}
		if !slices.Contains(got, "amelie@example.com") || slices.Contains(got, "zoe@example.com") {
			t.Errorf("CompleteUsers(%q) = %q, want it to hold amelie@example.com and not zoe@example.com", "a", got)
		}
	})
}

// swapCase turns upper-case ASCII letters into lower case and the other
// way round.
func swapCase(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z':
			return r - 'A' + 'a'
		}
		return r
	}, s)
}

// OrphanKind is what Backend.MakeOrphan leaves behind.
type OrphanKind int

const (
	// OrphanNoUser deletes the user's record and nothing else, as an app
	// without foreign keys (or Better Auth's deleteUser) does: their
	// passkeys stay.
	OrphanNoUser OrphanKind = iota
	// OrphanNoAuthenticator deletes the passkey's own record and keeps its
	// account (Auth.js: a registration written half-way); only asked of
	// stores whose Describe().Accounts is true.
	OrphanNoAuthenticator
)

// testRemoveOrphans: a store where passkeys were enrolled and revoked has
// no orphans; with the backend's MakeOrphan, a passkey whose user is gone
// and (where the app keeps accounts) an account without its passkey are
// removed, after a dry run that changes nothing, backed up, limited by
// user, and never with a healthy passkey.
func (s *suite) testRemoveOrphans(t *testing.T) {
	st := s.open(t)
	keep := newPasskey(t, "user-keep", 3, true, "internal")
	enrol(t, st, keep, enrolNewUserOptions("user-keep", "keep@example.com"))
	gone := newPasskey(t, "user-gone", 4, false, "usb")
	enrol(t, st, gone, enrolNewUserOptions("user-gone", "gone@example.com"))
	half := newPasskey(t, "user-half", 0, true, "hybrid")
	enrol(t, st, half, enrolNewUserOptions("user-half", "half@example.com"))
	half2 := newPasskey(t, "user-half", 1, true, "internal")
	enrol(t, st, half2, enrolOptions())
	revoked := newPasskey(t, "user-keep", 0, false)
	enrol(t, st, revoked, enrolOptions())
	ps, err := st.ResolveCredentials(ctx, []string{passkey.Base64URL(revoked.CredentialID)})
	if err != nil {
		t.Fatalf("ResolveCredentials: %v", err)
	}
	if _, err := st.Revoke(ctx, ps, store.RevokeOptions{Now: now}); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	// Enrolments and a revoke leave nothing behind.
	res, err := st.RemoveOrphans(ctx, store.OrphanOptions{})
	if err != nil {
		t.Fatalf("RemoveOrphans on a healthy store: %v", err)
	}
	if !res.Empty() || res.DryRun {
		t.Fatalf("RemoveOrphans on a healthy store: %+v, want nothing removed", res)
	}
	if s.b.MakeOrphan == nil {
		t.Skipf("%s has no MakeOrphan", s.b.Name)
	}
	accounts := st.Describe().Accounts
	s.b.MakeOrphan(t, st, OrphanNoUser, "user-gone", gone.CredentialID)
	if accounts {
		s.b.MakeOrphan(t, st, OrphanNoAuthenticator, "user-half", half.CredentialID)
	}
	enc := st.Describe().EncodeID
	check := func(what string, res *store.OrphanResult) {
		t.Helper()
		if len(res.Passkeys) != 1 || res.Passkeys[0].CredentialID != enc(gone.CredentialID) || res.Passkeys[0].UserID != "user-gone" {
			t.Errorf("%s: Passkeys %+v, want only user-gone's", what, res.Passkeys)
		}
		var got []string
		for _, o := range res.Accounts {
			got = append(got, o.UserID+" "+o.CredentialID)
			if o.Status != passkey.StatusNoAuthenticator {
				t.Errorf("%s: account %s status %q", what, o.CredentialID, o.Status)
			}
		}
		var want []string
		if accounts {
			// The removed passkey's own account goes with it.
			want = []string{"user-gone " + passkey.AuthjsCredentialID(gone.CredentialID), "user-half " + passkey.AuthjsCredentialID(half.CredentialID)}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: Accounts %q, want %q", what, got, want)
		}
	}

	before := state(t, st)
	res, err = st.RemoveOrphans(ctx, store.OrphanOptions{DryRun: true})
	if err != nil {
		t.Fatalf("RemoveOrphans DryRun: %v", err)
	}
	check("dry run", res)
	if !res.DryRun {
		t.Error("dry run: DryRun false")
	}
	if after := state(t, st); after != before {
		t.Errorf("RemoveOrphans DryRun changed the store:\nbefore %s\nafter  %s", before, after)
	}

	// Limited to a user who has none: nothing.
	res, err = st.RemoveOrphans(ctx, store.OrphanOptions{UserID: "user-keep"})
	if err != nil || !res.Empty() {
		t.Fatalf("RemoveOrphans of user-keep: %+v, %v; want nothing", res, err)
	}

	// Limited to user-gone, whose user record is gone: their passkey only.
	var backup []passkey.ExportRecord
	res, err = st.RemoveOrphans(ctx, store.OrphanOptions{UserID: "user-gone", Now: now, Backup: func(recs []passkey.ExportRecord) error {
		backup = append(backup[:0], recs...)
		return nil
	}})
	if err != nil {
		t.Fatalf("RemoveOrphans of user-gone: %v", err)
	}
	if len(res.Passkeys) != 1 || len(backup) != 1 || backup[0].RevokedAt == nil || !bytes.Equal(rawID(t, backup[0].CredentialID), gone.CredentialID) {
		t.Errorf("RemoveOrphans of user-gone: %d passkeys, backup %+v; want user-gone's passkey, backed up with revokedAt", len(res.Passkeys), backup)
	}
	if _, err := st.GetPasskey(ctx, gone.CredentialID); !errors.Is(err, passkey.ErrNotFound) {
		t.Errorf("GetPasskey of the removed passkey: %v, want ErrNotFound", err)
	}

	// Everyone: what is left of user-half's half-written passkey.
	res, err = st.RemoveOrphans(ctx, store.OrphanOptions{})
	if err != nil {
		t.Fatalf("RemoveOrphans: %v", err)
	}
	if len(res.Passkeys) != 0 || accounts && len(res.Accounts) != 1 {
		t.Errorf("RemoveOrphans after user-gone's: %+v", res)
	}
	if o := listOrphans(t, st); len(o) != 0 {
		t.Errorf("ListOrphans after RemoveOrphans: %+v", o)
	}
	// Healthy passkeys were never touched.
	wantPasskey(t, "kept passkey", st, getPasskey(t, st, keep.CredentialID), keep, "keep@example.com")
	wantPasskey(t, "user-half's whole passkey", st, getPasskey(t, st, half2.CredentialID), half2, "half@example.com")
	wantLeft := 3 // keep, half, half2
	if accounts {
		wantLeft = 2 // half was only an account
	}
	if left := listAll(t, st, store.ListOptions{}); len(left) != wantLeft {
		t.Errorf("%d passkeys left, want %d", len(left), wantLeft)
	}
	res, err = st.RemoveOrphans(ctx, store.OrphanOptions{})
	if err != nil || !res.Empty() {
		t.Errorf("RemoveOrphans again: %+v, %v; want nothing", res, err)
	}
}
