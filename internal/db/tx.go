package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
	"modernc.org/sqlite"
)

// maxTxAttempts bounds how often inTx runs a transaction that failed on a
// deadlock or a serialisation failure: enough for a few operators racing
// on the same rows, never an endless loop.
const maxTxAttempts = 5

// txOptions tunes inTx.
type txOptions struct {
	// what names the operation in errors: "import", "revoke".
	what string
	// lock, when set, names an application lock held for the whole
	// transaction, so that every transaction taking the same lock on the
	// same database runs one after the other: PostgreSQL's
	// pg_advisory_xact_lock (released at COMMIT or ROLLBACK, so it works
	// behind transaction-pooling proxies), MySQL's GET_LOCK on the
	// transaction's own connection. SQLite needs none: every passkeyctl
	// transaction there is BEGIN IMMEDIATE, which already holds the
	// database's one write lock.
	lock string
	// retry says fn may run again after a deadlock or serialisation
	// failure; rewind, when set, is called before it does (an import
	// rewinds its input file).
	retry  bool
	rewind func() error
	// rollback ends the transaction with ROLLBACK instead of COMMIT: a dry
	// run that ran every real statement.
	rollback bool
	// audit, when set, returns the audit entry of what fn did (nil or
	// empty: nothing to record); it is written in the same transaction,
	// after fn, and passed to the AuditContext's Recorded once committed.
	// A dry run writes it too, then rolls it back, when the audit tables
	// exist (so that it fails where the real run would), and creates
	// nothing.
	audit func() *store.AuditEntry
	// attach runs the transaction, on SQLite, on a connection with the
	// file of passkeyctl's own tables attached (when it exists) also when
	// nothing is recorded: migrate down forgets history rows there.
	attach bool
}

// inTx runs fn in one transaction and commits it (or rolls it back, for a
// dry run). It is the one place that begins the write transactions of
// revoke and import:
//
//   - PostgreSQL runs READ COMMITTED whatever the server's default, so that
//     a statement after a lock wait sees what the lock's previous holder
//     committed;
//   - a deadlock or serialisation failure (PostgreSQL 40P01/40001, MySQL
//     1213, SQLITE_BUSY) rolls back and runs fn again, up to maxTxAttempts
//     times with a short random back-off, when opts.retry allows it. MySQL's
//     lock wait timeout (1205) is not retried: it has already waited
//     innodb_lock_wait_timeout, and waiting as long again helps nobody.
func (d *DB) inTx(ctx context.Context, opts txOptions, fn func(ctx context.Context, tx *sqlx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := d.txOnce(ctx, opts, fn)
		if err == nil || !opts.retry || !isRetryable(err) || ctx.Err() != nil {
			return err
		}
		if attempt == maxTxAttempts {
			return fmt.Errorf("%s: %w (another transaction kept taking the same rows; tried %d times, nothing was changed: run the command again)", opts.what, err, attempt)
		}
		if opts.rewind != nil {
			if rerr := opts.rewind(); rerr != nil {
				return fmt.Errorf("%s: %w (and cannot retry: %v)", opts.what, err, rerr)
			}
		}
		backoff := time.Duration(10<<attempt)*time.Millisecond + time.Duration(rand.IntN(50))*time.Millisecond
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
	}
}

func (d *DB) txOnce(ctx context.Context, opts txOptions, fn func(ctx context.Context, tx *sqlx.Tx) error) error {
	var begin func(context.Context, *sql.TxOptions) (*sqlx.Tx, error) = d.X.BeginTxx
	var txOpts *sql.TxOptions
	auditing := opts.audit != nil && d.Audit != nil
	if auditing {
		var err error
		var release func()
		if auditing, begin, release, err = d.prepareAudit(ctx, opts.rollback); err != nil {
			return err
		}
		defer release()
	} else if opts.attach && d.Dialect == SQLite {
		conn, err := d.X.Connx(ctx)
		if err != nil {
			return d.Err(opts.what+": connect", err)
		}
		defer conn.Close()
		if err := d.attachOwn(ctx, conn, false); err != nil {
			return err
		}
		begin = conn.BeginTxx
	}
	switch d.Dialect {
	case Postgres:
		txOpts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
		// On a connection of its own, which fn reaches through ctx for
		// what database/sql's Tx cannot do: COPY (copyIn).
		conn, err := d.X.Connx(ctx)
		if err != nil {
			return d.Err(opts.what+": connect", err)
		}
		defer conn.Close()
		begin = conn.BeginTxx
		ctx = context.WithValue(ctx, txConnKey{}, conn)
	case MySQL:
		if opts.lock != "" {
			// GET_LOCK belongs to a session: take it on the connection the
			// transaction will use, before BEGIN, so the transaction's
			// snapshot is taken after the previous holder committed.
			conn, err := d.X.Connx(ctx)
			if err != nil {
				return d.Err(opts.what+": connect", err)
			}
			defer conn.Close()
			got, release, err := d.mysqlAppLock(ctx, conn, opts.lock, 600)
			if err != nil {
				return d.Err(opts.what+": take the "+opts.lock+" lock", err)
			}
			if !got {
				return fmt.Errorf("%s: %w: another passkeyctl %s held the lock for 10 minutes", opts.what, passkey.ErrLocked, opts.lock)
			}
			defer release()
			begin = conn.BeginTxx
		}
	}
	tx, err := begin(ctx, txOpts)
	if err != nil {
		return d.Err(opts.what+": begin transaction", err)
	}
	defer tx.Rollback()
	if opts.lock != "" && d.Dialect == Postgres {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext($1 || current_database() || '.' || current_schema()))", "passkeyctl "+opts.lock+" "); err != nil {
			return d.Err(opts.what+": take the "+opts.lock+" lock", err)
		}
	}
	if err := fn(ctx, tx); err != nil {
		return err
	}
	var entry *store.AuditEntry
	if auditing {
		if entry = opts.audit(); entry != nil && !entry.Empty() {
			if err := d.writeAudit(ctx, tx, entry); err != nil {
				return err
			}
		}
	}
	if opts.rollback {
		return d.Err(opts.what+": roll back dry run", tx.Rollback())
	}
	if err := tx.Commit(); err != nil {
		return d.Err(opts.what+": commit", err)
	}
	if entry != nil && !entry.Empty() && d.Audit.Recorded != nil {
		d.Audit.Recorded(*entry)
	}
	return nil
}

// prepareAudit makes the audit tables ready for a transaction that records
// its change, before BEGIN (MySQL commits at any CREATE; SQLite attaches
// the audit file to one connection, on which the transaction must run).
// It returns whether to record, and how to begin. A dry run records only
// where the tables exist already: it creates nothing.
func (d *DB) prepareAudit(ctx context.Context, dryRun bool) (bool, func(context.Context, *sql.TxOptions) (*sqlx.Tx, error), func(), error) {
	nothing := func() {}
	if !dryRun {
		if err := d.Audit.Ready(); err != nil {
			return false, nil, nothing, err
		}
	}
	if d.Dialect != SQLite {
		if dryRun {
			ok, err := d.auditExists(ctx, d.X)
			return ok, d.X.BeginTxx, nothing, d.Err("audit log: look for "+d.AuditWhere(), err)
		}
		return true, d.X.BeginTxx, nothing, d.ensureAudit(ctx, d.X)
	}
	if dryRun {
		if file := d.auditFile(); file != ":memory:" {
			if _, err := os.Stat(file); err != nil {
				return false, d.X.BeginTxx, nothing, nil
			}
		}
	}
	// The transaction runs on the connection the file is attached to; the
	// caller releases it once the transaction ended (Conn.Close waits for
	// it).
	conn, err := d.X.Connx(ctx)
	if err != nil {
		return false, nil, nothing, d.Err("audit log: connect", err)
	}
	release := func() { conn.Close() }
	if err := d.attachAudit(ctx, conn); err != nil {
		release()
		return false, nil, nothing, err
	}
	if err := d.ensureAudit(ctx, conn); err != nil {
		release()
		return false, nil, nothing, err
	}
	return true, conn.BeginTxx, release, nil
}

// txConnKey is the context key under which inTx gives fn, on
// PostgreSQL, the connection its transaction runs on (txConn).
type txConnKey struct{}

// txConn is the connection of the transaction inTx runs fn in, when it
// has one of its own (PostgreSQL).
func txConn(ctx context.Context) *sqlx.Conn {
	c, _ := ctx.Value(txConnKey{}).(*sqlx.Conn)
	return c
}

// isRetryable reports whether err is a deadlock or serialisation failure
// after which the whole transaction can simply run again.
func isRetryable(err error) bool {
	var pe *pq.Error
	if errors.As(err, &pe) {
		return pe.Code == "40P01" || pe.Code == "40001"
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1213
	}
	return isSQLiteBusy(err)
}

// IsSchemaError reports whether err is a database error that says the
// schema cannot take what was written, wherever it was caught: a value too
// long for its column (PostgreSQL 22001, MySQL 1406), a missing table or
// column (PostgreSQL 42P01/42703, MySQL 1146/1054, SQLite "no such ...").
// Commands map it to the exit code of ErrSchemaNotReady, so that one
// schema problem has one exit code in every command.
func IsSchemaError(err error) bool {
	var pe *pq.Error
	if errors.As(err, &pe) {
		switch pe.Code {
		case "22001", "42P01", "42703":
			return true
		}
		return false
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1406, 1146, 1054:
			return true
		}
		return false
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		msg := se.Error()
		return strings.Contains(msg, "no such table") || strings.Contains(msg, "no such column")
	}
	return false
}
