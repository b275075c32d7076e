package db_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
)

// sqliteBenchPasskeys fills a SQLite database made by migrate --core with n
// users of one passkey each (credential IDs Q0000001AAA=, ...), in SQL.
func sqliteBenchPasskeys(b *testing.B, n int) string {
	b.Helper()
	dsn := "sqlite:" + filepath.Join(b.TempDir(), "bench.db")
	d := dbtest.Open(b, dsn)
	runToDevNull(b, buildPasskeyctl(b), "--dsn", dsn, "migrate", "--core")
	cte := fmt.Sprintf("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < %d) ", n)
	dbtest.Exec(b, d,
		cte+`INSERT INTO "User" ("id", "email", "updatedAt") SELECT 'u' || i, 'u' || i || '@x.io', 0 FROM n`,
		cte+`INSERT INTO "Account" ("userId", "type", "provider", "providerAccountId", "updatedAt") SELECT 'u' || i, 'webauthn', 'passkey', printf('Q%07dAAA=', i), 0 FROM n`,
		cte+`INSERT INTO "Authenticator" ("credentialID", "userId", "providerAccountId", "credentialPublicKey", "counter", "credentialDeviceType", "credentialBackedUp") SELECT printf('Q%07dAAA=', i), 'u' || i, printf('Q%07dAAA=', i), 'pQECAyYgASFYIMAYEZESxZA8Oph6Bewn9vMntNwy+Ca7PZbKcHhUMANrIlggZLbNNdO6oJ/2NtR8/An2CHU8ASi/rqmwaztKfyYows4=', 0, 'singleDevice', 0 FROM n`,
	)
	return dsn
}

// BenchmarkRevokeFromFile_SQLite: the real binary, `revoke --yes
// --from-file` with 10,000 IDs out of 50,000 passkeys on SQLite. Each
// statement of the revoke must find its rows through an index: before the
// Account DELETE put the provider into each OR term, SQLite read every
// passkey's Account row per 500 IDs (18.4 s for the run; 2.0 s after, on
// the 2-core test machine). It fails if the query plan of the Account
// DELETE scans the table.
//
//	go test ./internal/db -run '^$' -bench RevokeFromFile_SQLite -benchtime 1x
func BenchmarkRevokeFromFile_SQLite(b *testing.B) {
	const total, n = 50_000, 10_000
	bin := buildPasskeyctl(b)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dsn := sqliteBenchPasskeys(b, total)
		path := filepath.Join(b.TempDir(), "ids.txt")
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		w := bufio.NewWriter(f)
		for k := 1; k <= total; k += total / n {
			fmt.Fprintf(w, "Q%07dAAA=\n", k)
		}
		w.Flush()
		f.Close()
		d := dbtest.Open(b, dsn)
		// The plan of one Account DELETE term, as revoke writes it.
		var plan []string
		// A whole batch of 500, as revoke sends it: the planner's choice
		// depends on the number of terms.
		var tuples [][]string
		for k := 1; k <= 500; k++ {
			tuples = append(tuples, []string{fmt.Sprintf("u%d", k), fmt.Sprintf("Q%07dAAA=", k)})
		}
		where, args := d.AccountDeleteWhere("passkey", tuples)
		rows, err := d.X.QueryContext(context.Background(), d.Dialect.Rebind(`EXPLAIN QUERY PLAN DELETE FROM "Account" WHERE `+where), args...)
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				b.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		for _, p := range plan {
			// Every lookup must use both key columns, not provider alone
			// (which matches every passkey's Account row).
			if strings.Contains(p, "SCAN ") || strings.Contains(p, "SEARCH ") && !strings.Contains(p, "providerAccountId=?") {
				b.Fatalf("the Account DELETE reads more than the rows it deletes: %s", strings.Join(plan, "; "))
			}
		}
		b.StartTimer()
		runToDevNull(b, bin, "--dsn", dsn, "revoke", "--yes", "--from-file", path, "-o", "jsonl")
		b.StopTimer()
		var left int
		if err := d.X.Get(&left, `SELECT COUNT(*) FROM "Account"`); err != nil {
			b.Fatal(err)
		}
		if left != total-n {
			b.Fatalf("%d Account rows left, want %d", left, total-n)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/revoke-10k")
}
