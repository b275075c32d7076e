package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
)

// BenchmarkListJSONL_InProcess runs `list -o jsonl` (and `export`) in this
// process, output to /dev/null, on each dialect (postgres, mysql, sqlite
// sub-benchmarks), and reports the client's CPU time per row (user +
// system of the whole process, GC included: the target is
// 1.5 µs) next to the wall time. On SQLite the database engine runs in
// the process too, so its cpu-µs/row includes executing the query (the
// joins and the sort) as well as the client's own work. In process, so
// that -cpuprofile and -memprofile see the command's own work:
//
//	PASSKEYCTL_BENCH_USERS=20000 go test ./cmd/passkeyctl -run '^$' \
//	  -bench 'ListJSONL_InProcess/mysql' -benchtime 1x -cpuprofile cpu.out
//
// It generates PASSKEYCTL_BENCH_USERS users (default 20,000) of 10
// passkeys in a fresh database of each dialect, or uses
// PASSKEYCTL_BENCH_DSN as it is (a database dbtest.GeneratePasskeys
// filled, kept between runs): then only its dialect runs.
func BenchmarkListJSONL_InProcess(b *testing.B) {
	users, perUser := dbtest.BenchUsers(b, 20_000), 10
	kept := os.Getenv("PASSKEYCTL_BENCH_DSN")
	for _, dialect := range dbtest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			dsn := kept
			if dsn == "" {
				var d *db.DB
				dsn, d = dbtest.Migrated(b, dialect)
				if _, err := dbtest.GeneratePasskeys(context.Background(), d, users, perUser); err != nil {
					b.Fatal(err)
				}
			}
			d := dbtest.Open(b, dsn)
			if d.Dialect.Name != dialect {
				b.Skipf("PASSKEYCTL_BENCH_DSN is a %s database", d.Dialect.Name)
			}
			var rows int
			if err := d.X.Get(&rows, "SELECT COUNT(*) FROM "+d.Dialect.Quote("Authenticator")); err != nil {
				b.Fatal(err)
			}
			benchList(b, dsn, rows)
		})
	}
}

func benchList(b *testing.B, dsn string, rows int) {
	for _, c := range []struct {
		name string
		args []string
	}{
		{"list_jsonl", []string{"list", "-o", "jsonl"}},
		{"export", []string{"export"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
			if err != nil {
				b.Fatal(err)
			}
			defer devnull.Close()
			var cpu time.Duration
			for range b.N {
				out := &lineCountingWriter{w: devnull}
				before := rusageCPU()
				var stderr strings.Builder
				if code := run(context.Background(), append([]string{"--dsn", dsn}, c.args...), nil, out, &stderr); code != 0 {
					b.Fatalf("%s: exit %d\n%s", strings.Join(c.args, " "), code, stderr.String())
				}
				cpu += rusageCPU() - before
				if out.lines != rows {
					b.Fatalf("%s printed %d lines, want %d", strings.Join(c.args, " "), out.lines, rows)
				}
			}
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(rows*b.N)/1000, "cpu-µs/row")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rows*b.N)/1000, "wall-µs/row")
		})
	}
}

// lineCountingWriter writes to w and counts the lines written (bytes.Count:
// a few hundredths of a microsecond per row, within the figures' noise).
type lineCountingWriter struct {
	w     io.Writer
	lines int
}

func (c *lineCountingWriter) Write(p []byte) (int, error) {
	c.lines += bytes.Count(p, []byte{'\n'})
	return c.w.Write(p)
}

// rusageCPU is the user and system CPU time this process used so far.
func rusageCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
