package db_test

import (
	"context"
	"strings"
	"testing"

	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
)

// TestPrefixMatch_sqliteUsesIndex: completion and credential-ID prefixes
// (revoke INbbybro…) look IDs up by prefix; on SQLite the test must go
// through the credentialID index (LIKE, which ignores case, scanned it),
// with the prefix bound as a parameter as the code binds it, and match
// exactly (case-sensitively).
func TestPrefixMatch_sqliteUsesIndex(t *testing.T) {
	_, d := dbtest.Migrated(t, "sqlite")
	ctx := context.Background()
	dbtest.Exec(t, d,
		`INSERT INTO "User" ("id", "email", "updatedAt") VALUES ('u1', 'a@x.io', 0)`,
		`INSERT INTO "Authenticator" ("credentialID", "userId", "providerAccountId", "credentialPublicKey", "counter", "credentialDeviceType", "credentialBackedUp") VALUES ('QUJD*REVG', 'u1', 'x', 'k', 0, 'singleDevice', 0), ('qujdrevg', 'u1', 'y', 'k', 0, 'singleDevice', 0), ('QUJDxREVG', 'u1', 'z', 'k', 0, 'singleDevice', 0)`)
	match, arg := d.Dialect.PrefixMatch(`"credentialID"`, "QUJD*")
	rows, err := d.X.QueryContext(ctx, `EXPLAIN QUERY PLAN SELECT "credentialID" FROM "Authenticator" WHERE `+match, arg)
	if err != nil {
		t.Fatal(err)
	}
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	rows.Close()
	if p := strings.Join(plan, "; "); !strings.Contains(p, "SEARCH") {
		t.Errorf("prefix lookup does not search the index: %s", p)
	}
	s, err := d.Detect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.CompleteCredentialIDs(ctx, s, "QUJD*", 10)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "QUJD*REVG" {
		t.Errorf("CompleteCredentialIDs(QUJD*) = %v, want only QUJD*REVG (the * is no wildcard, case matters)", got)
	}
}
