package storetest

import (
	"bytes"
	"testing"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// Transfer enrols passkeys in a fresh store of from, exports them and
// imports the export into a fresh store of to, creating the users: each
// passkey then signs in at to (GetPasskey of its raw ID is ok) with the
// same counter, flags, transports and user e-mail, and to's export holds
// exactly them.
func Transfer(t *testing.T, from, to Backend) {
	t.Helper()
	src := (&suite{b: from}).open(t)
	type enrolled struct {
		np    store.NewPasskey
		email string
	}
	var all []enrolled
	for i, u := range []string{"dora", "emil"} {
		uid, email := "user-"+u, u+"@example.com"
		for j := range 2 {
			np := newPasskey(t, uid, uint32(1000*(i+1)+j), j == 1, []string{"usb", "nfc"}[:j+1]...)
			opts := enrolOptions()
			if j == 0 {
				opts = enrolNewUserOptions(uid, email)
			}
			enrol(t, src, np, opts)
			all = append(all, enrolled{np, email})
		}
	}
	recs, jsonl := exportAll(t, src, store.ExportOptions{})
	if len(recs) != len(all) {
		t.Fatalf("%s exports %d records, want %d", from.Name, len(recs), len(all))
	}

	dst := (&suite{b: to}).open(t)
	res, err := dst.Import(ctx, bytes.NewReader(jsonl), importOptions(store.ConflictFail, true))
	if err != nil {
		t.Fatalf("Import into %s: %v", to.Name, err)
	}
	if res.Inserted != len(all) || len(res.UsersCreated) != 2 {
		t.Errorf("Import into %s: inserted %d users created %d, want %d and 2", to.Name, res.Inserted, len(res.UsersCreated), len(all))
	}
	for _, e := range all {
		p := getPasskey(t, dst, e.np.CredentialID)
		np := e.np
		np.UserID = p.UserID // the target may give the user a new id
		wantPasskey(t, to.Name+" GetPasskey of "+passkey.Base64URL(np.CredentialID), dst, p, np, e.email)
		if u, err := dst.FindUser(ctx, e.email); err != nil || u.ID != p.UserID {
			t.Errorf("%s FindUser(%s) = %q, %v; want the passkey's user %q", to.Name, e.email, u.ID, err, p.UserID)
		}
	}
	got, _ := exportAll(t, dst, store.ExportOptions{})
	if len(got) != len(all) {
		t.Errorf("%s exports %d records after the import, want %d", to.Name, len(got), len(all))
	}
}
