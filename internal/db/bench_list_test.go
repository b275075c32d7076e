package db_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// listBenchMaxRSS is issue 13's memory target for list and export: the
// process's peak RSS stays under 64 MiB however large the table.
const listBenchMaxRSS = 64 << 10 // KiB

// listBenchRuns is how often the binary and the reference client each
// run, alternating; the best run of each is compared.
const listBenchRuns = 3

// BenchmarkList1M is issue 13's speed target for reading every passkey:
// `list -o jsonl` and `export` (the real binary, to /dev/null) against
// 1,000,000 Auth.js passkeys (100,000 users of 10, dbtest.GeneratePasskeys;
// PASSKEYCTL_BENCH_USERS sets the number of users) on each dialect, each
// next to the database's own command-line client printing the same rows:
//
//   - PostgreSQL: psql -c "\copy (SELECT ...) TO STDOUT";
//   - MySQL/MariaDB: mariadb (or mysql) --batch --quick --skip-column-names
//     -e "SELECT ...";
//   - SQLite: sqlite3 -csv FILE "SELECT ...". CSV rather than -json: like
//     psql's \copy and mariadb's --batch it prints the rows as they come
//     (-json writes more bytes per row and, in sqlite3 3.40, one JSON array
//     of the whole result, not JSON Lines), so every dialect is held to its
//     client's plainest dump of the rows.
//
// The reference runs exactly the SELECT passkeyctl sends: list and export
// first run in process through a traced connection (dbtest.Trace), and
// the statement that reads the Authenticator table, with its provider
// arguments written in as literals, is what the client runs (same joins,
// same columns, same ORDER BY). Run it with `make bench` or:
//
//	go test ./internal/db -run '^$' -bench List1M -benchtime 1x -timeout 60m
//
// Each sub-benchmark (DIALECT/list_jsonl, DIALECT/export) runs the binary
// and the client listBenchRuns times each, alternating, and reports, from
// the best run of each: x-CLIENT (the binary's wall time over the
// client's; issue 13's target is 1.05, reported, not enforced), rows/s
// and cpu-µs/row (the binary's user + system time per row; on SQLite it
// includes the query's execution, which is in the process), and
// maxrss-MiB, the binary's peak RSS over all runs (through the
// rssHelperEnv helper), which fails the benchmark at 64 MiB or more; and
// x-driver, the best of listBenchRuns in-process reads of the same SELECT
// through the driver alone (driverFloor) over the client's time, which
// says how much of the ratio the driver leaves to passkeyctl.
// Untimed, the binary's and the client's output are then counted: each
// must print one line per passkey, or the benchmark fails. ns/op counts
// all of the binary's runs. A missing client fails the benchmark: the
// ratio is what it is for.
func BenchmarkList1M(b *testing.B) {
	users := dbtest.BenchUsers(b, benchUsers)
	rows := users * benchPerUser
	bin := buildPasskeyctl(b)
	for _, dialect := range dbtest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			dsn, d := generatedDB(b, dialect, users)
			list, export := passkeyctlSelects(b, dsn)
			b.Logf("%s: the SELECTs passkeyctl sends (the client runs them with the plain columns):\n\tlist:   %s\n\texport: %s", dialect, list.sent, export.sent)
			for _, c := range []struct {
				name  string
				query sentSelect
				args  []string
			}{
				{"list_jsonl", list, []string{"list", "-o", "jsonl"}},
				{"export", export, []string{"export"}},
			} {
				b.Run(c.name, func(b *testing.B) {
					ours := append([]string{bin, "--dsn", dsn}, c.args...)
					benchAgainstClient(b, dialect, ours, selectClient(b, dialect, dsn, c.query.plain), driverFloor(b, d, c.query.sent, rows), rows)
				})
			}
		})
	}
}

// benchAgainstClient times the command ours against the reference client
// command ref, best of listBenchRuns each, alternating, reports the
// figures BenchmarkList1M describes, and checks both print rows lines.
// floor, run in the same rotation, is the driver's share (driverFloor):
// reported as x-driver, its wall time over the client's.
func benchAgainstClient(b *testing.B, dialect string, ours, ref []string, floor func() runUsage, rows int) {
	name := filepath.Base(ref[0])
	var best, bestRef, bestFloor runUsage
	var maxRSS int64
	var oursAll, refAll []time.Duration
	for i := 0; i < b.N; i++ {
		for run := 0; run < listBenchRuns; run++ {
			u := runPeakRSS(b, ours[0], ours[1:]...)
			best = best.faster(u)
			maxRSS = max(maxRSS, u.MaxRSSKiB)
			oursAll = append(oursAll, u.Wall)
			b.StopTimer()
			r := runPeakRSS(b, ref[0], ref[1:]...)
			bestRef = bestRef.faster(r)
			refAll = append(refAll, r.Wall)
			bestFloor = bestFloor.faster(floor())
			b.StartTimer()
		}
	}
	b.StopTimer()
	ratio := best.Wall.Seconds() / bestRef.Wall.Seconds()
	b.ReportMetric(ratio, "x-"+name)
	b.ReportMetric(float64(rows)/best.Wall.Seconds(), "rows/s")
	b.ReportMetric(float64(best.CPU.Nanoseconds())/float64(rows)/1000, "cpu-µs/row")
	b.ReportMetric(float64(maxRSS)/1024, "maxrss-MiB")
	b.ReportMetric(bestFloor.Wall.Seconds()/bestRef.Wall.Seconds(), "x-driver")
	b.Logf("%s %s: the driver alone (the same SELECT as sent, read in process through database/sql into sql.RawBytes, nothing decoded or written): %s (CPU %s, %.2f µs per row), %.2f x %s",
		dialect, strings.Join(ours[3:], " "), bestFloor.Wall.Round(time.Millisecond), bestFloor.CPU.Round(time.Millisecond),
		float64(bestFloor.CPU.Nanoseconds())/float64(rows)/1000, bestFloor.Wall.Seconds()/bestRef.Wall.Seconds(), name)
	b.Logf("%s %s, %d passkeys: passkeyctl %s (runs %s; CPU %s), %s %s (runs %s; CPU %s, peak RSS %.1f MiB): ratio %.2f (issue 13: <= 1.05); passkeyctl peak RSS %.1f MiB",
		dialect, strings.Join(ours[3:], " "), rows, best.Wall.Round(time.Millisecond), roundAll(oursAll), best.CPU.Round(time.Millisecond),
		name, bestRef.Wall.Round(time.Millisecond), roundAll(refAll), bestRef.CPU.Round(time.Millisecond), float64(bestRef.MaxRSSKiB)/1024,
		ratio, float64(maxRSS)/1024)
	if maxRSS >= listBenchMaxRSS {
		b.Errorf("%s: passkeyctl %s: peak RSS %d KiB, want < 64 MiB", dialect, strings.Join(ours[3:], " "), maxRSS)
	}
	// Untimed: both printed every row, one line each.
	if n := countLines(b, ours); n != rows {
		b.Fatalf("%s: passkeyctl %s printed %d lines, want %d", dialect, strings.Join(ours[3:], " "), n, rows)
	}
	if n := countLines(b, ref); n != rows {
		b.Fatalf("%s: %s printed %d lines, want %d: not the same rows", dialect, name, n, rows)
	}
}

// sentSelect is a SELECT passkeyctl sends, with its arguments written in
// as SQL literals: as sent, and plain, with the driver's wrapping
// undone (withoutRawText) for the reference client.
type sentSelect struct{ sent, plain string }

// passkeyctlSelects returns the SELECT that `list` and the one that
// `export` send to read the whole Authenticator table of dsn, as they
// build it: each runs in process (the store the CLI opens, default
// provider id "passkey") through a traced connection and stops after the
// first row. The statement's arguments (the provider id) are written in
// as SQL literals, so that a command-line client can run the same text.
func passkeyctlSelects(b *testing.B, dsn string) (list, export sentSelect) {
	b.Helper()
	ctx := context.Background()
	d := dbtest.Open(b, dsn)
	s, err := d.DetectForStore(ctx)
	if err != nil {
		b.Fatal(err)
	}
	rec := dbtest.Record(b, d)
	st := &db.Store{DB: d, Schema: s, ProviderID: "passkey"}
	errEnough := errors.New("one row is enough")
	from := " FROM " + d.Dialect.Quote("Authenticator") + " a "
	capture := func(what string, read func() error) sentSelect {
		rec.Take()
		if err := read(); !errors.Is(err, errEnough) {
			b.Fatalf("%s in process: %v, want to stop after the first row", what, err)
		}
		// Both have closed their rows, which reports the statement.
		var found []dbtest.Statement
		for _, s := range rec.Take() {
			if strings.HasPrefix(s.Query, "SELECT ") && strings.Contains(s.Query, from) {
				found = append(found, s)
			}
		}
		if len(found) != 1 {
			var qs []string
			for _, s := range found {
				qs = append(qs, s.Query)
			}
			b.Fatalf("%s sent %d SELECTs of the Authenticator table, want 1: %q", what, len(found), qs)
		}
		sent := inlineArgs(b, d.Dialect, found[0])
		return sentSelect{sent: sent, plain: withoutRawText(sent)}
	}
	list = capture("list", func() error {
		return st.ListPasskeys(ctx, store.ListOptions{}, func(passkey.Passkey) error { return errEnough })
	})
	export = capture("export", func() error {
		return st.Export(ctx, store.ExportOptions{}, func(passkey.ExportRecord) error { return errEnough })
	})
	return list, export
}

// driverFloor returns a run of query (as passkeyctl sends it) read in
// this process through d's connections (db.Open's: lib/pq with
// passkeyctl's socket buffer on PostgreSQL), every column scanned into
// sql.RawBytes and nothing else done: what any client of the driver pays
// before decoding or writing a row, and so how near the client passkeyctl
// can get through it. It fails unless rows rows arrive. CPU is this
// process's user and system time over the run.
func driverFloor(b *testing.B, d *db.DB, query string, rows int) func() runUsage {
	return func() runUsage {
		b.Helper()
		cpu0, start := processCPU(), time.Now()
		rs, err := d.X.QueryContext(context.Background(), query)
		if err != nil {
			b.Fatal(err)
		}
		defer rs.Close()
		cols, err := rs.Columns()
		if err != nil {
			b.Fatal(err)
		}
		dst := make([]any, len(cols))
		for i := range dst {
			dst[i] = new(sql.RawBytes)
		}
		n := 0
		for rs.Next() {
			if err := rs.Scan(dst...); err != nil {
				b.Fatal(err)
			}
			n++
		}
		if err := rs.Err(); err != nil {
			b.Fatal(err)
		}
		if n != rows {
			b.Fatalf("driver floor: %d rows, want %d", n, rows)
		}
		return runUsage{Wall: time.Since(start), CPU: processCPU() - cpu0}
	}
}

// processCPU is this process's user and system time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var pgPlaceholder = regexp.MustCompile(`\$[0-9]+`)

// rawTextCall is Dialect.RawText's wrapping on PostgreSQL.
var rawTextCall = regexp.MustCompile(`textout\(\(([^()]*)\)::text\)`)

// withoutRawText is query with the columns passkeyctl wraps for its driver
// (Dialect.RawText: textout on PostgreSQL, which costs the server about
// 7% on a million rows) unwrapped: the reference client reads the plain
// columns, its fastest way to print the same rows.
func withoutRawText(query string) string {
	return rawTextCall.ReplaceAllString(query, "$1")
}

// inlineArgs returns s's query with each placeholder replaced by its
// argument as a SQL string literal. Only plain strings are accepted (the
// provider ids list and export pass); a placeholder left over or an
// argument without its placeholder fails.
func inlineArgs(b *testing.B, dialect *db.Dialect, s dbtest.Statement) string {
	b.Helper()
	lits := make([]string, len(s.Args))
	for i, a := range s.Args {
		v, ok := a.(string)
		if !ok || strings.ContainsAny(v, `'\`) {
			b.Fatalf("argument %d of %q is %#v: want a plain string", i+1, s.Query, a)
		}
		lits[i] = "'" + v + "'"
	}
	var q string
	if dialect == db.Postgres {
		used := 0
		q = pgPlaceholder.ReplaceAllStringFunc(s.Query, func(p string) string {
			n, _ := strconv.Atoi(p[1:])
			if n < 1 || n > len(lits) {
				b.Fatalf("placeholder %s of %q has no argument", p, s.Query)
			}
			used = max(used, n)
			return lits[n-1]
		})
		if used != len(lits) {
			b.Fatalf("%q uses %d of its %d arguments", s.Query, used, len(lits))
		}
	} else {
		parts := strings.Split(s.Query, "?")
		if len(parts)-1 != len(lits) {
			b.Fatalf("%q has %d placeholders for %d arguments", s.Query, len(parts)-1, len(lits))
		}
		var sb strings.Builder
		for i, p := range parts {
			sb.WriteString(p)
			if i < len(lits) {
				sb.WriteString(lits[i])
			}
		}
		q = sb.String()
	}
	if strings.ContainsAny(q, "\n;") {
		b.Fatalf("%q: want one statement on one line (psql's \\copy takes one line)", q)
	}
	return q
}

// selectClient returns the command line of the dialect's own client that
// prints the rows of query from dsn's database, one line per row, the
// fastest way it has (see BenchmarkList1M). A client that is not
// installed fails the benchmark.
func selectClient(b *testing.B, dialect, dsn, query string) []string {
	b.Helper()
	var name string
	var args []string
	switch dialect {
	case "postgres":
		name, args = "psql", []string{"-X", "-q", "-v", "ON_ERROR_STOP=1", pgURL(dsn), "-c", `\copy (` + query + `) TO STDOUT`}
	case "mysql":
		var err error
		if name, args, err = mariadbClient(dsn); err != nil {
			b.Fatal(err)
		}
		args = append(args, "--batch", "--quick", "--skip-column-names", "-e", query)
	default:
		name, args = "sqlite3", []string{"-bail", "-csv", strings.TrimPrefix(dsn, "sqlite:"), query}
	}
	bin, err := exec.LookPath(name)
	if err != nil {
		b.Fatalf("%s: %v: the reference client of issue 13's target is needed (.ci/run installs it)", dialect, err)
	}
	return append([]string{bin}, args...)
}

// countLines runs the command line cmd and returns how many lines it
// printed, without keeping them.
func countLines(b *testing.B, cmd []string) int {
	b.Helper()
	var stderr strings.Builder
	var n lineCounter
	c := exec.Command(cmd[0], cmd[1:]...)
	c.Stdout = &n
	c.Stderr = &stderr
	c.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + b.TempDir()}
	if err := c.Run(); err != nil {
		b.Fatalf("%s: %v\n%s", filepath.Base(cmd[0]), err, stderr.String())
	}
	return int(n)
}

// lineCounter is an io.Writer that counts the newlines written to it.
type lineCounter int

func (n *lineCounter) Write(p []byte) (int, error) {
	*n += lineCounter(bytes.Count(p, []byte{'\n'}))
	return len(p), nil
}

func TestWithoutRawText(t *testing.T) {
	in := `SELECT textout((a."credentialID")::text), a."counter", textout((NULL)::text), CASE WHEN ac."userId" IS NULL THEN 1 ELSE 0 END FROM "Authenticator" a`
	want := `SELECT a."credentialID", a."counter", NULL, CASE WHEN ac."userId" IS NULL THEN 1 ELSE 0 END FROM "Authenticator" a`
	if got := withoutRawText(in); got != want {
		t.Fatalf("withoutRawText:\n got %s\nwant %s", got, want)
	}
	if got := withoutRawText(db.Postgres.RawText(`u."email"`)); got != `u."email"` {
		t.Fatalf("withoutRawText does not undo Dialect.RawText: %s", got)
	}
}
