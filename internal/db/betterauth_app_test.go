package db_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// TestBetterAuthApp runs the store's app-neutral entry points (what list,
// revoke and serve call) on Better Auth tables: enrol as the passkey
// plugin writes, find by any ID form, list, update the counter, revoke the
// one row and the sessions.
func TestBetterAuthApp(t *testing.T) {
	ctx := context.Background()
	bx := loadCeremony(t, "betterauth-registration-postgres.json")
	fxRow := bx.Registration.RowsWritten["passkey"][0]
	rawID := mustDecode(t, bx.Registration.ResponseJSON.ID)
	key := mustDecode(t, str(fxRow["publicKey"]))
	aaguid := []byte{0xea, 0x9b, 0x8d, 0x66, 0x4d, 0x01, 0x1d, 0x21, 0x3c, 0xe4, 0xb6, 0xb4, 0x8c, 0xb5, 0x75, 0xd4}
	now := time.Date(2026, 11, 25, 1, 52, 45, 510_000_000, time.UTC)
	for _, dialect := range dbtest.Dialects {
		for _, sh := range baShapes {
			if sh.opts.Snake && dialect != "mysql" {
				continue // one snake_case run covers the column mapping
			}
			t.Run(dialect+"/"+sh.name, func(t *testing.T) {
				_, d := dbtest.BetterAuth(t, dialect, sh.opts)
				s := detect(t, d)
				ba := s.BetterAuth
				uid := baUser(t, d, s, "q24SsGdoIXwYPGrr6eHR7fyorwYoBf27", "fixture@example.com", "Fixture")
				if u, err := d.FindUser(ctx, s, "FIXTURE@example.com"); err != nil || u.ID != uid {
					t.Fatalf("FindUser by e-mail: %+v %v", u, err)
				}
				if err := d.CheckEnroll(ctx, s, uid, false); err != nil {
					t.Fatal(err)
				}
				p, err := d.CreatePasskey(ctx, s, store.NewPasskey{
					UserID: uid, CredentialID: rawID, PublicKey: key, BackupEligible: true, BackupState: true, AAGUID: aaguid,
				}, store.EnrollOptions{ProviderID: "passkey", Now: func() time.Time { return now }, Rand: rand.Reader})
				if err != nil {
					t.Fatal(err)
				}
				// As the passkey plugin writes it (the fixture's row): the
				// browser's id, the key as stored, "" transports.
				if p.CredentialID != str(fxRow["credentialID"]) || p.PublicKey != str(fxRow["publicKey"]) || p.CredentialDeviceType != "multiDevice" ||
					!p.CredentialBackedUp || len(p.Transports) != 0 || p.AAGUID == nil || *p.AAGUID != str(fxRow["aaguid"]) ||
					p.Authenticator == nil || *p.Authenticator != "Google Password Manager" ||
					p.CreatedAt == nil || !p.CreatedAt.Equal(now) || p.Status != passkey.StatusOK || p.Algorithm != "ES256" || p.Email == nil {
					t.Fatalf("enrolled %+v", p)
				}
				var transports *string
				if err := d.X.Get(&transports, "SELECT "+d.Q(ba.P.Transports)+" FROM "+d.Q(ba.Passkey.Name)); err != nil || transports == nil || *transports != "" {
					t.Fatalf("transports stored as %v (%v), want \"\"", transports, err)
				}
				if _, err := d.CreatePasskey(ctx, s, store.NewPasskey{UserID: uid, CredentialID: rawID, PublicKey: key}, store.EnrollOptions{ProviderID: "passkey", Rand: rand.Reader}); !errors.Is(err, passkey.ErrConflict) {
					t.Fatalf("second enrolment: %v", err)
				}
				// A new user with its passkey, in one transaction.
				newID, err := db.NewUserID(s, now, rand.Reader)
				if err != nil || !regexp.MustCompile(`^[A-Za-z0-9]{32}$`).MatchString(newID) {
					t.Fatalf("new user id %q %v", newID, err)
				}
				other := []byte("second-credential")
				if _, err := d.CreatePasskey(ctx, s, store.NewPasskey{CredentialID: other, PublicKey: key, Transports: []string{"usb", "nfc"}},
					store.EnrollOptions{ProviderID: "passkey", Rand: rand.Reader, CreateUser: &store.NewUser{ID: newID, Email: "New@Example.com"}}); err != nil {
					t.Fatal(err)
				}
				nu, err := d.FindUser(ctx, s, "new@example.com")
				if err != nil || nu.ID != newID || nu.Name == nil || *nu.Name != "new" || nu.Email == nil || *nu.Email != "new@example.com" {
					t.Fatalf("created user %+v %v", nu, err)
				}

				// Sign-in bookkeeping: Better Auth's lookup is exact.
				if err := d.UpdateCounter(ctx, s, rawID, 1); err != nil {
					t.Fatal(err)
				}
				got, err := d.GetPasskey(ctx, s, rawID, "passkey")
				if err != nil || got.Counter != 1 {
					t.Fatalf("after sign-in: %+v %v", got, err)
				}
				if err := verifyStored(t, bx, got.CredentialID, got.PublicKey, got.CredentialDeviceType, got.CredentialBackedUp, 0); err != nil {
					t.Fatalf("the fixture's sign-in against the enrolled row: %v", err)
				}
				var listed []string
				if err := d.ListPasskeys(ctx, s, store.ListOptions{ProviderID: "passkey"}, func(p passkey.Passkey) error {
					listed = append(listed, p.CredentialID+" "+p.UserID)
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				if len(listed) != 2 {
					t.Fatalf("listed %v", listed)
				}
				if ids, err := d.UserCredentialIDs(ctx, s, uid); err != nil || len(ids) != 1 || !bytes.Equal(ids[0], rawID) {
					t.Fatalf("user's credentials %x %v", ids, err)
				}

				// revoke finds IDs in any form: Auth.js's standard base64.
				found, err := d.ResolveCredentials(ctx, s, []string{passkey.AuthjsCredentialID(rawID)}, "passkey")
				if err != nil || len(found) != 1 || found[0].CredentialID != str(fxRow["credentialID"]) {
					t.Fatalf("resolve: %+v %v", found, err)
				}
				if _, err := d.ResolveCredentials(ctx, s, []string{"bm9wZQ"}, "passkey"); !errors.Is(err, passkey.ErrNotFound) {
					t.Fatalf("resolve unknown: %v", err)
				}
				sessCols := []string{"id", "token", "userId", "expiresAt", "updatedAt"}
				if sh.opts.Snake {
					sessCols = []string{"id", "token", "user_id", "expires_at", "updated_at"}
				}
				for i := range sessCols {
					sessCols[i] = d.Q(sessCols[i])
				}
				if _, err := d.X.Exec(d.Dialect.Rebind("INSERT INTO "+d.Q("session")+" ("+strings.Join(sessCols, ", ")+") VALUES (?, ?, ?, ?, ?)"),
					"s1", "tok", uid, baTime(d, ba.Session, strings.Trim(sessCols[3], "`\"")), baTime(d, ba.Session, strings.Trim(sessCols[4], "`\""))); err != nil {
					t.Fatal(err)
				}
				res, err := d.Revoke(ctx, s, found, store.RevokeOptions{ProviderID: "passkey", RevokeSessions: true, DryRun: true})
				if err != nil || res.Sessions != 1 || !res.DryRun {
					t.Fatalf("dry run: %+v %v", res, err)
				}
				res, err = d.Revoke(ctx, s, found, store.RevokeOptions{ProviderID: "passkey", RevokeSessions: true})
				if err != nil || res.Sessions != 1 || len(res.Stranded) != 1 || res.Stranded[0].ID != uid {
					t.Fatalf("revoke: %+v %v", res, err)
				}
				if _, err := d.GetPasskey(ctx, s, rawID, "passkey"); !errors.Is(err, passkey.ErrNotFound) {
					t.Fatalf("revoked passkey still there: %v", err)
				}
				if n := countRows(t, d, ba.Passkey.Name, "session"); !slices.Equal(n, []int{1, 0}) {
					t.Fatalf("rows after revoke %v", n)
				}
				if err := d.ListOrphans(ctx, s, store.ListOptions{ProviderID: "passkey"}, func(store.Orphan) error { return nil }); !errors.Is(err, passkey.ErrInvalid) {
					t.Fatalf("orphans on Better Auth: %v", err)
				}
			})
		}
	}
}

// TestBackupRestore is revoke --backup followed by import: the passkeys
// are exported before they are revoked, imported back, and the apps'
// real sign-ins verify against the restored rows.
func TestBackupRestore(t *testing.T) {
	ctx := context.Background()
	t.Run("authjs", func(t *testing.T) {
		ax := loadCeremony(t, "authjs-registration-postgres.json")
		_, d := dbtest.Migrated(t, "mysql")
		s := detect(t, d)
		insertFixture(t, d, s, loadFixture(t))
		raw := mustDecode(t, ax.Registration.ResponseJSON.ID)
		before := authjsRows(t, d, s)
		backupAndRestore(t, d, s, raw)
		if after := authjsRows(t, d, s); !slices.Equal(after, before) {
			t.Fatalf("restored rows differ:\n%v\n%v", after, before)
		}
		p, err := d.GetPasskey(ctx, s, raw, "passkey")
		if err != nil || p.Status != passkey.StatusOK {
			t.Fatalf("%+v %v", p, err)
		}
		if err := verifyStored(t, ax, p.CredentialID, p.PublicKey, p.CredentialDeviceType, p.CredentialBackedUp, p.Counter); err != nil {
			t.Fatalf("restored passkey does not verify: %v", err)
		}
	})
	t.Run("better-auth", func(t *testing.T) {
		bx := loadCeremony(t, "betterauth-registration-postgres.json")
		fxRow := bx.Registration.RowsWritten["passkey"][0]
		_, d := dbtest.BetterAuth(t, "sqlite", dbtest.BetterAuthOptions{})
		s := detect(t, d)
		uid := baUser(t, d, s, "q24SsGdoIXwYPGrr6eHR7fyorwYoBf27", "fixture@example.com", "Fixture")
		name, aaguid := "fixture key", str(fxRow["aaguid"])
		created := time.Date(2026, 11, 25, 1, 52, 45, 510_000_000, time.UTC)
		if _, err := d.InsertBetterAuthPasskey(ctx, s, db.BetterAuthPasskey{
			ID: str(fxRow["id"]), Name: &name, PublicKey: str(fxRow["publicKey"]), UserID: uid, CredentialID: str(fxRow["credentialID"]),
			DeviceType: "multiDevice", BackedUp: true, Transports: ptr("hybrid,internal"), AAGUID: &aaguid, CreatedAt: &created,
		}, db.BetterAuthInsertOptions{}); err != nil {
			t.Fatal(err)
		}
		raw := mustDecode(t, bx.Registration.ResponseJSON.ID)
		backupAndRestore(t, d, s, raw)
		r, err := d.GetBetterAuthPasskey(ctx, s, bx.Registration.ResponseJSON.ID)
		if err != nil {
			t.Fatal(err)
		}
		// Everything but the row's own id comes back.
		if r.Name == nil || *r.Name != name || r.AAGUID == nil || *r.AAGUID != aaguid || r.CreatedAt == nil || !r.CreatedAt.Equal(created) ||
			r.Transports == nil || *r.Transports != "hybrid,internal" || r.UserID != uid || r.ID == str(fxRow["id"]) {
			t.Fatalf("restored %+v", r)
		}
		if err := verifyStored(t, bx, r.CredentialID, r.PublicKey, r.DeviceType, r.BackedUp, r.Counter); err != nil {
			t.Fatalf("restored passkey does not verify: %v", err)
		}
	})
}

// backupAndRestore saves the passkey as revoke --backup does, revokes it,
// and imports the backup.
func backupAndRestore(t *testing.T, d *db.DB, s *db.Schema, raw []byte) {
	t.Helper()
	ctx := context.Background()
	var backup bytes.Buffer
	w := passkey.NewExportWriter(&backup)
	if err := d.ExportPasskeys(ctx, s, store.ExportOptions{ProviderID: "passkey", CredentialIDs: [][]byte{raw, raw, []byte("not stored")}}, w.Write); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(backup.String(), "\n"); n != 1 {
		t.Fatalf("backup has %d lines:\n%s", n, backup.String())
	}
	found, err := d.ResolveCredentials(ctx, s, []string{passkey.Base64URL(raw)}, "passkey")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Revoke(ctx, s, found, store.RevokeOptions{ProviderID: "passkey"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.GetPasskey(ctx, s, raw, "passkey"); !errors.Is(err, passkey.ErrNotFound) {
		t.Fatalf("not revoked: %v", err)
	}
	res, err := d.Import(ctx, s, &backup, store.ImportOptions{ProviderID: "passkey"})
	if err != nil || res.Inserted != 1 {
		t.Fatalf("restore: %+v %v", res, err)
	}
}
