package db_test

import (
	"strings"
	"testing"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// authenticatorFKs returns the Authenticator table's foreign keys on
// userId.
func authenticatorFKs(t *testing.T, d *db.DB) []db.ForeignKey {
	t.Helper()
	s := migDetect(t, d)
	var out []db.ForeignKey
	for _, fk := range s.Authenticator.ForeignKeys {
		if len(fk.Columns) == 1 && fk.Columns[0] == "userId" {
			out = append(out, fk)
		}
	}
	return out
}

// On a database whose Auth.js tables have no foreign keys (Prisma's
// relationMode = "prisma", PlanetScale), migrate creates Authenticator the
// same way: no foreign key, an index on userId, recorded under the
// variant's own name so that status later finds its checksum unchanged.
// A passkey whose User row is then deleted is listed no-user.
func TestMigrate_noForeignKeys(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		d := dbtest.Open(t, dsn)
		loadDDL(t, d, "relationmode", false)
		res := migRun(t, d, db.MigrateOptions{})
		if len(res.Applied) != 1 || res.Applied[0] != "0001_authenticator.nofk.sql" {
			t.Fatalf("applied %v, want [0001_authenticator.nofk.sql]", res.Applied)
		}
		if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "no foreign key") {
			t.Fatalf("notes %q: want one saying there is no foreign key", res.Notes)
		}
		if !strings.Contains(strings.Join(res.SQL, "\n"), "Authenticator_userId_idx") || strings.Contains(strings.Join(res.SQL, "\n"), "FOREIGN KEY") {
			t.Fatalf("SQL %q: want an index on userId and no foreign key", res.SQL)
		}
		if fks := authenticatorFKs(t, d); len(fks) != 0 {
			t.Fatalf("foreign keys %+v, want none", fks)
		}
		st := migStatus(t, d)
		if !st.UpToDate() || len(st.Migrations) != 1 || st.Migrations[0].Name != "0001_authenticator.nofk.sql" || st.Migrations[0].State != db.StateApplied {
			t.Fatalf("status %+v", st)
		}
		for _, w := range st.Warnings {
			if strings.Contains(w.Message, "foreign key") {
				t.Fatalf("warning on a database without foreign keys: %s", w.Message)
			}
		}
		if again := migRun(t, d, db.MigrateOptions{}); len(again.Applied)+len(again.Adopted)+len(again.ChecksumChanged) != 0 {
			t.Fatalf("second run %+v", again)
		}

		// No cascade: the passkey outlives its user, and Auth.js cannot sign
		// in with it.
		s := migDetect(t, d)
		insertUser(t, d, s.User.Name, "u_gone")
		insertAuthenticator(t, d, s.Authenticator.Name, false, "u_gone", "Z29uZQ==", dbtest.BenchPublicKey)
		insertAccount(t, d, s, "u_gone", "Z29uZQ==")
		if st := listStatuses(t, d, s); st["Z29uZQ=="] != passkey.StatusOK {
			t.Fatalf("before the user is deleted: %v", st)
		}
		dbtest.Exec(t, d, "DELETE FROM "+d.Q(s.User.Name)+" WHERE "+d.Q("id")+" = 'u_gone'")
		if st := listStatuses(t, d, s); st["Z29uZQ=="] != passkey.StatusNoUser {
			t.Fatalf("after the user is deleted: %v, want no-user", st)
		}
	})
}

// A foreign key missing from the Authenticator table of a database whose
// other Auth.js tables have them is a warning of migrate status, with the
// SQL that adds it (where the dialect can); it does not change the exit
// code.
func TestMigrationStatus_missingForeignKey(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		d := dbtest.Open(t, dsn)
		migRun(t, d, db.MigrateOptions{Core: true})
		switch d.Dialect {
		case db.Postgres:
			dbtest.Exec(t, d, `ALTER TABLE "Authenticator" DROP CONSTRAINT "Authenticator_userId_fkey"`)
		case db.MySQL:
			dbtest.Exec(t, d, "ALTER TABLE `Authenticator` DROP FOREIGN KEY `Authenticator_userId_fkey`")
		default:
			dbtest.Exec(t, d, `ALTER TABLE "Authenticator" RENAME TO "Authenticator_old"`,
				`CREATE TABLE "Authenticator" ("credentialID" TEXT NOT NULL, "userId" TEXT NOT NULL, "providerAccountId" TEXT NOT NULL, "credentialPublicKey" TEXT NOT NULL, "counter" INTEGER NOT NULL, "credentialDeviceType" TEXT NOT NULL, "credentialBackedUp" BOOLEAN NOT NULL, "transports" TEXT, PRIMARY KEY ("userId", "credentialID"))`,
				`DROP TABLE "Authenticator_old"`,
				`CREATE UNIQUE INDEX "Authenticator_credentialID_key" ON "Authenticator"("credentialID")`)
		}
		st := migStatus(t, d)
		var found *store.Warning
		for i, w := range st.Warnings {
			if strings.Contains(w.Message, "no foreign key") {
				found = &st.Warnings[i]
			}
		}
		if found == nil {
			t.Fatalf("no warning about the missing foreign key: %+v", st.Warnings)
		}
		if !st.UpToDate() {
			t.Fatalf("a missing foreign key made status not up to date: %+v", st)
		}
		if d.Dialect == db.SQLite {
			if found.FixSQL != "" || !strings.Contains(found.Message, "recreate") {
				t.Fatalf("SQLite warning %+v: want no ALTER (SQLite has none) and how to recreate", found)
			}
			return
		}
		dbtest.Exec(t, d, strings.TrimSuffix(found.FixSQL, ";"))
		if fks := authenticatorFKs(t, d); len(fks) != 1 || fks[0].RefTable != "User" {
			t.Fatalf("after the fix: foreign keys %+v", fks)
		}
		for _, w := range migStatus(t, d).Warnings {
			if strings.Contains(w.Message, "no foreign key") {
				t.Fatalf("still warned after the fix: %s", w.Message)
			}
		}
	})
}

func insertAccount(t *testing.T, d *db.DB, s *db.Schema, userID, credID string) {
	t.Helper()
	cols := []string{"userId", "type", "provider", "providerAccountId"}
	args := []any{userID, "webauthn", "passkey", credID}
	if s.Account.NeedsValue("updatedAt") {
		cols, args = append(cols, "updatedAt"), append(args, "2025-01-01 00:00:00")
	}
	if s.Account.NeedsValue("id") {
		cols, args = append(cols, "id"), append(args, "acc_"+credID)
	}
	var quoted []string
	for _, c := range cols {
		quoted = append(quoted, d.Q(c))
	}
	q := `INSERT INTO ` + d.Q(s.Account.Name) + ` (` + strings.Join(quoted, ", ") + `) VALUES (?` + strings.Repeat(", ?", len(cols)-1) + `)`
	if _, err := d.X.ExecContext(ctx, d.Dialect.Rebind(q), args...); err != nil {
		t.Fatalf("insert account: %v", err)
	}
}

func listStatuses(t *testing.T, d *db.DB, s *db.Schema) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := d.ListPasskeys(ctx, s, store.ListOptions{ProviderID: "passkey"}, func(p passkey.Passkey) error {
		out[p.CredentialID] = p.Status
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
