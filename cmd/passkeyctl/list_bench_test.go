package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
)

// BenchmarkListJSONL_InProcess runs `list -o jsonl` (and `export`) in this
// process, output to /dev/null, on PostgreSQL, and reports the client's
// CPU time per row (user + system of the whole process, GC included: the
// issue's target is 1.5 µs) next to the wall time. In process, so that
// -cpuprofile and -memprofile see the command's own work:
//
//	PASSKEYCTL_BENCH_USERS=20000 go test ./cmd/passkeyctl -run '^$' \
//	  -bench ListJSONL_InProcess -benchtime 1x -cpuprofile cpu.out
//
// It generates PASSKEYCTL_BENCH_USERS users (default 20,000) of 10
// passkeys in a fresh database, or uses PASSKEYCTL_BENCH_DSN as it is (a
// database dbtest.GeneratePasskeys filled, kept between runs).
func BenchmarkListJSONL_InProcess(b *testing.B) {
	users, perUser := 20_000, 10
	if v := os.Getenv("PASSKEYCTL_BENCH_USERS"); v != "" {
		fmt.Sscan(v, &users)
	}
	dsn := os.Getenv("PASSKEYCTL_BENCH_DSN")
	if dsn == "" {
		var d *db.DB
		dsn, d = dbtest.Migrated(b, "postgres")
		if _, err := dbtest.GeneratePasskeys(context.Background(), d, users, perUser); err != nil {
			b.Fatal(err)
		}
	}
	var rows int
	if err := dbtest.Open(b, dsn).X.Get(&rows, `SELECT COUNT(*) FROM "Authenticator"`); err != nil {
		b.Fatal(err)
	}
	benchList(b, dsn, rows)
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
				before := rusageCPU()
				var stderr strings.Builder
				if code := run(context.Background(), append([]string{"--dsn", dsn}, c.args...), nil, devnull, &stderr); code != 0 {
					b.Fatalf("%s: exit %d\n%s", strings.Join(c.args, " "), code, stderr.String())
				}
				cpu += rusageCPU() - before
			}
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(rows*b.N)/1000, "cpu-µs/row")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rows*b.N)/1000, "wall-µs/row")
		})
	}
}

// rusageCPU is the user and system CPU time this process used so far.
func rusageCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
