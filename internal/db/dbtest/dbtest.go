// Package dbtest gives tests a fresh, uniquely named database on each of the
// three dialects and drops it afterwards. It is imported only by tests.
//
// The servers come from PASSKEYCTL_TEST_POSTGRES (default
// postgres://postgres@127.0.0.1:5432/test) and PASSKEYCTL_TEST_MYSQL (default
// mysql://root@127.0.0.1:3306/test). A server that cannot be reached fails
// the test: CI must never pass by skipping. Set
// PASSKEYCTL_TEST_SKIP_UNREACHABLE=1 to skip instead on a machine without
// servers.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/schema"
)

// Dialects are the dialect names every conformance test runs on.
var Dialects = []string{"postgres", "mysql", "sqlite"}

func serverDSN(dialect string) string {
	switch dialect {
	case "postgres":
		if v := os.Getenv("PASSKEYCTL_TEST_POSTGRES"); v != "" {
			return v
		}
		return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	case "mysql":
		if v := os.Getenv("PASSKEYCTL_TEST_MYSQL"); v != "" {
			return v
		}
		return "mysql://root@127.0.0.1:3306/test"
	}
	return ""
}

// ForEach runs fn as a subtest per dialect, each with its own fresh database.
func ForEach(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(d, func(t *testing.T) {
			fn(t, New(t, d))
		})
	}
}

// New creates an empty database of the dialect and returns its DSN in
// passkeyctl's own form. The database is dropped when the test ends.
func New(t testing.TB, dialect string) string {
	t.Helper()
	if dialect == "sqlite" {
		return "sqlite:" + filepath.Join(t.TempDir(), uniqueName()+".db")
	}
	dsn, drop, err := Create(dialect)
	if err != nil {
		if errors.Is(err, errUnreachable) && os.Getenv("PASSKEYCTL_TEST_SKIP_UNREACHABLE") == "1" {
			t.Skipf("dbtest: %v (skipping because PASSKEYCTL_TEST_SKIP_UNREACHABLE=1)", err)
		}
		t.Fatalf("dbtest: %v", err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Errorf("dbtest: %v", err)
		}
	})
	return dsn
}

var errUnreachable = errors.New("server unreachable")

// Create makes an empty, uniquely named PostgreSQL or MySQL database and
// returns its DSN and a function that drops it. For harnesses without a
// testing.TB (testscript); tests use New.
func Create(dialect string) (dsn string, drop func() error, err error) {
	if dialect != "postgres" && dialect != "mysql" {
		return "", nil, fmt.Errorf("unknown server dialect %q", dialect)
	}
	return createOn(dialect, serverDSN(dialect))
}

// createOn is Create on the server that admin DSN names.
func createOn(dialect, server string) (dsn string, drop func() error, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	admin, err := db.Open(ctx, server, db.OpenOptions{})
	if err != nil {
		return "", nil, fmt.Errorf("%s %w: %v (start it, or set PASSKEYCTL_TEST_SKIP_UNREACHABLE=1 to skip)", dialect, errUnreachable, err)
	}
	name := uniqueName()
	if _, err := admin.X.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create database %s: %v", name, err)
	}
	drop = func() error {
		defer admin.Close()
		q := "DROP DATABASE IF EXISTS " + name
		if dialect == "postgres" {
			q += " WITH (FORCE)"
		}
		if _, err := admin.X.ExecContext(context.Background(), q); err != nil {
			return fmt.Errorf("drop database %s: %v", name, err)
		}
		if dialect == "mysql" {
			// passkeyctl's own tables of every database on the server
			// (audit log, migration history) are in one database,
			// passkeyctl, keyed by the app's database: the test's rows go
			// with it (the audit log's passkey rows cascade).
			if _, err := admin.X.ExecContext(context.Background(), "DELETE FROM passkeyctl.audit_log WHERE target = ?", name); err != nil && !db.IsSchemaError(err) {
				return fmt.Errorf("remove the audit log of %s: %v", name, err)
			}
			if _, err := admin.X.ExecContext(context.Background(), "DELETE FROM passkeyctl.schema_migrations WHERE target_schema = ?", name); err != nil && !db.IsSchemaError(err) {
				return fmt.Errorf("remove the migration history of %s: %v", name, err)
			}
		}
		return nil
	}
	u, err := url.Parse(server)
	if err != nil {
		drop()
		return "", nil, err
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}

func uniqueName() string {
	b := make([]byte, 6)
	rand.Read(b)
	return fmt.Sprintf("pk_%s_%s", time.Now().UTC().Format("0102150405"), hex.EncodeToString(b))
}

// Open opens dsn for a test and closes it at cleanup.
func Open(t testing.TB, dsn string) *db.DB {
	t.Helper()
	// As migrate opens: a missing SQLite file or ?schema= is created later.
	d, err := db.Open(context.Background(), dsn, db.OpenOptions{CreateSQLite: true, MissingSchemaOK: true})
	if err != nil {
		t.Fatalf("dbtest: open: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// Exec runs statements on dsn, failing the test on the first error.
func Exec(t testing.TB, d *db.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := d.X.ExecContext(context.Background(), s); err != nil {
			t.Fatalf("dbtest: exec %q: %v", firstLine(s), err)
		}
	}
}

// Migrated returns a fresh database of the dialect with the Auth.js core
// tables and the Authenticator table, as `passkeyctl migrate --core` makes
// them, and the open handle to it.
func Migrated(t testing.TB, dialect string) (string, *db.DB) {
	t.Helper()
	dsn := New(t, dialect)
	d := Open(t, dsn)
	fsys, err := schema.FS(d.Dialect.Name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Migrate(context.Background(), fsys, db.MigrateOptions{Core: true}); err != nil {
		t.Fatalf("dbtest: migrate --core: %v", err)
	}
	return dsn, d
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}
