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

func exportAll(t *testing.T, s *redis.Store, opts store.ExportOptions) (string, []passkey.ExportRecord) {
	t.Helper()
	var buf bytes.Buffer
	w := passkey.NewExportWriter(&buf)
	var recs []passkey.ExportRecord
	if err := s.Export(ctx, opts, func(r passkey.ExportRecord) error {
		recs = append(recs, r)
		return w.Write(r)
	}); err != nil {
		t.Fatal(err)
	}
	return buf.String(), recs
}

// TestExportImport_fixture exports the fixture's passkeys and imports
// them into an empty app (creating the user) and into an app that has the
// user: the stored authenticators and accounts are the adapter's bytes.
func TestExportImport_fixture(t *testing.T) {
	f := loadFixture(t)
	src := newEnv(t)
	src.load(f.DefaultOptions.FinalKeys)
	s := src.open("", "")
	uid := f.DefaultOptions.FinalKeys["user:email:fixture@example.com"].Value
	cred1, cred2 := f.CredentialIDs["passkey1"], f.CredentialIDs["passkey2"]
	l := redis.DefaultLayout()

	jsonl, recs := exportAll(t, s, store.ExportOptions{})
	if len(recs) != 2 {
		t.Fatalf("exported %d records", len(recs))
	}
	for i, w := range []struct {
		id      string
		counter int64
	}{{cred2.Base64URL, 1}, {cred1.Base64URL, 2}} {
		r := recs[i]
		if r.Version != passkey.ExportFormatVersion || r.CredentialID != w.id || r.Counter != w.counter || r.DeviceType != "multiDevice" || !r.BackedUp ||
			!slices.Equal(r.Transports, []string{"hybrid", "internal"}) || r.User.ID != uid || r.User.Email == nil || *r.User.Email != "fixture@example.com" ||
			r.Status != passkey.StatusOK || r.Name != nil || r.CreatedAt != nil || r.AAGUID != nil {
			t.Errorf("record %d: %+v", i, r)
		}
	}
	raw1, _ := base64.StdEncoding.DecodeString(cred1.Base64)
	if _, one := exportAll(t, s, store.ExportOptions{CredentialIDs: [][]byte{raw1, []byte("not stored")}}); len(one) != 1 || one[0].CredentialID != cred1.Base64URL {
		t.Errorf("export of one credential: %+v", one)
	}

	t.Run("into an app with the user", func(t *testing.T) {
		e := newEnv(t)
		e.load(map[string]fixtureKey{
			l.UserKey(uid):                    f.DefaultOptions.FinalKeys[l.UserKey(uid)],
			l.EmailKey("fixture@example.com"): f.DefaultOptions.FinalKeys[l.EmailKey("fixture@example.com")],
		})
		dst := e.open("", "")
		res, err := dst.Import(ctx, strings.NewReader(jsonl), store.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Read != 2 || res.Inserted != 2 || res.UsersMatched != 1 || len(res.UsersCreated) != 0 {
			t.Errorf("result %+v", res)
		}
		snap := e.snapshot()
		for _, c := range []string{cred1.Base64, cred2.Base64} {
			for _, k := range []string{l.AuthenticatorKey(c), l.AccountKey("passkey", c)} {
				if snap[k] != f.DefaultOptions.FinalKeys[k].Value {
					t.Errorf("%s\n got %s\nwant %s", k, snap[k], f.DefaultOptions.FinalKeys[k].Value)
				}
			}
		}
		// Registered in input order (cred2, then cred1): the adapter's list
		// and pointer after those two registrations.
		if got, want := snap[l.AuthenticatorListKey(uid)], `["`+cred1.Base64+`","`+cred2.Base64+`"]`; got != want {
			t.Errorf("list %s, want %s", got, want)
		}
		if got, want := snap[l.AccountByUserIDKey(uid)], l.AccountPointer("passkey", cred1.Base64); got != want {
			t.Errorf("account pointer %s, want %s", got, want)
		}
		if len(snap) != 8 {
			t.Errorf("%d keys after import, want 8: %v", len(snap), snap)
		}

		// Again: every credential conflicts; nothing is written.
		_, err = dst.Import(ctx, strings.NewReader(jsonl), store.ImportOptions{})
		if !errors.Is(err, passkey.ErrConflict) {
			t.Errorf("second import: %v", err)
		}
		diffKeys(t, "conflicting import wrote nothing", snap, e.snapshot())
		res, err = dst.Import(ctx, strings.NewReader(jsonl), store.ImportOptions{OnConflict: store.ConflictSkip})
		if err != nil || res.Skipped != 2 || res.Inserted != 0 {
			t.Errorf("skip: %+v %v", res, err)
		}
		diffKeys(t, "skipping import wrote nothing", snap, e.snapshot())
		// Update: a higher counter is taken, in place.
		higher := strings.Replace(jsonl, `"counter":2`, `"counter":9`, 1)
		res, err = dst.Import(ctx, strings.NewReader(higher), store.ImportOptions{OnConflict: store.ConflictUpdate})
		if err != nil || res.Updated != 2 {
			t.Errorf("update: %+v %v", res, err)
		}
		snap[l.AuthenticatorKey(cred1.Base64)] = strings.Replace(snap[l.AuthenticatorKey(cred1.Base64)], `"counter":2`, `"counter":9`, 1)
		diffKeys(t, "updating import", snap, e.snapshot())
	})

	t.Run("into an empty app", func(t *testing.T) {
		e := newEnv(t)
		dst := e.open("", "")
		_, err := dst.Import(ctx, strings.NewReader(jsonl), store.ImportOptions{})
		if !errors.Is(err, passkey.ErrNotFound) {
			t.Errorf("import without the user: %v", err)
		}
		if snap := e.snapshot(); len(snap) != 0 {
			t.Errorf("a refused import wrote %v", snap)
		}
		res, err := dst.Import(ctx, strings.NewReader(jsonl), store.ImportOptions{CreateUsers: true, DryRun: true})
		if err != nil || res.Inserted != 2 || len(res.UsersCreated) != 1 {
			t.Errorf("dry run: %+v %v", res, err)
		}
		if snap := e.snapshot(); len(snap) != 0 {
			t.Errorf("a dry run wrote %v", snap)
		}
		res, err = dst.Import(ctx, strings.NewReader(jsonl), store.ImportOptions{CreateUsers: true})
		if err != nil || res.Inserted != 2 || len(res.UsersCreated) != 1 {
			t.Fatalf("import: %+v %v", res, err)
		}
		newID := res.UsersCreated[0].TargetID
		if !uuidV4.MatchString(newID) {
			t.Errorf("created user id %q", newID)
		}
		_, back := exportAll(t, dst, store.ExportOptions{})
		for i := range back {
			back[i].User.ID = uid
		}
		if !slices.EqualFunc(back, recs, recordEqual) {
			t.Errorf("exported back: %+v\nwant %+v", back, recs)
		}
	})

	t.Run("broken records are left out", func(t *testing.T) {
		e := newEnv(t)
		dst := e.open("", "")
		broken := strings.Replace(jsonl, `"status":"ok"`, `"status":"no-account"`, 1)
		var warned []string
		res, err := dst.Import(ctx, strings.NewReader(broken), store.ImportOptions{CreateUsers: true, Warn: func(s string) { warned = append(warned, s) }})
		if err != nil || res.Broken != 1 || res.Inserted != 1 || len(warned) != 1 {
			t.Errorf("import: %+v %v %q", res, err, warned)
		}
		_, err = dst.Import(ctx, strings.NewReader(`{"version":1,"credentialID":"!!"}`), store.ImportOptions{})
		if !errors.Is(err, passkey.ErrInvalid) {
			t.Errorf("invalid line: %v", err)
		}
	})
}

func recordEqual(a, b passkey.ExportRecord) bool {
	return a.Version == b.Version && a.CredentialID == b.CredentialID && a.PublicKey == b.PublicKey && a.Counter == b.Counter &&
		a.DeviceType == b.DeviceType && a.BackedUp == b.BackedUp && slices.Equal(a.Transports, b.Transports) &&
		a.User.ID == b.User.ID && *a.User.Email == *b.User.Email && a.Status == b.Status
}
