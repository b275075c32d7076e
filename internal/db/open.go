// Package db is passkeyctl's SQL layer: it opens a DSN (PostgreSQL,
// MySQL/MariaDB, SQLite), detects which app's schema the database holds,
// applies the Authenticator migration, and reads and writes passkeys
// exactly as the app does. The SQL dialects hide behind the Dialect value
// and the apps (Auth.js, Better Auth) behind the app value detection
// picks; the rest of the package is written once.
package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql" // MySQL/MariaDB driver
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq" // PostgreSQL driver
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/sockets"
	"github.com/passkeyctl/passkeyctl/internal/store"
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
	// createdSQLite is the SQLite file Open created (DiscardCreated).
	createdSQLite string
	X             *sqlx.DB
	Dialect       *Dialect
	Target        Target
	// SchemaOptions overrides schema detection (--schema, --tables); the
	// zero value detects.
	SchemaOptions SchemaOptions
	// Audit, when set, is who makes the changes: each one is recorded in
	// passkeyctl's audit log with it, in its own transaction (audit.go).
	Audit *store.AuditContext
	// ownInApp is set when passkeyctl's own tables (the audit log, the
	// migration history) are in the app's own MySQL database: the user may
	// not create the database passkeyctl (ensureAudit, createHistory).
	ownInApp atomic.Bool

	// lockTimeout is OpenOptions.LockTimeout.
	lockTimeout time.Duration
	// stopInterrupt unregisters OpenOptions.Interrupt's watch.
	stopInterrupt func() bool
	// appTables are the names Q schema-qualifies (see Q).
	appTablesMu sync.RWMutex
	appTables   map[string]bool
	// copy is whether the server takes COPY FROM STDIN (copyWorks).
	copy copyProbe
}

// DefaultConnectTimeout bounds a connection attempt when neither
// OpenOptions.ConnectTimeout nor the DSN's connect_timeout says otherwise.
const DefaultConnectTimeout = 15 * time.Second

// OpenOptions tunes Open.
type OpenOptions struct {
	// CreateSQLite allows Open to create a missing SQLite file (migrate
	// does; list and revoke must not silently make an empty database).
	CreateSQLite bool
	// MissingSQLiteAsEmpty opens a private in-memory database in place of
	// a SQLite file that does not exist, so that `migrate --dry-run` can
	// plan against an empty database without creating the file.
	MissingSQLiteAsEmpty bool
	// MissingSchemaOK lets Open succeed when the PostgreSQL schema that
	// the DSN's ?schema= names does not exist (migrate creates it); every
	// other command refuses with ErrSchemaNotReady before any read.
	MissingSchemaOK bool
	// ConnectTimeout bounds each connection attempt: the TCP connect and
	// the handshake (--connect-timeout). Zero means the DSN's
	// connect_timeout, else DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// LockTimeout, when set, bounds the lock waits of schema detection on
	// PostgreSQL (its catalog queries wait for a lock another session
	// holds on a table, such as LOCK TABLE "User"): migrate passes
	// --lock-timeout, so that no step of it waits longer.
	LockTimeout time.Duration
	// Interrupt, when set, is a context whose end (SIGINT or SIGTERM in
	// passkeyctl) closes the socket of every PostgreSQL connection at once,
	// so that the command returns through its defers at once: lib/pq does
	// not watch the context while it connects, and the cancel request it
	// sends for a running query is lost when the server has not started
	// the query yet. The server rolls back what the connection had open.
	// (go-sql-driver and SQLite honour the context themselves.)
	Interrupt context.Context
}

// Open parses dsn, connects and checks the connection. Its errors never
// contain the DSN's password.
func Open(ctx context.Context, dsn string, opts OpenOptions) (*DB, error) {
	t, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	driverDSN := t.DriverDSN
	created := ""
	if path := t.SQLitePath; t.Dialect == SQLite && path != ":memory:" && !strings.HasPrefix(path, ":memory:") {
		_, err := os.Stat(path)
		switch {
		case errors.Is(err, os.ErrNotExist) && opts.MissingSQLiteAsEmpty:
			// Every connection to ":memory:" is a new empty database: one
			// connection keeps the plan consistent.
			driverDSN = "file::memory:?" + strings.SplitN(driverDSN, "?", 2)[1]
			opts.CreateSQLite = true
		case errors.Is(err, os.ErrNotExist) && !opts.CreateSQLite:
			if alt, ok := prismaPath(path); ok {
				return nil, fmt.Errorf("%w: SQLite database %s does not exist: Prisma resolves file: paths relative to prisma/schema.prisma: did you mean --dsn file:./%s?", passkey.ErrSchemaNotReady, path, alt)
			}
			return nil, fmt.Errorf("%w: SQLite database %s does not exist (create it with: passkeyctl migrate --core)", passkey.ErrSchemaNotReady, path)
		case errors.Is(err, os.ErrNotExist) && prismaPathExists(path):
			// Creating it here would make a second, empty database next to
			// the app's.
			alt, _ := prismaPath(path)
			return nil, fmt.Errorf("%w: SQLite database %s does not exist, but %s does: Prisma resolves file: paths relative to prisma/schema.prisma; use --dsn file:./%s", passkey.ErrSchemaNotReady, path, alt, alt)
		case errors.Is(err, os.ErrNotExist):
			if _, err := os.Stat(filepath.Dir(path)); err != nil {
				return nil, fmt.Errorf("%w: cannot create SQLite database %s: folder %s does not exist", passkey.ErrInvalid, path, filepath.Dir(path))
			}
			created = path
		case err != nil:
			return nil, fmt.Errorf("cannot open SQLite database %s: %v", path, unwrapPathError(err))
		}
	}
	timeout := opts.ConnectTimeout
	if timeout <= 0 {
		timeout = t.ConnectTimeout
	}
	if timeout <= 0 {
		timeout = DefaultConnectTimeout
	}
	if t.Dialect != SQLite {
		if driverDSN, err = t.driverDSNWithTimeout(timeout); err != nil {
			return nil, fmt.Errorf("%w: DSN %q: %s", passkey.ErrInvalid, t.Redacted, t.Scrub(err.Error()))
		}
	}
	var x *sqlx.DB
	var stopInterrupt func() bool
	if t.Dialect == Postgres {
		c, err := pq.NewConnector(driverDSN)
		if err != nil {
			return nil, fmt.Errorf("%w: DSN %q: %s", passkey.ErrInvalid, t.Redacted, t.Scrub(err.Error()))
		}
		socks := &socketSet{}
		c.Dialer(socks)
		if opts.Interrupt != nil {
			stopInterrupt = context.AfterFunc(opts.Interrupt, socks.closeAll)
		}
		x = sqlx.NewDb(sql.OpenDB(c), t.Dialect.DriverName)
	} else if x, err = sqlx.Open(t.Dialect.DriverName, driverDSN); err != nil {
		return nil, fmt.Errorf("open %s: %s", t.Redacted, t.Scrub(err.Error()))
	}
	closeAll := func() {
		x.Close()
		if stopInterrupt != nil {
			stopInterrupt()
		}
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
	// The driver bounds the connect itself (driverDSNWithTimeout); the
	// context bounds what it leaves out, such as go-sql-driver's handshake.
	pingCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := x.PingContext(pingCtx); err != nil {
		closeAll()
		if ctx.Err() == nil && isTimeout(err) {
			return nil, fmt.Errorf("cannot connect to %s: no answer within %s (raise --connect-timeout, or connect_timeout=SECONDS in the DSN, if the server is only slow)", t.Redacted, timeout)
		}
		var pe *pq.Error
		if errors.As(err, &pe) {
			// passkeyctl sends no startup parameter of its own beyond the
			// ones every pooler accepts: this one comes from the DSN.
			if param, ok := strings.CutPrefix(pe.Message, "unsupported startup parameter: "); ok {
				return nil, fmt.Errorf("cannot connect to %s: the connection pooler refuses the startup parameter %s that the DSN sets: remove it from the DSN, or let the pooler ignore it (PgBouncer: ignore_startup_parameters = %s)", t.Redacted, param, param)
			}
		}
		return nil, fmt.Errorf("cannot connect to %s: %s", t.Redacted, t.Scrub(err.Error()))
	}
	d := &DB{X: x, Dialect: t.Dialect, Target: t, lockTimeout: opts.LockTimeout, stopInterrupt: stopInterrupt, createdSQLite: created}
	if err := d.checkSchemaExists(pingCtx, opts.MissingSchemaOK); err != nil {
		closeAll()
		return nil, err
	}
	if err := d.checkSQLitePragmas(pingCtx); err != nil {
		closeAll()
		return nil, err
	}
	return d, nil
}

// isTimeout reports whether a connect failed on a deadline: the context's or
// a socket's.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// checkSQLitePragmas refuses a DSN whose _pragma names a pragma SQLite
// does not know (Target.SQLitePragmas): SQLite ignores it without a word,
// and the setting the user asked for would silently not be made.
func (d *DB) checkSQLitePragmas(ctx context.Context) error {
	for _, name := range d.Target.SQLitePragmas {
		var known bool
		if err := d.X.GetContext(ctx, &known, `SELECT EXISTS (SELECT 1 FROM pragma_pragma_list WHERE name = ?)`, name); err != nil {
			return d.Err("look up pragma "+name, err)
		}
		if !known {
			return fmt.Errorf("%w: the DSN sets _pragma %s, which SQLite does not know, so it would be ignored: check its spelling (https://sqlite.org/pragma.html)", passkey.ErrInvalid, name)
		}
	}
	return nil
}

// checkSchemaExists refuses, before any read or write, a PostgreSQL schema
// named by ?schema= that does not exist: passkeyctl never falls back to
// another schema.
func (d *DB) checkSchemaExists(ctx context.Context, missingOK bool) error {
	name := d.Target.SearchPath
	if d.Dialect != Postgres || name == "" {
		return nil
	}
	var exists bool
	if err := d.X.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)`, name); err != nil {
		return d.Err("look up schema "+name, err)
	}
	if !exists && !missingOK {
		return fmt.Errorf("%w: the PostgreSQL schema %q (from the DSN's ?schema=) does not exist in this database: check the name (it is case-sensitive), or create the Auth.js tables there with `passkeyctl migrate --core`", passkey.ErrSchemaNotReady, name)
	}
	return nil
}

// prismaPath is where Prisma would find a relative SQLite path of a
// schema.prisma in ./prisma (the layout `prisma init` makes): relative to
// that file, not to the current folder. ok is false when path is absolute
// or there is no prisma/schema.prisma here.
func prismaPath(path string) (string, bool) {
	if filepath.IsAbs(path) {
		return "", false
	}
	if _, err := os.Stat(filepath.Join("prisma", "schema.prisma")); err != nil {
		return "", false
	}
	return filepath.Join("prisma", path), true
}

// prismaPathExists reports whether prismaPath names an existing file.
func prismaPathExists(path string) bool {
	alt, ok := prismaPath(path)
	if !ok {
		return false
	}
	_, err := os.Stat(alt)
	return err == nil
}

// DiscardCreated closes d and removes the SQLite file Open created for it
// (with its journal), so that a command that failed leaves no empty
// database behind for the next one to mistake for the app's. It does
// nothing when Open created no file.
func (d *DB) DiscardCreated() {
	if d.createdSQLite == "" {
		return
	}
	d.X.Close()
	for _, suffix := range []string{"", "-journal", "-wal", "-shm", "-passkeyctl", "-passkeyctl-journal"} {
		os.Remove(d.createdSQLite + suffix)
	}
}

// Close closes the connection pool.
func (d *DB) Close() error {
	if d.stopInterrupt != nil {
		d.stopInterrupt()
	}
	return d.X.Close()
}

// socketSet is lib/pq's dialer for one DB: it keeps every socket it opened
// so that closeAll can close them at once (OpenOptions.Interrupt).
type socketSet struct {
	dialer net.Dialer
	open   sockets.Set
}

func (s *socketSet) Dial(network, address string) (net.Conn, error) {
	return s.DialContext(context.Background(), network, address)
}

func (s *socketSet) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return s.DialContext(ctx, network, address)
}

func (s *socketSet) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := s.dialer.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	if err := s.open.Add(c); err != nil {
		return nil, err
	}
	return &trackedConn{Conn: c, set: s, rbuf: make([]byte, 0, readBufferSize)}, nil
}

// closeAll closes every open socket and refuses new ones (lib/pq's cancel
// requests included: the closed socket already ends the query).
func (s *socketSet) closeAll() { s.open.CloseAll() }

// trackedConn leaves its socketSet when lib/pq closes it, and reads
// through a buffer of its own (Read).
type trackedConn struct {
	net.Conn
	set *socketSet
	// rbuf holds bytes received and not yet read; rpos is the next one.
	rbuf []byte
	rpos int
}

// readBufferSize is how much one read from the socket may take. lib/pq
// reads through a 4 KiB bufio.Reader: a million-row listing (300 MB)
// made 75,000 read system calls, a tenth of the client's time.
const readBufferSize = 64 << 10

// Read returns buffered bytes, or makes one read from the socket into the
// buffer. Like the socket's own Read it returns what has arrived and
// waits only when nothing has, so lib/pq's one-byte SSL answer and the
// TLS handshake after it read exactly as before.
func (c *trackedConn) Read(p []byte) (int, error) {
	if c.rpos == len(c.rbuf) {
		if len(p) >= cap(c.rbuf) {
			return c.Conn.Read(p)
		}
		n, err := c.Conn.Read(c.rbuf[:cap(c.rbuf)])
		c.rbuf, c.rpos = c.rbuf[:n], 0
		if n == 0 {
			return 0, err
		}
	}
	n := copy(p, c.rbuf[c.rpos:])
	c.rpos += n
	return n, nil
}

func (c *trackedConn) Close() error { return c.set.open.Close(c.Conn) }

// Q quotes an identifier in the database's dialect. It is the one place
// where SQL names a table: when the DSN names a PostgreSQL schema (Prisma's
// ?schema=), the name of an app table (the Auth.js and Better Auth default
// names, and every table Detect found) comes back schema-qualified,
// "auth"."User", so that no statement depends on the session's
// search_path, which poolers drop or refuse (Target.SearchPath). Column
// names, which never coincide with those table names, are only quoted.
// Store code therefore writes d.Q(s.Account.Name), never
// d.Dialect.Quote, for a table.
func (d *DB) Q(ident string) string {
	if d.Target.SearchPath != "" && d.isAppTable(ident) {
		return d.Dialect.Quote(d.Target.SearchPath) + "." + d.Dialect.Quote(ident)
	}
	return d.Dialect.Quote(ident)
}

// defaultAppTables are the tables of Auth.js (both namings) and Better Auth
// under their default names, qualified by Q even before Detect ran.
var defaultAppTables = []string{
	"User", "Account", "Session", "VerificationToken", "Authenticator",
	"user", "account", "session", "verificationToken", "authenticator",
	"verification", "passkey",
}

func (d *DB) isAppTable(name string) bool {
	if slices.Contains(defaultAppTables, name) {
		return true
	}
	d.appTablesMu.RLock()
	defer d.appTablesMu.RUnlock()
	return d.appTables[name]
}

// addAppTables records the tables a detected schema uses, so that Q
// qualifies them (renamed Better Auth tables in particular).
func (d *DB) addAppTables(s *Schema) {
	if s == nil {
		return
	}
	d.appTablesMu.Lock()
	defer d.appTablesMu.Unlock()
	if d.appTables == nil {
		d.appTables = map[string]bool{}
	}
	tables := []*Table{s.User, s.Account, s.Session, s.VerificationToken, s.Authenticator}
	if ba := s.BetterAuth; ba != nil {
		tables = append(tables, ba.User, ba.Account, ba.Session, ba.Passkey)
	}
	for _, t := range tables {
		if t != nil {
			d.appTables[t.Name] = true
		}
	}
}

// inSchema runs fn in one transaction that, on PostgreSQL with ?schema=,
// first sets search_path to that schema with SET LOCAL (and lock_timeout to
// OpenOptions.LockTimeout when set): it lasts until
// COMMIT or ROLLBACK, so it holds for every statement of fn even behind a
// transaction pooler, and unqualified names in fn (detection's catalog
// queries, migrate's embedded .sql files) resolve in the schema asked for
// and nowhere else. The schema is the only entry of the path: a table that
// is not there is not found, rather than found in public.
func (d *DB) inSchema(ctx context.Context, readOnly bool, fn func(tx *sqlx.Tx) error) error {
	tx, err := d.X.BeginTxx(ctx, &sql.TxOptions{ReadOnly: readOnly})
	if err != nil {
		return d.Err("begin", err)
	}
	defer tx.Rollback()
	if err := d.setLocalSearchPath(ctx, tx); err != nil {
		return err
	}
	if d.lockTimeout > 0 && d.Dialect == Postgres {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("SET LOCAL lock_timeout = %d", d.lockTimeout.Milliseconds())); err != nil {
			return d.Err("set lock timeout", err)
		}
	}
	if err := fn(tx); err != nil {
		return err
	}
	return d.Err("commit", tx.Commit())
}

// setLocalSearchPath sets the transaction's search_path to the DSN's
// ?schema= on PostgreSQL; elsewhere, or without ?schema=, it does nothing.
func (d *DB) setLocalSearchPath(ctx context.Context, tx sqlx.ExecerContext) error {
	if d.Dialect != Postgres || d.Target.SearchPath == "" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "SET LOCAL search_path TO "+d.Dialect.Quote(d.Target.SearchPath)); err != nil {
		return d.Err("set search_path for schema "+d.Target.SearchPath, err)
	}
	return nil
}

// Err scrubs any password from a driver error and adds context. It returns
// nil for a nil err.
func (d *DB) Err(context string, err error) error {
	if err == nil {
		return nil
	}
	msg := d.Target.Scrub(err.Error())
	if errors.Is(err, driver.ErrBadConn) {
		// database/sql retries on a new connection where it can, so this
		// is a connection lost in a transaction (or a Conn's). It does
		// not say whether a COMMIT sent just before went through: the
		// caller knows what it was doing.
		msg = "lost the connection to the database (" + msg + "): the server ended it, restarted, or the network failed"
	}
	return &scrubbedError{msg: context + ": " + msg, err: err}
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
