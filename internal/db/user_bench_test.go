package db_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
)

// BenchmarkFindUser measures FindUser by e-mail in an Auth.js User table of
// 100,000 users (PASSKEYCTL_BENCH_USERS overrides), per dialect: the e-mail
// as stored (the exact test, through the e-mail index) and in another case
// (the case-insensitive fallback: the e-mail index on MySQL/MariaDB, a read
// of the whole table on PostgreSQL and SQLite; see FindUser). Run it with:
//
//	go test ./internal/db -run '^$' -bench FindUser -benchtime 200x
func BenchmarkFindUser(b *testing.B) {
	users := dbtest.BenchUsers(b, 100_000)
	ctx := context.Background()
	for _, dialect := range dbtest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			_, d := dbtest.Migrated(b, dialect)
			s, err := d.Detect(ctx)
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			fillUsers(b, d, users)
			b.Logf("%s: %d users in %s", dialect, users, time.Since(start).Round(time.Millisecond))
			for _, c := range []struct {
				name string
				ref  func(u int) string
			}{
				{"exact", dbtest.BenchEmail},
				{"other_case", func(u int) string { return strings.ToUpper(dbtest.BenchEmail(u)) }},
			} {
				b.Run(c.name, func(b *testing.B) { benchFind(b, d, s, users, c.ref) })
			}
			// The index migrate status offers for the case-insensitive
			// lookup (none is needed on MySQL/MariaDB), then the same
			// lookup again: the target is 5 ms at 100,000 users.
			st, err := d.MigrationStatus(ctx, migrations(b, d))
			if err != nil {
				b.Fatal(err)
			}
			for _, w := range st.Warnings {
				if strings.Contains(w.Message, "no index on lower(email)") {
					dbtest.Exec(b, d, strings.TrimSuffix(w.FixSQL, ";"))
					if d.Dialect == db.Postgres {
						dbtest.Exec(b, d, `ANALYZE "User"`)
					}
					b.Run("other_case_with_offered_index", func(b *testing.B) {
						benchFind(b, d, s, users, func(u int) string { return strings.ToUpper(dbtest.BenchEmail(u)) })
					})
				}
			}
		})
	}
}

// benchFind runs FindUser b.N times on users picked across the table and
// reports ms per call.
func benchFind(b *testing.B, d *db.DB, s *db.Schema, users int, ref func(u int) string) {
	ctx := context.Background()
	for i := range b.N {
		u := i*7919%users + 1
		if got, err := d.FindUser(ctx, s, ref(u)); err != nil || got.ID != dbtest.BenchUserID(u) {
			b.Fatalf("FindUser(%s) = %+v, %v", ref(u), got, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/call")
}

// fillUsers inserts users 1..n (dbtest.BenchUserID, dbtest.BenchEmail) in
// one transaction, 1,000 per statement.
func fillUsers(b *testing.B, d *db.DB, n int) {
	b.Helper()
	var updated any = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	if d.Dialect == db.SQLite {
		updated = updated.(time.Time).UnixMilli() // Prisma's DATETIME
	}
	tx, err := d.X.Begin()
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	const per = 1000
	for first := 1; first <= n; first += per {
		var marks []string
		var args []any
		for u := first; u < first+per && u <= n; u++ {
			marks = append(marks, "(?, ?, ?)")
			args = append(args, dbtest.BenchUserID(u), dbtest.BenchEmail(u), updated)
		}
		q := "INSERT INTO " + d.Q("User") + " (" + d.Q("id") + ", " + d.Q("email") + ", " + d.Q("updatedAt") + ") VALUES " + strings.Join(marks, ", ")
		if _, err := tx.Exec(d.Dialect.Rebind(q), args...); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if d.Dialect == db.Postgres {
		if _, err := d.X.Exec(`ANALYZE "User"`); err != nil {
			b.Fatal(err)
		}
	}
}
