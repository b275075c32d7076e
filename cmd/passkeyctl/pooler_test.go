package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
	"github.com/passkeyctl/passkeyctl/schema"
)

// binResult is one run of the real passkeyctl binary.
type binResult struct {
	stdout, stderr string
	code           int
	took           time.Duration
}

// runBin runs passkeyctl (the test binary, which TestMain puts on PATH under
// that name) with a clean environment.
func runBin(t testing.TB, args ...string) binResult {
	t.Helper()
	return runBinEnv(t, nil, args...)
}

// runBinEnv is runBin with extra environment variables.
func runBinEnv(t testing.TB, env []string, args ...string) binResult {
	t.Helper()
	// No run may hang the suite: a hung one is killed and fails.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "passkeyctl", args...)
	cmd.Env = append(cleanEnv(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	res := binResult{stdout: out.String(), stderr: errb.String(), took: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run passkeyctl: %v", err)
	}
	return res
}

// cleanEnv is the environment without DATABASE_URL and PASSKEYCTL_*.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "DATABASE_URL=") || strings.HasPrefix(kv, "PASSKEYCTL_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func benchCred(n int) string { return base64.StdEncoding.EncodeToString(dbtest.BenchCredential(n)) }

// poolerRounds is how many rounds each of the 8 concurrent clients runs
// (PASSKEYCTL_TEST_POOLER_ROUNDS; the matrix sets 25).
func poolerRounds(t *testing.T) int {
	n := 4
	if v := os.Getenv("PASSKEYCTL_TEST_POOLER_ROUNDS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("PASSKEYCTL_TEST_POOLER_ROUNDS=%q: want a positive number", v)
		}
	}
	return n
}

// Eight clients at once through PgBouncer in transaction mode, each round
// running list --user, revoke and migrate with the real binary: every run
// succeeds and sees only its own rows. Before passkeyctl made every
// statement one round trip, most runs failed ("unnamed prepared statement
// does not exist", another client's result set, a false drift error).
func TestPgBouncer_ConcurrentClients(t *testing.T) {
	direct, pooled := dbtest.PgBouncer(t, dbtest.PgBouncerEnv)
	const clients, perUser = 8, 2
	rounds := poolerRounds(t)
	migrateDirect(t, direct, clients*rounds, perUser)

	var mu sync.Mutex
	var failures []string
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		failures = append(failures, fmt.Sprintf(format, args...))
	}
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				u := r*clients + c + 1
				user := dbtest.BenchUserID(u)
				res := runBin(t, "--dsn", pooled, "list", "--user", user, "-o", "jsonl")
				if res.code != 0 || strings.Count(res.stdout, `"userId":"`+user+`"`) != perUser || strings.Count(res.stdout, "\n") != perUser {
					fail("list --user %s: exit %d, stdout %q, stderr %q", user, res.code, res.stdout, res.stderr)
				}
				res = runBin(t, "--dsn", pooled, "revoke", "--yes", "--", benchCred((u-1)*perUser+1))
				if res.code != 0 {
					fail("revoke passkey %d: exit %d, stderr %q", (u-1)*perUser+1, res.code, res.stderr)
				}
				res = runBin(t, "--dsn", pooled, "migrate")
				if res.code != 0 || !strings.Contains(res.stdout, "schema is up to date") {
					fail("migrate: exit %d, stdout %q, stderr %q", res.code, res.stdout, res.stderr)
				}
			}
		}()
	}
	wg.Wait()
	total := clients * rounds * 3
	t.Logf("%d runs through PgBouncer, %d failed", total, len(failures))
	for i, f := range failures {
		if i == 10 {
			t.Errorf("... and %d more", len(failures)-10)
			break
		}
		t.Error(f)
	}
	if len(failures) == 0 {
		// Every revoke took exactly its passkey.
		d := dbtest.Open(t, direct)
		var left int
		if err := d.X.Get(&left, `SELECT COUNT(*) FROM "Authenticator"`); err != nil {
			t.Fatal(err)
		}
		if want := clients * rounds * (perUser - 1); left != want {
			t.Errorf("%d passkeys left, want %d", left, want)
		}
	}
}

// migrateDirect creates the Auth.js tables in the database's public schema
// and users×perUser generated passkeys.
func migrateDirect(t testing.TB, dsn string, users, perUser int) *db.DB {
	t.Helper()
	d := dbtest.Open(t, dsn)
	fsys, err := schema.FS(d.Dialect.Name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Migrate(context.Background(), fsys, db.MigrateOptions{Core: true}); err != nil {
		t.Fatalf("migrate --core: %v", err)
	}
	if users > 0 {
		if _, err := dbtest.GeneratePasskeys(context.Background(), d, users, perUser); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// Prisma's ?schema=auth through PgBouncer, both with its default settings
// (which refuse a search_path startup parameter) and with
// ignore_startup_parameters = search_path (which drops it silently):
// passkeyctl works on "auth" and never reads or writes "public", where a
// decoy passkey must survive.
func TestPgBouncer_PrismaSchema(t *testing.T) {
	for _, env := range []string{dbtest.PgBouncerEnv, dbtest.PgBouncerDroppingEnv} {
		t.Run(env, func(t *testing.T) {
			direct, pooled := dbtest.PgBouncer(t, env)
			d := migrateDirect(t, direct, 1, 1) // the decoy: passkey 1 in public
			decoy := benchCred(1)
			auth := pooled + "&schema=auth"
			if !strings.Contains(pooled, "?") {
				auth = pooled + "?schema=auth"
			}

			res := runBin(t, "--dsn", auth, "list")
			if res.code == 0 || strings.Contains(res.stdout, decoy) || !strings.Contains(res.stderr, `"auth"`) {
				t.Fatalf("list before auth exists: exit %d, stdout %q, stderr %q; want a refusal naming the schema", res.code, res.stdout, res.stderr)
			}
			if strings.Count(strings.TrimSpace(res.stderr), "\n") != 0 {
				t.Errorf("refusal is not one line: %q", res.stderr)
			}

			res = runBin(t, "--dsn", auth, "migrate", "--core")
			if res.code != 0 {
				t.Fatalf("migrate --core: exit %d, stderr %q", res.code, res.stderr)
			}
			var authTables, publicTables int
			if err := d.X.Get(&authTables, `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'auth'`); err != nil {
				t.Fatal(err)
			}
			if err := d.X.Get(&publicTables, `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'`); err != nil {
				t.Fatal(err)
			}
			if authTables != 5 || publicTables != 5 {
				t.Fatalf("after migrate --core: %d tables in auth, %d in public; want 5 and 5", authTables, publicTables)
			}

			// One passkey of the app in auth (passkey 2, user 2).
			ctx := context.Background()
			tx := d.X.MustBeginTx(ctx, nil)
			tx.MustExec(`SET LOCAL search_path TO auth`)
			tx.MustExec(`INSERT INTO "User" ("id", "email", "updatedAt") VALUES ($1, 'auth@example.com', now())`, dbtest.BenchUserID(2))
			tx.MustExec(`INSERT INTO "Authenticator" ("credentialID", "userId", "providerAccountId", "credentialPublicKey", "counter", "credentialDeviceType", "credentialBackedUp")
				VALUES ($1, $2, $1, $3, 0, 'multiDevice', true)`, benchCred(2), dbtest.BenchUserID(2), dbtest.BenchPublicKey)
			tx.MustExec(`INSERT INTO "Account" ("userId", "type", "provider", "providerAccountId", "updatedAt") VALUES ($1, 'webauthn', 'passkey', $2, now())`, dbtest.BenchUserID(2), benchCred(2))
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}

			res = runBin(t, "--dsn", auth, "list", "-o", "jsonl")
			if res.code != 0 || strings.Contains(res.stdout, decoy) || !strings.Contains(res.stdout, benchCred(2)) {
				t.Errorf("list: exit %d, stdout %q, stderr %q; want only the auth passkey", res.code, res.stdout, res.stderr)
			}
			res = runBin(t, "--dsn", auth, "list", "--user", dbtest.BenchUserID(1))
			if res.code != exitNotFound {
				t.Errorf("list --user of the public schema's user: exit %d, stdout %q, stderr %q; want 3", res.code, res.stdout, res.stderr)
			}
			res = runBin(t, "--dsn", auth, "revoke", "--yes", "--", decoy)
			if res.code != exitNotFound {
				t.Errorf("revoke of the decoy: exit %d, stderr %q; want 3 (not found in auth)", res.code, res.stderr)
			}
			var n int
			backup := filepath.Join(t.TempDir(), "auth.jsonl")
			res = runBin(t, "--dsn", auth, "export", "--file", backup)
			if res.code != 0 {
				t.Fatalf("export: exit %d, stderr %q", res.code, res.stderr)
			}
			res = runBin(t, "--dsn", auth, "revoke", "--yes", "--", benchCred(2))
			if res.code != 0 {
				t.Errorf("revoke in auth: exit %d, stderr %q", res.code, res.stderr)
			}
			// Import (its rows go through COPY inside its transaction) into
			// auth, once as a dry run: never into public.
			for _, args := range [][]string{{"--dry-run"}, nil} {
				res = runBin(t, append([]string{"--dsn", auth, "import"}, append(args, backup)...)...)
				if res.code != 0 {
					t.Fatalf("import %v: exit %d, stdout %q, stderr %q", args, res.code, res.stdout, res.stderr)
				}
				want := 0
				if args == nil {
					want = 1
				}
				if err := d.X.Get(&n, `SELECT COUNT(*) FROM auth."Authenticator" WHERE "credentialID" = $1`, benchCred(2)); err != nil || n != want {
					t.Errorf("after import %v: %d auth passkeys (%v); want %d", args, n, err, want)
				}
			}
			res = runBin(t, "--dsn", auth, "revoke", "--yes", "--", benchCred(2))
			if res.code != 0 {
				t.Errorf("revoke of the imported passkey: exit %d, stderr %q", res.code, res.stderr)
			}
			res = runBin(t, "--dsn", auth, "migrate", "status")
			if res.code != 0 {
				t.Errorf("migrate status: exit %d, stdout %q, stderr %q", res.code, res.stdout, res.stderr)
			}

			if err := d.X.Get(&n, `SELECT COUNT(*) FROM public."Authenticator" WHERE "credentialID" = $1`, decoy); err != nil || n != 1 {
				t.Errorf("decoy passkey in public: %d rows (%v); want it untouched", n, err)
			}
			if err := d.X.Get(&n, `SELECT COUNT(*) FROM auth."Authenticator"`); err != nil || n != 0 {
				t.Errorf("auth passkeys after revoke: %d (%v); want 0", n, err)
			}
		})
	}
}

// hungListener accepts connections and never answers, like a server whose
// process is stopped or a firewall that swallows the handshake.
func hungListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// A server that accepts and never answers: passkeyctl gives up after
// --connect-timeout (and the DSN's connect_timeout) with one line that says
// so, on every dialect.
func TestHungEndpoint_ConnectTimeout(t *testing.T) {
	addr := hungListener(t)
	for _, tc := range []struct{ name, dsn, flag string }{
		{"postgres flag", "postgres://u@" + addr + "/x", "2s"},
		{"postgres dsn", "postgres://u@" + addr + "/x?connect_timeout=2", ""},
		{"mysql flag", "mysql://u@" + addr + "/x", "2s"},
		{"mysql dsn", "mysql://u@" + addr + "/x?connect_timeout=2", ""},
		// Redis: the TCP connect succeeds at once; the wait is for the
		// first answer (HELLO), which the connect timeout bounds too.
		{"redis flag", "redis://" + addr, "2s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"--dsn", tc.dsn}
			if tc.flag != "" {
				args = append(args, "--connect-timeout", tc.flag)
			}
			res := runBin(t, append(args, "list")...)
			if res.code != exitFailure || res.took > 4*time.Second || res.took < 1500*time.Millisecond {
				t.Errorf("exit %d after %s, stderr %q; want 1 after about 2s", res.code, res.took.Round(time.Millisecond), res.stderr)
			}
			if !strings.Contains(res.stderr, "2s") || !strings.Contains(res.stderr, "connect-timeout") {
				t.Errorf("stderr %q: want the timeout and the flag that sets it named", res.stderr)
			}
		})
	}
}

// startBin starts passkeyctl and returns its command and a channel that
// receives its stdout lines.
func startBin(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer, <-chan string) {
	t.Helper()
	cmd := exec.Command("passkeyctl", args...)
	cmd.Env = cleanEnv()
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default: // a slow reader: drop, the pipe keeps flowing
			}
			// A reader slower than the command keeps `list` running.
			time.Sleep(50 * time.Microsecond)
		}
		io.Copy(io.Discard, out)
	}()
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd, &errb, lines
}

// waitExit waits for cmd and returns its exit code and how long it took
// from since.
func waitExit(t *testing.T, cmd *exec.Cmd, since time.Time, limit time.Duration) (int, time.Duration) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		took := time.Since(since)
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), took
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, took
	case <-time.After(limit):
		cmd.Process.Kill()
		<-done
		t.Fatalf("still running %s after the signal", limit)
		return -1, 0
	}
}

// SIGTERM and SIGINT end a command stuck connecting within 2 s, with the
// shell's 128+signal codes; a second SIGINT ends it at once.
func TestSignal_HungConnect(t *testing.T) {
	addr := hungListener(t)
	for _, dsn := range []string{"postgres://u@" + addr + "/x", "mysql://u@" + addr + "/x", "redis://" + addr} {
		for _, tc := range []struct {
			name  string
			sigs  []syscall.Signal
			code  int
			limit time.Duration
		}{
			{"SIGTERM", []syscall.Signal{syscall.SIGTERM}, 143, 2 * time.Second},
			{"SIGINT", []syscall.Signal{syscall.SIGINT}, 130, 2 * time.Second},
			{"SIGINT twice", []syscall.Signal{syscall.SIGINT, syscall.SIGINT}, 130, 700 * time.Millisecond},
		} {
			t.Run(strings.SplitN(dsn, ":", 2)[0]+" "+tc.name, func(t *testing.T) {
				t.Parallel()
				cmd, stderr, _ := startBin(t, "--dsn", dsn, "list")
				time.Sleep(700 * time.Millisecond) // connected and waiting
				start := time.Now()
				for i, sig := range tc.sigs {
					if i > 0 {
						time.Sleep(100 * time.Millisecond)
					}
					cmd.Process.Signal(sig)
				}
				code, took := waitExit(t, cmd, start, 5*time.Second)
				if code != tc.code || took > tc.limit {
					t.Errorf("exit %d after %s, stderr %q; want %d within %s", code, took.Round(time.Millisecond), stderr, tc.code, tc.limit)
				}
				// The command returned through its defers, not through
				// main's backstop.
				if len(tc.sigs) == 1 && !strings.Contains(stderr.String(), "open transactions were rolled back") {
					t.Errorf("stderr %q: the command did not return by itself", stderr)
				}
			})
		}
	}
}

// SIGTERM and SIGINT during a long `list` end it within 2 s with 143/130.
func TestSignal_LongList(t *testing.T) {
	dsn := dbtest.New(t, "postgres")
	migrateDirect(t, dsn, 50000, 2)
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGTERM, 143}, {syscall.SIGINT, 130}} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			cmd, stderr, lines := startBin(t, "--dsn", dsn, "list", "-o", "jsonl")
			select {
			case <-lines:
			case <-time.After(30 * time.Second):
				t.Fatalf("no output after 30s; stderr %q", stderr)
			}
			time.Sleep(200 * time.Millisecond)
			start := time.Now()
			cmd.Process.Signal(tc.sig)
			code, took := waitExit(t, cmd, start, 5*time.Second)
			// Rows list already read keep flowing to the slow reader for a
			// while (list's stream buffers batches), so main's backstop may
			// be what ends it: only the bound is checked.
			if code != tc.code || took > 2*time.Second {
				t.Errorf("exit %d after %s, stderr %q; want %d within 2s", code, took.Round(time.Millisecond), stderr, tc.code)
			}
			t.Logf("%s: exit %d after %s", tc.sig, code, took.Round(time.Millisecond))
		})
	}
}

// migrate --lock-timeout bounds the wait for a lock another session holds
// that migrate needs, with exit 1 and a line that says what waited. On
// PostgreSQL that is LOCK TABLE "User" (the Authenticator's foreign key
// needs a lock on User, and so do the catalog reads of detection).
// MariaDB takes no lock on the referenced table when it creates a foreign
// key (LOCK TABLES User WRITE does not delay migrate at all), so there the
// other session holds the global read lock, which CREATE TABLE waits for.
func TestMigrate_LockTimeoutOnAppTable(t *testing.T) {
	for _, dialect := range []string{"postgres", "mysql"} {
		t.Run(dialect, func(t *testing.T) {
			dsn, d := dbtest.Migrated(t, dialect)
			if res := runBin(t, "--dsn", dsn, "migrate", "down", "--yes"); res.code != 0 {
				t.Fatalf("migrate down: exit %d, stderr %q", res.code, res.stderr)
			}
			ctx := context.Background()
			conn, err := d.X.Connx(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			stmts, release := []string{`BEGIN`, `LOCK TABLE "User" IN ACCESS EXCLUSIVE MODE`}, `ROLLBACK`
			if dialect == "mysql" {
				stmts, release = []string{"FLUSH TABLES WITH READ LOCK"}, `UNLOCK TABLES`
			}
			for _, s := range stmts {
				if _, err := conn.ExecContext(ctx, s); err != nil {
					t.Fatalf("%s: %v", s, err)
				}
			}
			defer conn.ExecContext(ctx, release)
			res := runBin(t, "--dsn", dsn, "migrate", "--lock-timeout", "2s")
			if res.code != exitFailure || res.took > 6*time.Second {
				t.Errorf("exit %d after %s, stderr %q; want 1 after about 2s", res.code, res.took.Round(time.Millisecond), res.stderr)
			}
			if !strings.Contains(res.stderr, "lock") || !strings.Contains(res.stderr, "--lock-timeout") {
				t.Errorf("stderr %q: want the lock wait and --lock-timeout named", res.stderr)
			}
			t.Logf("exit %d after %s: %s", res.code, res.took.Round(time.Millisecond), strings.TrimSpace(res.stderr))
		})
	}
}

// The help shows the connect timeout's default.
func TestHelp_ConnectTimeoutDefault(t *testing.T) {
	res := runBin(t, "--help")
	if !strings.Contains(res.stdout, "--connect-timeout") || !strings.Contains(res.stdout, "(default 15s") {
		t.Errorf("--help does not show --connect-timeout with its 15s default:\n%s", res.stdout)
	}
}

// The connect timeout comes, like every global setting, from the flag, the
// environment or the config file; a wrong value is a usage error.
func TestConnectTimeout_sources(t *testing.T) {
	addr := hungListener(t)
	dsn := "postgres://u@" + addr + "/x"
	dir := t.TempDir()
	config := filepath.Join(dir, "passkeyctl.yaml")
	if err := os.WriteFile(config, []byte("connect-timeout: 2s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, run := range map[string]func() binResult{
		"env":    func() binResult { return runBinEnv(t, []string{"PASSKEYCTL_CONNECT_TIMEOUT=2"}, "--dsn", dsn, "list") },
		"config": func() binResult { return runBin(t, "--config", config, "--dsn", dsn, "list") },
		// The flag wins over the DSN's connect_timeout.
		"flag over dsn": func() binResult {
			return runBin(t, "--connect-timeout", "2s", "--dsn", dsn+"?connect_timeout=30", "list")
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			res := run()
			if res.code != exitFailure || res.took > 4*time.Second || !strings.Contains(res.stderr, "no answer within 2s") {
				t.Errorf("exit %d after %s, stderr %q; want 1 after about 2s", res.code, res.took.Round(time.Millisecond), res.stderr)
			}
		})
	}
	res := runBin(t, "--connect-timeout", "soon", "--dsn", dsn, "list")
	if res.code != exitUsage || !strings.Contains(res.stderr, `invalid --connect-timeout "soon"`) {
		t.Errorf("bad value: exit %d, stderr %q", res.code, res.stderr)
	}
}

// A measurement for the record, not a timed unit test (it needs a minute to
// load 1,000,000 passkeys): PASSKEYCTL_MEASURE_MILLION=1 runs it. SIGTERM
// during `list -o jsonl > file` of 1,000,000 passkeys on PostgreSQL; it logs
// how long the process took to exit.
func TestMeasure_SIGTERMMillionRowList(t *testing.T) {
	if os.Getenv("PASSKEYCTL_MEASURE_MILLION") != "1" {
		t.Skip("set PASSKEYCTL_MEASURE_MILLION=1 to measure")
	}
	dsn := dbtest.New(t, "postgres")
	d := migrateDirect(t, dsn, 0, 0)
	took, err := dbtest.GeneratePasskeys(context.Background(), d, 500000, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("generated 1,000,000 passkeys in %s", took.Round(time.Millisecond))
	for _, after := range []time.Duration{500 * time.Millisecond, 3 * time.Second, 8 * time.Second} {
		out, err := os.Create(filepath.Join(t.TempDir(), "list.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("passkeyctl", "--dsn", dsn, "list", "-o", "jsonl")
		cmd.Env = cleanEnv()
		cmd.Stdout = out
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(after)
		start := time.Now()
		cmd.Process.Signal(syscall.SIGTERM)
		code, exitTook := waitExit(t, cmd, start, 10*time.Second)
		st, _ := out.Stat()
		out.Close()
		t.Logf("SIGTERM %s into the list (%d bytes written): exit %d after %s; stderr %q", after, st.Size(), code, exitTook.Round(time.Millisecond), errb.String())
		if code != exitTerminated || exitTook > 2*time.Second {
			t.Errorf("exit %d after %s, want 143 within 2s", code, exitTook)
		}
	}
}

// A startup parameter the DSN sets and PgBouncer refuses is named, with the
// PgBouncer setting that lets it through; a search_path in the DSN is
// refused before connecting, naming ?schema=.
func TestPgBouncer_refusedStartupParameter(t *testing.T) {
	_, pooled := dbtest.PgBouncer(t, dbtest.PgBouncerEnv)
	sep := "?"
	if strings.Contains(pooled, "?") {
		sep = "&"
	}
	res := runBin(t, "--dsn", pooled+sep+"statement_timeout=5000", "list")
	if res.code != exitFailure || !strings.Contains(res.stderr, "the connection pooler refuses the startup parameter statement_timeout that the DSN sets") || !strings.Contains(res.stderr, "ignore_startup_parameters = statement_timeout") {
		t.Errorf("exit %d, stderr %q", res.code, res.stderr)
	}
	res = runBin(t, "--dsn", pooled+sep+"search_path=auth", "list")
	if res.code != exitUsage || !strings.Contains(res.stderr, "name the schema with ?schema=NAME instead") {
		t.Errorf("search_path in the DSN: exit %d, stderr %q", res.code, res.stderr)
	}
}
