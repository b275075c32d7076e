package db_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
)

// statsTarget is the target for `passkeyctl stats` on 1,000,000
// passkeys in PostgreSQL.
const statsTarget = 2 * time.Second

// BenchmarkStats1M measures `passkeyctl stats` (the real binary, start-up
// and schema detection included) against 1,000,000 passkeys in PostgreSQL
// generated as for BenchmarkPasskeys1M, best of three runs, and reports
// its time relative to psql running the same three queries (x-psql). It
// fails when the full-size run takes more than 2 s; PASSKEYCTL_BENCH_USERS
// makes it small for a quick run (10 passkeys per user), and then the
// target is not held.
//
//	go test ./internal/db -run '^$' -bench Stats1M -benchtime 1x
func BenchmarkStats1M(b *testing.B) {
	users := dbtest.BenchUsers(b, benchUsers)
	dsn, _ := generatedDB(b, "postgres", users)
	bin := buildPasskeyctl(b)

	// What stats runs on an Auth.js schema (internal/db/stats.go), as psql
	// runs it: one after the other in one session, with the same work_mem.
	statsSQL := strings.Join([]string{
		`SET work_mem = '32MB'`,
		`SELECT CASE WHEN ac."userId" IS NULL THEN 'no-account' WHEN ac."userId" <> a."userId" THEN 'account-user-mismatch'
			WHEN u."id" IS NULL THEN 'no-user' ELSE 'ok' END, (SUBSTR(a."credentialPublicKey", 1, 12)) COLLATE "C", a."credentialDeviceType",
			a."credentialBackedUp", NULL, COUNT(*) FROM "Authenticator" a LEFT JOIN "User" u ON u."id" = a."userId"
			LEFT JOIN "Account" ac ON ac."provider" = 'passkey' AND ac."providerAccountId" = a."providerAccountId" GROUP BY 1, 2, 3, 4`,
		`SELECT COUNT(*), SUM(CASE WHEN n = 1 AND single = 1 THEN 1 ELSE 0 END) FROM (SELECT COUNT(*) AS n,
			MAX(CASE WHEN a."credentialDeviceType" = 'singleDevice' AND NOT a."credentialBackedUp" THEN 1 ELSE 0 END) AS single
			FROM "Authenticator" a GROUP BY (a."userId") COLLATE "C") t`,
		`SELECT COUNT(*) FROM "Account" ac WHERE ac."provider" = 'passkey' AND ac."type" = 'webauthn'
			AND NOT EXISTS (SELECT 1 FROM "Authenticator" a WHERE a."credentialID" = ac."providerAccountId")`,
	}, "; ")
	statsSQL = strings.Join(strings.Fields(statsSQL), " ")
	psql, psqlErr := exec.LookPath("psql")

	var ours, theirs time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for run := 0; run < 3; run++ {
			start := time.Now()
			runToDevNull(b, bin, "--dsn", dsn, "stats", "-o", "prometheus")
			ours = minDuration(ours, time.Since(start))
			if psqlErr == nil {
				b.StopTimer()
				start = time.Now()
				runToDevNull(b, psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", pgURL(dsn), "-c", statsSQL)
				theirs = minDuration(theirs, time.Since(start))
				b.StartTimer()
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(ours.Seconds()*1000, "ms-best")
	if psqlErr != nil {
		b.Logf("psql not installed: no x-psql comparison")
	} else {
		b.ReportMetric(ours.Seconds()/theirs.Seconds(), "x-psql")
	}
	b.Logf("%d passkeys: passkeyctl stats %s, psql running the same queries %s (best of 3 each)",
		users*benchPerUser, ours.Round(time.Millisecond), theirs.Round(time.Millisecond))
	if users >= benchUsers && ours > statsTarget {
		b.Errorf("passkeyctl stats took %s on %d passkeys, want < %s", ours.Round(time.Millisecond), users*benchPerUser, statsTarget)
	}

	// Untimed: the counts are the generated ones (dbtest.GeneratePasskeys:
	// every third passkey single-device and not backed up, 10 per user).
	out, err := exec.Command(bin, "--dsn", dsn, "stats", "-o", "json").Output()
	if err != nil {
		b.Fatal(err)
	}
	var got struct {
		Passkeys, UsersWithPasskeys, UsersSingleDeviceOnly, Orphans int64
		ByStatus, ByAlgorithm                                       map[string]int64
	}
	if err := json.Unmarshal(out, &got); err != nil {
		b.Fatal(err)
	}
	total := int64(users * benchPerUser)
	if got.Passkeys != total || got.UsersWithPasskeys != int64(users) || got.UsersSingleDeviceOnly != 0 || got.Orphans != 0 ||
		got.ByStatus["ok"] != total || got.ByAlgorithm["ES256"] != total {
		b.Errorf("stats of the generated passkeys: %s", out)
	}
}
