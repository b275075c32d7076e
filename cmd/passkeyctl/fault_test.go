package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
)

// TestRevokeBackup_faults interrupts the real binary during `revoke
// --backup` of many passkeys — kill -9 of the process, or its database
// connections killed (PostgreSQL pg_terminate_backend, MariaDB KILL) — at a
// random moment, then
// does what an operator does: checks, re-runs the revoke for what is left,
// and undoes it all with `passkeyctl import BACKUP`. Each run does this
// twice with one backup file, the passkeys' counters raised in between, so
// that the backup holds older records of the same passkeys. After every
// step the database must be consistent (no Authenticator without its
// Account or the reverse), the audit log must hold the removed passkeys of
// exactly the revokes that committed (on SQLite, whose log is a second
// file, too), and the import must restore every passkey with its highest
// counter.
//
// By default 3 runs of 500 passkeys per kind of fault; the full run of
// issue 9 is PASSKEYCTL_FAULT_RUNS=20 PASSKEYCTL_FAULT_PASSKEYS=5000.
func TestRevokeBackup_faults(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	runs := envInt(t, "PASSKEYCTL_FAULT_RUNS", 3)
	passkeys := envInt(t, "PASSKEYCTL_FAULT_PASSKEYS", 500)
	bin := filepath.Join(t.TempDir(), "passkeyctl")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, c := range []struct{ dialect, fault string }{{"postgres", "kill"}, {"postgres", "terminate"}, {"mysql", "kill"}, {"mysql", "terminate"}, {"sqlite", "kill"}} {
		t.Run(c.dialect+"/"+c.fault, func(t *testing.T) {
			stats := map[string]int{}
			for run := range runs {
				// A subtest per run, so that each run's database and
				// connections go when it ends (80 runs in one test ran
				// PostgreSQL out of connections).
				t.Run(strconv.Itoa(run), func(t *testing.T) {
					faultRun(t, bin, c.dialect, c.fault, run, passkeys, stats)
				})
			}
			t.Logf("%s %s: %d runs of %d passkeys, 2 faulted revokes each: %v", c.dialect, c.fault, runs, passkeys, stats)
		})
	}
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

func faultRun(t *testing.T, bin, dialect, fault string, run, n int, stats map[string]int) {
	ctx := context.Background()
	dir := t.TempDir()
	dsn, gen := dbtest.Migrated(t, dialect)
	var d *db.DB
	if dialect == "postgres" {
		if _, err := dbtest.GeneratePasskeys(ctx, gen, n/10, 10); err != nil {
			t.Fatal(err)
		}
		gen.Close()
		// The test's own connections carry a name that interrupt spares.
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("application_name", faultTestApp)
		u.RawQuery = q.Encode()
		d = dbtest.Open(t, u.String())
	} else {
		// The same passkeys as GeneratePasskeys, written by import.
		gen.X.SetMaxIdleConns(0) // no idle connection for KILL to find
		d = gen
		var sb strings.Builder
		w := passkey.NewExportWriter(&sb)
		for i := 1; i <= n; i++ {
			u := (i-1)/10 + 1
			email := dbtest.BenchEmail(u)
			w.Write(passkey.ExportRecord{Version: passkey.ExportFormatVersion, CredentialID: passkey.Base64URL(dbtest.BenchCredential(i)),
				PublicKey: dbtest.BenchPublicKey, Counter: int64(i % 1000), DeviceType: "multiDevice", BackedUp: true,
				User: passkey.ExportUser{ID: dbtest.BenchUserID(u), Email: &email}, Status: passkey.StatusOK})
		}
		seed := filepath.Join(dir, "seed.jsonl")
		if err := os.WriteFile(seed, []byte(sb.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := passkeyctl(bin, dsn, "import", "--create-users", seed); err != nil {
			t.Fatalf("seed: %v\n%s", err, out)
		}
	}
	ids := filepath.Join(dir, "ids.txt")
	var all []string
	for i := 1; i <= n; i++ {
		all = append(all, passkey.AuthjsCredentialID(dbtest.BenchCredential(i)))
	}
	if err := os.WriteFile(ids, []byte(strings.Join(all, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(dir, "backup.jsonl")
	for phase := range 2 {
		if phase == 1 {
			// Sign-ins since the first undo: the backup's older records
			// of these passkeys must not win.
			dbtest.Exec(t, d, "UPDATE "+d.Q("Authenticator")+" SET "+d.Q("counter")+" = "+d.Q("counter")+" + 7")
		}
		want := counters(t, d)
		if len(want) != n {
			t.Fatalf("run %d: %d passkeys before the revoke, want %d", run, len(want), n)
		}
		grew := fileSize(backup)
		logged := auditRemovedRows(t, d)
		what := faultedRevoke(t, bin, dsn, fault, ids, backup, n)
		settled(t, d)
		// The audit log's records of removed passkeys committed with the
		// revoke, or not at all.
		if left, got := len(counters(t, d)), auditRemovedRows(t, d); left == 0 && got != logged+n || left == n && got != logged {
			t.Fatalf("run %d: %d passkeys left of %d, and the audit log holds %d removed passkeys (%d before): the revoke and its entry commit together", run, left, n, got, logged)
		}
		switch left := len(counters(t, d)); {
		case left == n && fileSize(backup) > grew:
			what += ", backed up, not committed"
		case left == n:
			what += ", before the backup"
		case left == 0:
			what += ", committed"
		default:
			t.Fatalf("run %d: %d of %d passkeys left: a revoke is all or nothing", run, left, n)
		}
		stats[what]++
		consistent(t, d, run, "after the fault")
		// The operator re-runs the revoke for what is left.
		if left := counters(t, d); len(left) > 0 {
			rest := filepath.Join(dir, "rest.txt")
			var ls []string
			for id := range left {
				ls = append(ls, id)
			}
			if err := os.WriteFile(rest, []byte(strings.Join(ls, "\n")+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := passkeyctl(bin, dsn, "revoke", "--yes", "--from-file", rest, "--backup", backup); err != nil {
				t.Fatalf("run %d: the re-run revoke: %v\n%s", run, err, out)
			}
		}
		if left := counters(t, d); len(left) != 0 {
			t.Fatalf("run %d: %d passkeys left after the re-run", run, len(left))
		}
		out, err := passkeyctl(bin, dsn, "import", backup)
		if err != nil {
			t.Fatalf("run %d phase %d: import %s: %v\n%s", run, phase, backup, err, out)
		}
		consistent(t, d, run, "after the import")
		got := counters(t, d)
		if len(got) != n {
			t.Fatalf("run %d phase %d: import restored %d passkeys, want %d\n%s", run, phase, len(got), n, out)
		}
		for id, c := range want {
			if got[id] != c {
				t.Fatalf("run %d phase %d: passkey %s restored with counter %d, want its highest, %d", run, phase, id, got[id], c)
			}
		}
	}
}

// faultedRevoke starts revoke --backup of n passkeys and interrupts it: at
// a random moment of its run, as long as a --dry-run of the same revoke
// takes (the same statements, rolled back), or just after the backup grew
// (between the backup and the commit). It returns what happened, for the
// figures.
func faultedRevoke(t *testing.T, bin, dsn, fault, ids, backup string, n int) string {
	// A fixed window (1.5 s for 5,000 passkeys, measured on a slower
	// machine) let most revokes of 500 finish first on a faster one: 114
	// of 120 in one run, so the window in which a terminated connection
	// hung the revoke (rawConn) was almost never reached.
	start := time.Now()
	if out, err := passkeyctl(bin, dsn, "revoke", "--yes", "--dry-run", "--from-file", ids); err != nil {
		t.Fatalf("revoke --dry-run: %v\n%s", err, out)
	}
	window := max(20*time.Millisecond, time.Since(start))
	k := newKiller(t, dsn, fault)
	defer k.close()
	before := fileSize(backup)
	cmd := command(bin, dsn, "revoke", "--yes", "--from-file", ids, "--backup", backup)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	atBackup := rand.IntN(2) == 0
	deadline := time.After(time.Duration(rand.Int64N(int64(window))))
	poll := time.NewTicker(2 * time.Millisecond)
	defer poll.Stop()
	// A revoke that neither ends nor reaches its backup in this long is
	// stuck: its goroutines are dumped (SIGQUIT) and the test fails,
	// rather than waiting for go test's timeout with no word of why.
	stuck := time.After(60 * time.Second)
	dump := func() {
		cmd.Process.Signal(syscall.SIGQUIT)
		<-done
		t.Fatalf("revoke (atBackup %v, fault %s) still running after 60 s; its goroutines:\n%s", atBackup, fault, out.String())
	}
	// ended waits for the interrupted revoke to end, as long as stuck
	// allows: a connection the server ended once left it hanging for
	// ever (rawConn).
	ended := func() error {
		select {
		case err := <-done:
			return err
		case <-stuck:
			dump()
			return nil
		}
	}
	var err error
wait:
	for {
		select {
		case err = <-done:
			break wait
		case <-stuck:
			dump()
		case <-deadline:
			if !atBackup {
				interrupt(t, cmd, k)
				err = ended()
				break wait
			}
		case <-poll.C:
			if atBackup && fileSize(backup) > before {
				time.Sleep(time.Duration(rand.IntN(5000)) * time.Microsecond) // the audit log and COMMIT follow within milliseconds
				interrupt(t, cmd, k)
				err = ended()
				break wait
			}
		}
	}
	torn := ""
	if b, _ := os.ReadFile(backup); len(b) > 0 && b[len(b)-1] != '\n' {
		torn = ", backup torn"
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "finished before the fault" + torn
	case errors.As(err, &ee) && ee.ExitCode() == -1:
		return "killed" + torn
	case errors.As(err, &ee):
		return fmt.Sprintf("exit %d%s", ee.ExitCode(), torn)
	}
	t.Fatalf("revoke: %v\n%s", err, out.String())
	return ""
}

// killer ends every other session of the test database, on a connection
// opened before the revoke starts, so that the fault lands when it is
// meant to (opening it at the fault took longer than most revokes of 500
// passkeys). nil for the kill fault, which needs none.
type killer struct {
	admin *db.DB
	conn  *sql.Conn
}

func newKiller(t *testing.T, dsn, fault string) *killer {
	if fault == "kill" {
		return nil
	}
	admin, err := db.Open(context.Background(), dsn, db.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := admin.X.Conn(context.Background())
	if err != nil {
		admin.Close()
		t.Fatal(err)
	}
	return &killer{admin: admin, conn: conn}
}

// close ends the killer's own session, before settled counts sessions.
func (k *killer) close() {
	if k != nil {
		k.conn.Close()
		k.admin.Close()
	}
}

func interrupt(t *testing.T, cmd *exec.Cmd, k *killer) {
	if k == nil {
		cmd.Process.Kill() // SIGKILL
		return
	}
	ctx := context.Background()
	if k.admin.Dialect == db.Postgres {
		if _, err := k.conn.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name <> $1`, faultTestApp); err != nil {
			t.Fatal(err)
		}
		return
	}
	var ids []int64
	rows, err := k.conn.QueryContext(ctx, "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID()")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids {
		k.conn.ExecContext(ctx, fmt.Sprintf("KILL CONNECTION %d", id)) // it may be gone already
	}
}

// settled waits until no session of the faulted revoke can still commit.
// A client killed right after sending COMMIT leaves the server to read and
// commit it: reading the passkeys and then the audit log meanwhile saw
// the one before the commit and the other after it. Waiting for no
// statement to be running was not enough: the COMMIT can still be unread
// in the socket of a session that shows as idle in its transaction. On
// PostgreSQL it waits for every session to be idle outside a transaction
// (or gone): a pooler such as PgBouncer keeps its server sessions after
// their clients left, idle. On MySQL (no pooler in the matrix) it waits
// for them to be gone: a session whose client is gone ends once the
// server has read everything the client sent.
func settled(t *testing.T, d *db.DB) {
	t.Helper()
	q := "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID()"
	var args []any
	switch d.Dialect {
	case db.SQLite:
		return // no server: the killed process's writes ended with it
	case db.Postgres:
		q = `SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND state <> 'idle' AND application_name <> $1`
		args = []any{faultTestApp}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var left int
		if err := d.X.Get(&left, q, args...); err != nil {
			t.Fatal(err)
		}
		if left == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions of the faulted revoke still open (PostgreSQL: in a transaction or running) after 30 s", left)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// faultTestApp is the application_name of the test's own connections.
const faultTestApp = "passkeyctl_fault_test"

func command(bin, dsn string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, append([]string{"--dsn", dsn}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()}
	return cmd
}

func passkeyctl(bin, dsn string, args ...string) (string, error) {
	out, err := command(bin, dsn, args...).CombinedOutput()
	return string(out), err
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// auditRemovedRows counts the passkeys the audit log of d's app records as
// removed (0 before its tables exist).
func auditRemovedRows(t *testing.T, d *db.DB) int {
	t.Helper()
	q := `SELECT COUNT(*) FROM passkeyctl.audit_passkeys p JOIN passkeyctl.audit_log l ON l.id = p.entry_id WHERE l.target = current_schema() AND p.kind = 'removed'`
	if d.Dialect == db.MySQL {
		q = "SELECT COUNT(*) FROM `passkeyctl`.`audit_passkeys` p JOIN `passkeyctl`.`audit_log` l ON l.`id` = p.`entry_id` WHERE l.`target` = DATABASE() AND p.`kind` = 'removed'"
	}
	x := d.X
	if d.Dialect == db.SQLite {
		// The log is in the file next to the app's.
		file := d.Target.SQLitePath + "-passkeyctl"
		if _, err := os.Stat(file); err != nil {
			return 0
		}
		x = dbtest.Open(t, "sqlite:"+file).X
		q = `SELECT COUNT(*) FROM audit_passkeys WHERE kind = 'removed'`
	}
	var n int
	if err := x.Get(&n, q); err != nil && !db.IsSchemaError(err) {
		t.Fatal(err)
	}
	return n
}

// counters returns the counter of every passkey, by credential ID.
func counters(t *testing.T, d *db.DB) map[string]int64 {
	t.Helper()
	rows, err := d.X.Query("SELECT " + d.Q("credentialID") + ", " + d.Q("counter") + " FROM " + d.Q("Authenticator"))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var c int64
		if err := rows.Scan(&id, &c); err != nil {
			t.Fatal(err)
		}
		out[id] = c
	}
	return out
}

// consistent checks that every Authenticator has its Account and every
// webauthn Account its Authenticator.
func consistent(t *testing.T, d *db.DB, run int, when string) {
	t.Helper()
	var orphans [2]int
	for i, q := range []string{
		`SELECT COUNT(*) FROM "Authenticator" a WHERE NOT EXISTS (SELECT 1 FROM "Account" ac WHERE ac."provider" = 'passkey' AND ac."providerAccountId" = a."providerAccountId" AND ac."userId" = a."userId")`,
		`SELECT COUNT(*) FROM "Account" ac WHERE ac."type" = 'webauthn' AND NOT EXISTS (SELECT 1 FROM "Authenticator" a WHERE a."providerAccountId" = ac."providerAccountId" AND a."userId" = ac."userId")`,
	} {
		if d.Dialect == db.MySQL {
			q = strings.ReplaceAll(q, `"`, "`")
		}
		if err := d.X.Get(&orphans[i], q); err != nil {
			t.Fatal(err)
		}
	}
	if orphans != [2]int{} {
		t.Fatalf("run %d, %s: %d Authenticator rows without their Account, %d Account rows without their Authenticator", run, when, orphans[0], orphans[1])
	}
}
