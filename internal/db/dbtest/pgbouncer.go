package dbtest

import (
	"net/url"
	"os"
	"testing"
)

// The PgBouncer instances (pool_mode = transaction) that pooler tests run
// through, as DSNs. PgBouncerEnv is one with default settings, which refuses
// unknown startup parameters such as search_path; PgBouncerDroppingEnv is
// one with ignore_startup_parameters = search_path, which drops them
// silently. Both must forward every database name (a "*" entry in
// [databases]) to the server PgBouncerServerEnv names, by default
// PostgreSQL 15 on 127.0.0.1:5432: not PASSKEYCTL_TEST_POSTGRES, which the
// matrix points at other servers.
const (
	PgBouncerEnv         = "PASSKEYCTL_TEST_PGBOUNCER"
	PgBouncerDroppingEnv = "PASSKEYCTL_TEST_PGBOUNCER_DROPPING"
	PgBouncerServerEnv   = "PASSKEYCTL_TEST_PGBOUNCER_SERVER"
	// MatrixEnv set to 1 turns every missing test server into a failure.
	MatrixEnv = "PASSKEYCTL_TEST_MATRIX"
)

// RequireEnv returns the value of env. When it is unset the test is skipped,
// or, when PASSKEYCTL_TEST_MATRIX=1 (CI's matrix run), fails with a line
// naming the variable: the matrix must never pass by skipping.
func RequireEnv(t testing.TB, env, what string) string {
	t.Helper()
	if v := os.Getenv(env); v != "" {
		return v
	}
	if os.Getenv(MatrixEnv) == "1" {
		t.Fatalf("dbtest: %s is not set: it must name %s (%s=1 requires every server of the matrix)", env, what, MatrixEnv)
	}
	t.Skipf("dbtest: %s is not set (%s)", env, what)
	return ""
}

// PgBouncer creates a fresh database on the PostgreSQL server and returns
// two DSNs of it: direct, to the server, and pooled, through the PgBouncer
// that env (PgBouncerEnv or PgBouncerDroppingEnv) names. The database is
// dropped when the test ends.
func PgBouncer(t testing.TB, env string) (direct, pooled string) {
	t.Helper()
	bouncer := RequireEnv(t, env, "a PgBouncer in transaction mode in front of the PostgreSQL test server")
	server := os.Getenv(PgBouncerServerEnv)
	if server == "" {
		server = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	direct, drop, err := createOn("postgres", server)
	if err != nil {
		t.Fatalf("dbtest: the server behind PgBouncer (%s): %v", PgBouncerServerEnv, err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Errorf("dbtest: %v", err)
		}
	})
	du, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	pu, err := url.Parse(bouncer)
	if err != nil {
		t.Fatalf("dbtest: %s: %v", env, err)
	}
	pu.Path = du.Path
	return direct, pu.String()
}
