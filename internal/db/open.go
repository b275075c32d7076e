package db

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql" // MySQL/MariaDB driver
	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"  // PostgreSQL driver
	_ "modernc.org/sqlite" // SQLite driver, pure Go
)

func init() {
	// go-sql-driver/mysql logs connection trouble to stderr on its own
	// ("[mysql] packets.go:58 ..."); passkeyctl reports every error once,
	// as one line, through the error it returns.
	mysql.SetLogger(log.New(io.Discard, "", 0))
}

// DB is an open database with its dialect. Open does not detect the schema;
// commands call Detect when they need it, once.
type DB struct {
	X       *sqlx.DB
	Dialect *Dialect
	Target  Target
	// SchemaOptions overrides schema detection (--schema, --tables); the
	// zero value detects.
	SchemaOptions SchemaOptions
}

// OpenOptions tunes Open.
type OpenOptions struct {
	// CreateSQLite allows Open to create a missing SQLite file (migrate
	// does; list and revoke must not silently make an empty database).
	CreateSQLite bool
	// MissingSQLiteAsEmpty opens a private in-memory database in place of
	// a SQLite file that does not exist, so that `migrate --dry-run` can
	// plan against an empty database without creating the file.
	MissingSQLiteAsEmpty bool
}

// Open parses dsn, connects and checks the connection. Its errors never
// contain the DSN's password.
func Open(ctx context.Context, dsn string, opts OpenOptions) (*DB, error) {
	t, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	driverDSN := t.DriverDSN
	if path := t.SQLitePath; t.Dialect == SQLite && path != ":memory:" && !strings.HasPrefix(path, ":memory:") {
		_, err := os.Stat(path)
		switch {
		case errors.Is(err, os.ErrNotExist) && opts.MissingSQLiteAsEmpty:
			// Every connection to ":memory:" is a new empty database: one
			// connection keeps the plan consistent.
			driverDSN = "file::memory:?" + strings.SplitN(driverDSN, "?", 2)[1]
			opts.CreateSQLite = true
		case errors.Is(err, os.ErrNotExist) && !opts.CreateSQLite:
			return nil, fmt.Errorf("%w: SQLite database %s does not exist (create it with: passkeyctl migrate --core)", ErrSchemaNotReady, path)
		case errors.Is(err, os.ErrNotExist):
			if _, err := os.Stat(filepath.Dir(path)); err != nil {
				return nil, fmt.Errorf("%w: cannot create SQLite database %s: folder %s does not exist", ErrInvalid, path, filepath.Dir(path))
			}
		case err != nil:
			return nil, fmt.Errorf("cannot open SQLite database %s: %v", path, unwrapPathError(err))
		}
	}
	x, err := sqlx.Open(t.Dialect.DriverName, driverDSN)
	if err != nil {
		return nil, fmt.Errorf("open %s: %s", t.Redacted, t.Scrub(err.Error()))
	}
	x.SetConnMaxIdleTime(time.Minute)
	if t.Dialect == SQLite {
		// One writer at a time is SQLite's rule; a small pool keeps a
		// streaming read and a write from deadlocking each other.
		x.SetMaxOpenConns(4)
		if strings.HasPrefix(driverDSN, "file::memory:") {
			x.SetMaxOpenConns(1)
			x.SetConnMaxIdleTime(0)
		}
	}
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := x.PingContext(pingCtx); err != nil {
		x.Close()
		return nil, fmt.Errorf("cannot connect to %s: %s", t.Redacted, t.Scrub(err.Error()))
	}
	return &DB{X: x, Dialect: t.Dialect, Target: t}, nil
}

// Close closes the connection pool.
func (d *DB) Close() error { return d.X.Close() }

// Q quotes an identifier in the database's dialect.
func (d *DB) Q(ident string) string { return d.Dialect.Quote(ident) }

// Err scrubs any password from a driver error and adds context. It returns
// nil for a nil err.
func (d *DB) Err(context string, err error) error {
	if err == nil {
		return nil
	}
	return &scrubbedError{msg: context + ": " + d.Target.Scrub(err.Error()), err: err}
}

// scrubbedError keeps the driver error for errors.Is/As while printing a
// message without a password.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
