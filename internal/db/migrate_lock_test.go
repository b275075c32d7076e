package db_test

import (
	"database/sql"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
)

// holdMigrationLock takes the lock a running migrate would hold, from
// another connection, until the test ends.
func holdMigrationLock(t *testing.T, dsn string) {
	t.Helper()
	other := dbtest.Open(t, dsn)
	conn, err := other.X.Connx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	switch other.Dialect {
	case db.Postgres:
		// Held as migrate holds it, in an open transaction. A session-level
		// lock would, behind a transaction pooler, stay on a server
		// connection that the migrate under test may be handed next and
		// take again (advisory locks are re-entrant), never waiting.
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tx.Rollback() })
		if _, err := tx.ExecContext(ctx, db.PGLockSQL); err != nil {
			t.Fatal(err)
		}
	case db.MySQL:
		var name string
		if err := conn.QueryRowContext(ctx, `SELECT DATABASE()`).Scan(&name); err != nil {
			t.Fatal(err)
		}
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, `SELECT GET_LOCK(?, 0)`, db.MySQLLockName(name)).Scan(&got); err != nil || got.Int64 != 1 {
			t.Fatalf("GET_LOCK: %v %v", got, err)
		}
	case db.SQLite:
		tx, err := conn.BeginTx(ctx, nil) // BEGIN IMMEDIATE: the write lock
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tx.Rollback() })
	}
}

// The MySQL migration lock's name is computed in Go (MySQL 9.6 removed
// SHA1(), which earlier versions called in SQL), fits GET_LOCK's 64
// characters for the longest database name, and is the very name earlier
// versions computed as CONCAT('passkeyctl_migrate_', SHA1(DATABASE())), so
// an older passkeyctl migrate and this one still exclude each other.
func TestMySQLLockName(t *testing.T) {
	if got, want := db.MySQLLockName("test"), "passkeyctl_migrate_a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"; got != want {
		t.Errorf("lock name of test: %q, want %q", got, want)
	}
	longest := strings.Repeat("d", 64) // MySQL's and MariaDB's limit
	if got := db.MySQLLockName(longest); len(got) > 64 {
		t.Errorf("lock name %q has %d characters, GET_LOCK takes at most 64", got, len(got))
	}
	if db.MySQLLockName("app") == db.MySQLLockName("app2") {
		t.Error("two databases share one lock name")
	}
	// Against the server: the name the earlier SQL form gives, where the
	// server still has SHA1() (MariaDB, MySQL up to 9.5).
	d := dbtest.Open(t, dbtest.New(t, "mysql"))
	var name string
	var old sql.NullString
	err := d.X.QueryRowContext(ctx, `SELECT DATABASE(), CONCAT('passkeyctl_migrate_', SHA1(DATABASE()))`).Scan(&name, &old)
	if err != nil && strings.Contains(err.Error(), "SHA1 does not exist") {
		t.Logf("this server has no SHA1() (MySQL 9.6 or later): %v", err)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if got := db.MySQLLockName(name); got != old.String {
		t.Errorf("lock name of %s: %q, earlier versions used %q", name, got, old.String)
	}
}

// When migrate returns, its MySQL lock is free again: another session
// takes it at once. (Through Vitess, DO RELEASE_LOCK(?) failed to prepare
// and the lock stayed on the pooled connection.)
func TestMigrate_releasesLock(t *testing.T) {
	dsn := dbtest.New(t, "mysql")
	migRun(t, dbtest.Open(t, dsn), db.MigrateOptions{Core: true})
	holdMigrationLock(t, dsn) // fails the test when GET_LOCK(name, 0) is refused
}

// Another migrate holding the lock makes migrate give up after
// --lock-timeout with ErrLocked and a message that says what to do.
func TestMigrate_lockTimeout(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		d := dbtest.Open(t, dsn)
		migRun(t, d, db.MigrateOptions{Core: true}) // the SQLite file must exist before the lock is taken
		dbtest.Exec(t, d, "DROP TABLE "+d.Q("Authenticator"))
		holdMigrationLock(t, dsn)
		start := time.Now()
		_, err := d.Migrate(ctx, migrations(t, d), db.MigrateOptions{LockTimeout: time.Second})
		took := time.Since(start)
		if !errors.Is(err, passkey.ErrLocked) {
			t.Fatalf("err %v, want ErrLocked", err)
		}
		if !strings.Contains(err.Error(), "--lock-timeout") || !strings.Contains(err.Error(), "1s") {
			t.Errorf("message %q does not say which timeout to raise", err)
		}
		if took < 900*time.Millisecond || took > 10*time.Second {
			t.Errorf("gave up after %v, want about 1s", took)
		}
		if slices.Contains(migTables(t, d), tableName(d, "Authenticator")) {
			t.Error("the table was created without the lock")
		}
	})
}

// A run interrupted after its first statement (a crash, a killed process,
// a lost connection), then re-run, converges to the right schema without a
// manual step. On MySQL the DDL has committed; elsewhere it rolled back.
func TestMigrate_crashThenRerun(t *testing.T) {
	crash := errors.New("simulated crash")
	for _, c := range []struct {
		name    string
		core    bool
		crashAt string
	}{
		{"authenticator", false, "CREATE TABLE"},
		{"core_after_User", true, "User"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dbtest.ForEach(t, func(t *testing.T, dsn string) {
				d := dbtest.Open(t, dsn)
				if !c.core {
					loadDDL(t, d, "prisma", false)
				}
				var ran []string
				opts := db.WithAfterStatement(db.MigrateOptions{Core: c.core}, func(stmt string) error {
					ran = append(ran, stmt)
					if strings.Contains(firstLineOf(stmt), c.crashAt) {
						return crash
					}
					return nil
				})
				if _, err := d.Migrate(ctx, migrations(t, d), opts); !errors.Is(err, crash) {
					t.Fatalf("err %v, want the simulated crash", err)
				}
				if len(ran) != 1 {
					t.Fatalf("crashed after %d statements, want 1: %q", len(ran), ran)
				}
				tablesAfterCrash := migTables(t, d)
				wantTable := tableName(d, "User")
				if !c.core {
					wantTable = tableName(d, "Authenticator")
				}
				if committed := slices.Contains(tablesAfterCrash, wantTable); committed != (d.Dialect == db.MySQL) {
					t.Errorf("after the crash %s exists = %v; MySQL DDL commits, PostgreSQL and SQLite roll back", wantTable, committed)
				}

				res := migRun(t, d, db.MigrateOptions{Core: c.core})
				st := migStatus(t, d)
				if !st.UpToDate() || st.Variant != db.VariantCurrent {
					t.Fatalf("after the re-run: %+v (result %+v)", st, res)
				}
				for _, w := range st.Warnings {
					// Prisma's MySQL Account table is narrow; the
					// Authenticator table must not be.
					if strings.Contains(w.Message, "Authenticator") {
						t.Errorf("warning %+v", w)
					}
				}
				s := migDetect(t, d)
				if d.Dialect == db.MySQL {
					// The table the crashed run created is the wide one.
					if c, _ := s.Authenticator.Column("credentialID"); c.MaxLength != db.MaxCredentialIDChars {
						t.Errorf("credentialID %s", c.FullType)
					}
				}
				want := []string{"0001_authenticator.sql=applied"}
				if c.core {
					want = append(want, "core.sql=applied")
				}
				if d.Dialect == db.MySQL && !c.core {
					// The crashed run's table is adopted: recorded, not
					// created twice.
					want[0] = "0001_authenticator.sql=adopted"
				}
				if got := migHistoryKinds(migHistory(t, d)); !slices.Equal(got, want) {
					t.Errorf("history %v, want %v", got, want)
				}
				if c.core {
					for _, name := range []string{"User", "Account", "Session", "VerificationToken"} {
						if !slices.Contains(migTables(t, d), tableName(d, name)) {
							t.Errorf("%s missing", name)
						}
					}
				}
			})
		})
	}
}

func firstLineOf(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// The SQLite DSN makes every write transaction BEGIN IMMEDIATE (the
// _txlock parameter of modernc.org/sqlite): a second writer waits at BEGIN
// for the busy timeout and fails there, rather than starting, reading, and
// failing to upgrade half-way.
func TestSQLite_beginImmediate(t *testing.T) {
	dsn := dbtest.New(t, "sqlite")
	a := dbtest.Open(t, dsn)
	b := dbtest.Open(t, dsn+"?_pragma=busy_timeout(200)")
	dbtest.Exec(t, a, `CREATE TABLE t (x INTEGER)`)
	txA, err := a.X.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer txA.Rollback()
	start := time.Now()
	txB, err := b.X.BeginTx(ctx, nil)
	if err == nil {
		txB.Rollback()
		t.Fatal("a second BEGIN succeeded while the first transaction held nothing but its BEGIN: the transaction is DEFERRED")
	}
	if !strings.Contains(err.Error(), "database is locked") && !strings.Contains(err.Error(), "SQLITE_BUSY") {
		t.Fatalf("err %v, want SQLITE_BUSY", err)
	}
	if took := time.Since(start); took < 150*time.Millisecond {
		t.Errorf("gave up after %v; the busy timeout is 200ms", took)
	}
}
