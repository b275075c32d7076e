package db_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// auditFixture is one Auth.js passkey of one user.
var auditFixture = []string{
	`INSERT INTO "User" ("id", "email", "updatedAt") VALUES ('u1', 'one@example.com', CURRENT_TIMESTAMP)`,
	`INSERT INTO "Account" ("userId", "type", "provider", "providerAccountId", "updatedAt") VALUES ('u1', 'webauthn', 'passkey', 'AQEBAQEBAQEBAQEBAQEBAQ==', CURRENT_TIMESTAMP)`,
	`INSERT INTO "Authenticator" ("credentialID", "userId", "providerAccountId", "credentialPublicKey", "counter", "credentialDeviceType", "credentialBackedUp", "transports") VALUES ('AQEBAQEBAQEBAQEBAQEBAQ==', 'u1', 'AQEBAQEBAQEBAQEBAQEBAQ==', 'pQECAyYgASFYIMAYEZESxZA8Oph6Bewn9vMntNwy+Ca7PZbKcHhUMANrIlggZLbNNdO6oJ/2NtR8/An2CHU8ASi/rqmwaztKfyYows4=', 5, 'multiDevice', TRUE, 'internal')`,
}

// TestAudit_mysqlUserWithoutCreateDatabase: a MySQL user granted only the
// app's database (managed MySQL) cannot create the database passkeyctl; the
// change is still made and recorded, in the app's own database, with a
// warning that names the cost and the fix, and the log reads back.
func TestAudit_mysqlUserWithoutCreateDatabase(t *testing.T) {
	ctx := context.Background()
	dsn, root := dbtest.Migrated(t, "mysql")
	for _, stmt := range auditFixture {
		dbtest.Exec(t, root, strings.ReplaceAll(stmt, `"`, "`"))
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	database := strings.TrimPrefix(u.Path, "/")
	var b [6]byte
	rand.Read(b[:])
	user := "pk_" + hex.EncodeToString(b[:])
	dbtest.Exec(t, root, "CREATE USER '"+user+"'@'%' IDENTIFIED BY 'Sup3rS3cret'", "GRANT ALL ON `"+database+"`.* TO '"+user+"'@'%'")
	t.Cleanup(func() { root.X.Exec("DROP USER '" + user + "'@'%'") })
	u.User = url.UserPassword(user, "Sup3rS3cret")

	d := dbtest.Open(t, u.String())
	var warnings []string
	d.Audit = &store.AuditContext{Actor: "tester", Command: "passkeyctl revoke", Warn: func(w string) { warnings = append(warnings, w) }}
	s, err := d.DetectForStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st := &db.Store{DB: d, Schema: s, ProviderID: "passkey"}
	ps, err := st.ResolveCredentials(ctx, []string{"AQEBAQEBAQEBAQEBAQEBAQ"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Revoke(ctx, ps, store.RevokeOptions{}); err != nil {
		t.Fatalf("revoke as a user who may not create databases: %v", err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "kept in the app's own database") || !strings.Contains(warnings[0], "GRANT ALL ON passkeyctl.*") {
		t.Errorf("warnings: %q, want one that says where the log is and how to move it", warnings)
	}
	var n int
	if err := root.X.Get(&n, "SELECT COUNT(*) FROM `"+database+"`.`_passkeyctl_audit_passkeys` WHERE `kind` = 'removed'"); err != nil || n != 1 {
		t.Fatalf("the app database's audit rows: %d, %v; want 1", n, err)
	}

	// A later run finds the log where it is, says nothing, and reads it.
	d2 := dbtest.Open(t, u.String())
	warnings = nil
	d2.Audit = &store.AuditContext{Actor: "tester", Warn: func(w string) { warnings = append(warnings, w) }}
	var entries []store.AuditEntry
	if err := d2.AuditLog(ctx, store.AuditFilter{}, func(e store.AuditEntry) error {
		entries = append(entries, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Action != store.AuditRevoke || len(entries[0].Removed) != 1 || entries[0].Removed[0].CredentialID != "AQEBAQEBAQEBAQEBAQEBAQ" {
		t.Fatalf("entries read back: %+v", entries)
	}
	if err := d2.EnsureAudit(ctx); err != nil || len(warnings) != 0 {
		t.Errorf("EnsureAudit on the fallback's tables: %v, warnings %q", err, warnings)
	}
	if _, err := passkey.DecodeBase64(entries[0].Removed[0].PublicKey); err != nil {
		t.Error(err)
	}
}

// TestAudit_firstWritesAtOnce: several passkeyctl runs making the first
// change of a fresh database at the same moment all create, or find, the
// audit tables, and every change is recorded once.
func TestAudit_firstWritesAtOnce(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		const runs = 4
		errs := make(chan error, runs)
		for range runs {
			d := dbtest.Open(t, dsn)
			d.Audit = &store.AuditContext{Actor: "tester"}
			go func() { errs <- d.EnsureAudit(ctx) }()
		}
		for range runs {
			if err := <-errs; err != nil {
				t.Errorf("EnsureAudit at once: %v", err)
			}
		}
		var n int
		d := dbtest.Open(t, dsn)
		if err := d.AuditLog(ctx, store.AuditFilter{}, func(store.AuditEntry) error { n++; return nil }); err != nil || n != 0 {
			t.Errorf("AuditLog of the fresh log: %d entries, %v", n, err)
		}
	})
}

// TestAudit_unrecordableChangeIsNotMade: a revoke whose audit entry
// cannot be written (here the log refuses every row, as it would for a role
// that may delete passkeys but not write the log) fails, and the passkey is
// still there: the change and its entry commit together or not at all. A
// constraint, not a second role, so that it runs through PgBouncer too.
func TestAudit_unrecordableChangeIsNotMade(t *testing.T) {
	ctx := context.Background()
	_, d := dbtest.Migrated(t, "postgres")
	dbtest.Exec(t, d, auditFixture...)
	if err := d.EnsureAudit(ctx); err != nil {
		t.Fatal(err)
	}
	dbtest.Exec(t, d, `ALTER TABLE passkeyctl.audit_log ADD CONSTRAINT refuse_all CHECK (false) NOT VALID`)
	d.Audit = &store.AuditContext{Actor: "tester"}
	s, err := d.DetectForStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st := &db.Store{DB: d, Schema: s, ProviderID: "passkey"}
	ps, err := st.ResolveCredentials(ctx, []string{"AQEBAQEBAQEBAQEBAQEBAQ"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Revoke(ctx, ps, store.RevokeOptions{}); err == nil || !strings.Contains(err.Error(), "audit log") {
		t.Fatalf("revoke whose entry the log refuses: %v, want the audit log's error", err)
	}
	var n int
	if err := d.X.Get(&n, `SELECT COUNT(*) FROM "Authenticator"`); err != nil || n != 1 {
		t.Errorf("passkeys after the refused revoke: %d, %v; want 1", n, err)
	}
	if err := d.X.Get(&n, `SELECT COUNT(*) FROM "Account"`); err != nil || n != 1 {
		t.Errorf("accounts after the refused revoke: %d, %v; want 1", n, err)
	}
}
