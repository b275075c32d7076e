package storetest

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// auditLog returns the entries of st's audit log that f selects.
func auditLog(t *testing.T, st store.Store, f store.AuditFilter) []store.AuditEntry {
	t.Helper()
	var out []store.AuditEntry
	if err := st.AuditLog(ctx, f, func(e store.AuditEntry) error {
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatalf("AuditLog(%+v): %v", f, err)
	}
	return out
}

// testAudit: every change is recorded with who, why and what, in the
// same transaction (a dry run and a failed change record nothing), and
// the log answers by entry, by user and after an entry.
func (s *suite) testAudit(t *testing.T) {
	st := s.open(t)
	if s.b.SetAudit == nil {
		t.Skip("the backend cannot be given an audit context")
	}
	if got := auditLog(t, st, store.AuditFilter{}); len(got) != 0 {
		t.Fatalf("a fresh store's audit log: %d entries, want none", len(got))
	}
	var recorded []store.AuditEntry
	audit := &store.AuditContext{
		Actor: "tester@ops", Reason: "INC-7", Command: "passkeyctl test",
		Now:      func() time.Time { return enrolTime },
		Recorded: func(e store.AuditEntry) { recorded = append(recorded, e) },
	}
	s.b.SetAudit(st, audit)

	const uid, email = "user-audit", "audit@example.com"
	np := newPasskey(t, uid, 5, true, "internal")
	p := enrol(t, st, np, enrolNewUserOptions(uid, email))
	np2 := newPasskey(t, uid, 1, false)
	enrol(t, st, np2, enrolOptions())
	if len(recorded) != 2 {
		t.Fatalf("two enrolments: %d entries recorded, want 2", len(recorded))
	}
	enrolEntry := recorded[0]
	if enrolEntry.ID <= 0 || enrolEntry.Action != store.AuditEnroll || enrolEntry.Actor != "tester@ops" || enrolEntry.Reason != "INC-7" || enrolEntry.Command != "passkeyctl test" || !enrolEntry.Time.Equal(enrolTime) {
		t.Errorf("the enrolment's entry: %+v", enrolEntry)
	}
	if len(enrolEntry.Added) != 1 || enrolEntry.Added[0].CredentialID != passkey.Base64URL(np.CredentialID) || enrolEntry.Added[0].UserID != uid {
		t.Errorf("the enrolment's entry adds %+v, want credential %s of %s", enrolEntry.Added, passkey.Base64URL(np.CredentialID), uid)
	}
	if recorded[1].ID <= enrolEntry.ID {
		t.Errorf("entry IDs %d then %d: want increasing", enrolEntry.ID, recorded[1].ID)
	}

	// A dry run records nothing, nor does a revoke that fails.
	if _, err := st.Revoke(ctx, []passkey.Passkey{p}, store.RevokeOptions{DryRun: true, Now: now}); err != nil {
		t.Fatalf("Revoke dry run: %v", err)
	}
	gone := p
	gone.CredentialID = passkey.Base64URL(newCredentialID(t, 99))
	if _, err := st.Revoke(ctx, []passkey.Passkey{p, gone}, store.RevokeOptions{Now: now}); err == nil {
		t.Fatal("Revoke of a passkey that is not there: no error")
	}
	if len(recorded) != 2 || len(auditLog(t, st, store.AuditFilter{})) != 2 {
		t.Fatalf("after a dry run and a failed revoke: %d entries recorded, want still 2", len(recorded))
	}

	// The revoke's entry holds the full record of the passkey removed.
	if _, err := st.Revoke(ctx, []passkey.Passkey{p}, store.RevokeOptions{Now: now}); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if len(recorded) != 3 {
		t.Fatalf("after a revoke: %d entries recorded, want 3", len(recorded))
	}
	revokeID := recorded[2].ID
	got := auditLog(t, st, store.AuditFilter{ID: revokeID})
	if len(got) != 1 {
		t.Fatalf("AuditLog(ID %d): %d entries, want 1", revokeID, len(got))
	}
	rev := got[0]
	if rev.Action != store.AuditRevoke || len(rev.Removed) != 1 || len(rev.Users) != 1 || rev.Users[0].ID != uid {
		t.Fatalf("the revoke's entry as read back: %+v", rev)
	}
	rec := rev.Removed[0]
	if rec.CredentialID != passkey.Base64URL(np.CredentialID) || rec.Counter != 5 || rec.User.ID != uid || rec.RevokedAt == nil {
		t.Errorf("the revoke's record: %+v", rec)
	}
	if key, err := passkey.DecodeBase64(rec.PublicKey); err != nil || !bytes.Equal(key, np.PublicKey) {
		t.Errorf("the revoke's record holds public key %q, want the enrolled one", rec.PublicKey)
	}

	// An import that restores it, as undo does: recorded as an undo of
	// the revoke; the passkey signs in again as it was.
	audit.Undoes = revokeID
	rec.RevokedAt, rec.User.Email = nil, nil
	if _, err := st.Import(ctx, bytes.NewReader(encodeRecords(t, []passkey.ExportRecord{rec})), importOptions(store.ConflictSkip, false)); err != nil {
		t.Fatalf("Import of the revoked record: %v", err)
	}
	audit.Undoes = 0
	back := getPasskey(t, st, np.CredentialID)
	if back.Counter != 5 || back.UserID != uid || back.Status != passkey.StatusOK {
		t.Errorf("the restored passkey: %+v", back)
	}
	undo := recorded[len(recorded)-1]
	if undo.Action != store.AuditUndo || undo.Undoes != revokeID || len(undo.Added) != 1 {
		t.Errorf("the restore's entry: %+v", undo)
	}

	// An import that updates the passkey (--on-conflict update) records it
	// as updated, with its owner and its flags before and after (what
	// undo sets back).
	rec.Counter = 6
	before := store.AuditFlags{DeviceType: back.CredentialDeviceType, BackedUp: back.CredentialBackedUp}
	after := store.AuditFlags{DeviceType: store.DeviceMulti, BackedUp: true}
	if before == after {
		after = store.AuditFlags{DeviceType: store.DeviceSingle}
	}
	rec.DeviceType, rec.BackedUp = after.DeviceType, after.BackedUp
	if _, err := st.Import(ctx, bytes.NewReader(encodeRecords(t, []passkey.ExportRecord{rec})), importOptions(store.ConflictUpdate, false)); err != nil {
		t.Fatalf("Import --on-conflict update: %v", err)
	}
	updateID := recorded[len(recorded)-1].ID
	if e := recorded[len(recorded)-1]; e.Action != store.AuditImport || len(e.Added) != 0 || len(e.Updated) != 1 || e.Updated[0].CredentialID != rec.CredentialID || e.Updated[0].UserID != uid {
		t.Errorf("the updating import's entry: %+v", e)
	} else if u := e.Updated[0]; u.Before == nil || *u.Before != before || u.After == nil || *u.After != after {
		t.Errorf("the updating import's flags: before %+v, after %+v; want %+v, %+v", u.Before, u.After, before, after)
	}
	if p := getPasskey(t, st, np.CredentialID); p.CredentialDeviceType != after.DeviceType || p.CredentialBackedUp != after.BackedUp {
		t.Errorf("the updated passkey: %s, %t; want %+v", p.CredentialDeviceType, p.CredentialBackedUp, after)
	}
	// Read back from the log, the flags are the same.
	if es := auditLog(t, st, store.AuditFilter{ID: updateID}); len(es) != 1 || len(es[0].Updated) != 1 || es[0].Updated[0].Before == nil || *es[0].Updated[0].Before != before || es[0].Updated[0].After == nil || *es[0].Updated[0].After != after {
		t.Errorf("the updating import's entry, read back: %+v", es)
	}

	// Renames are recorded with the names before and after.
	if st.Describe().Named {
		if _, _, err := st.Rename(ctx, np.CredentialID, "YubiKey"); err != nil {
			t.Fatalf("Rename: %v", err)
		}
		e := recorded[len(recorded)-1]
		if e.Action != store.AuditRename || len(e.Renamed) != 1 || deref(e.Renamed[0].To) != "YubiKey" {
			t.Errorf("the rename's entry: %+v", e)
		}
	}

	// The log, read back: oldest first, by user (id or e-mail, any case),
	// after an entry.
	all := auditLog(t, st, store.AuditFilter{})
	if len(all) != len(recorded) {
		t.Fatalf("AuditLog: %d entries, %d recorded", len(all), len(recorded))
	}
	for i := range all {
		if all[i].ID != recorded[i].ID || all[i].Action != recorded[i].Action || all[i].Summary != recorded[i].Summary {
			t.Errorf("AuditLog entry %d = %d %s %q, recorded %d %s %q", i, all[i].ID, all[i].Action, all[i].Summary, recorded[i].ID, recorded[i].Action, recorded[i].Summary)
		}
	}
	// Two enrolments, the revoke and a rename name the e-mail; the restore
	// and the updating import knew the user by id alone.
	want := 3
	if st.Describe().Named {
		want++
	}
	byEmail := auditLog(t, st, store.AuditFilter{User: "AUDIT@example.com"})
	if len(byEmail) != want {
		t.Errorf("AuditLog(user by e-mail): %d entries, want %d", len(byEmail), want)
	}
	// Each entry comes with its own passkeys, not a neighbour's (the
	// restore between them, left out, has passkeys too).
	for _, e := range byEmail {
		for _, r := range recorded {
			if r.ID == e.ID && (len(e.Removed) != len(r.Removed) || len(e.Added) != len(r.Added) || len(e.Updated) != len(r.Updated)) {
				t.Errorf("AuditLog(user by e-mail): entry %d has %d removed, %d added, %d updated; recorded %d, %d, %d",
					e.ID, len(e.Removed), len(e.Added), len(e.Updated), len(r.Removed), len(r.Added), len(r.Updated))
			}
		}
	}
	if n := len(auditLog(t, st, store.AuditFilter{User: uid})); n < 4 {
		t.Errorf("AuditLog(user by id): %d entries, want every one", n)
	}
	if n := len(auditLog(t, st, store.AuditFilter{User: "nobody@example.com"})); n != 0 {
		t.Errorf("AuditLog(another user): %d entries, want none", n)
	}
	// By credential: the entries that enrolled, revoked, restored, updated
	// (and renamed) the passkey, with their passkeys; none of another.
	var touching []int64
	for i := range recorded {
		if recorded[i].Touches(rec.CredentialID) {
			touching = append(touching, recorded[i].ID)
		}
	}
	var byCred []int64
	for _, e := range auditLog(t, st, store.AuditFilter{Credential: rec.CredentialID}) {
		if !e.Touches(rec.CredentialID) {
			t.Errorf("AuditLog(credential): entry %d does not touch it: %+v", e.ID, e)
		}
		byCred = append(byCred, e.ID)
	}
	if len(touching) < 4 || !slices.Equal(byCred, touching) {
		t.Errorf("AuditLog(credential %s): entries %v, want %v (at least 4)", rec.CredentialID, byCred, touching)
	}
	if n := len(auditLog(t, st, store.AuditFilter{Credential: "AAAAAAAAAAAAAAAAAAAAAA"})); n != 0 {
		t.Errorf("AuditLog(another credential): %d entries, want none", n)
	}
	if n := len(auditLog(t, st, store.AuditFilter{After: revokeID})); n != len(all)-3 {
		t.Errorf("AuditLog(after the revoke): %d entries, want %d", n, len(all)-3)
	}
	if n := len(auditLog(t, st, store.AuditFilter{Since: enrolTime.Add(time.Second)})); n != 0 {
		t.Errorf("AuditLog(since after every entry): %d entries, want none", n)
	}
	if got := auditLog(t, st, store.AuditFilter{ID: 1 << 40}); len(got) != 0 {
		t.Errorf("AuditLog(an ID never used): %+v", got)
	}
	var stop = errors.New("stop")
	if err := st.AuditLog(ctx, store.AuditFilter{}, func(store.AuditEntry) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("AuditLog returns %v when fn fails, want fn's error", err)
	}
}
