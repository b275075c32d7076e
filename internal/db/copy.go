package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
)

// rowWriter takes the rows of one table a value at a time, in the order
// of the columns given to writeRows, each row closed by endRow.
type rowWriter interface {
	str(s string)
	nullString(s sql.NullString)
	int(i int64)
	bool(b bool)
	// base64 writes raw in enc: a credential ID in its stored form.
	base64(enc *base64.Encoding, raw []byte)
	// transports writes ts as both apps store them (passkey.JoinTransports).
	transports(ts []string)
	// value is any other argument an INSERT takes: nil, a time.Time, a
	// driver.Valuer...
	value(v any) error
	endRow() error
}

// writeRows writes the rows that fill calls w with into table: on
// PostgreSQL through COPY FROM STDIN inside the transaction of ctx
// (inTx), which the server takes without parsing and planning a
// statement of thousands of parameters and the client sends without
// building one; elsewhere in multi-row INSERTs (insertRows). A
// unique-key violation is ErrConflict either way.
func (d *DB) writeRows(ctx context.Context, tx *sqlx.Tx, table string, cols []string, what string, fill func(w rowWriter) error) error {
	return d.writeRowsInto(ctx, tx, d.Q(table), table, cols, what, fill)
}

// writeRowsInto is writeRows into a table whose name is already qualified
// and quoted (passkeyctl's own tables, outside the app's).
func (d *DB) writeRowsInto(ctx context.Context, tx *sqlx.Tx, qualified, table string, cols []string, what string, fill func(w rowWriter) error) error {
	if conn := txConn(ctx); conn != nil && d.Dialect.copyFrom {
		ok, err := d.copyWorks(ctx, tx)
		if err != nil {
			return err
		}
		if ok {
			return d.copyIn(ctx, conn, qualified, table, cols, what, fill)
		}
	}
	w := &insertWriter{}
	if err := fill(w); err != nil {
		return err
	}
	return d.insertRowsInto(ctx, tx, qualified, table, cols, w.rows, what)
}

// copyProbe is what a DB found out about its server's COPY FROM STDIN.
type copyProbe struct {
	mu           sync.Mutex
	known, works bool
}

// copyWorks reports whether the server takes COPY FROM STDIN, asking it
// once per DB: PGlite (what `npx prisma dev` serves; version() names it)
// runs behind pglite-socket one protocol message at a time, and a COPY
// waiting for its data there ends the database for every client.
func (d *DB) copyWorks(ctx context.Context, q sqlx.QueryerContext) (bool, error) {
	p := &d.copy
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.known {
		var v string
		if err := q.QueryRowxContext(ctx, "SELECT version()").Scan(&v); err != nil {
			return false, d.Err("ask the server's version", err)
		}
		p.known, p.works = true, !strings.Contains(v, "PGlite") && !strings.Contains(v, "emscripten")
	}
	return p.works, nil
}

// insertWriter collects INSERT arguments.
type insertWriter struct {
	rows [][]any
	row  []any
}

func (w *insertWriter) str(s string)                { w.row = append(w.row, s) }
func (w *insertWriter) nullString(s sql.NullString) { w.row = append(w.row, s) }
func (w *insertWriter) int(i int64)                 { w.row = append(w.row, i) }
func (w *insertWriter) bool(b bool)                 { w.row = append(w.row, b) }
func (w *insertWriter) value(v any) error           { w.row = append(w.row, v); return nil }
func (w *insertWriter) base64(enc *base64.Encoding, raw []byte) {
	w.row = append(w.row, enc.EncodeToString(raw))
}
func (w *insertWriter) transports(ts []string) { w.row = append(w.row, passkey.JoinTransports(ts)) }
func (w *insertWriter) endRow() error {
	w.rows = append(w.rows, w.row)
	w.row = nil
	return nil
}

// rawConn is conn.Raw(f), without the deadlock Raw meets on the Conn of a
// transaction: when f's error says the connection is bad
// (driver.ErrBadConn, as lib/pq says when the server ended it), Raw
// closes the Conn, and closing waits for every user of the Conn to let go
// of it, the open transaction too, which never does: a revoke whose
// connection the server ended during the audit log's COPY hung for ever.
// Raw is therefore given f's error wrapped so that it does not say so
// (keptConnError), and the error comes back as f returned it; the
// transaction's end (its rollback fails on the bad connection) discards
// the connection instead.
// A panic in f would be the same deadlock (Raw takes it for a bad
// connection), so it is carried out the same way and raised again after.
func rawConn(conn *sqlx.Conn, f func(dc any) error) error {
	err := conn.Raw(func(dc any) (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = &keptConnError{err: fmt.Errorf("panic: %v", p), panicked: p}
			}
		}()
		if err := f(dc); err != nil {
			return &keptConnError{err: err}
		}
		return nil
	})
	if k, ok := err.(*keptConnError); ok {
		if k.panicked != nil {
			panic(k.panicked)
		}
		return k.err
	}
	return err
}

// keptConnError carries an error (or a panic) out of sql.Conn.Raw
// without its meaning (no Unwrap): see rawConn.
type keptConnError struct {
	err      error
	panicked any
}

func (e *keptConnError) Error() string { return e.err.Error() }

// copyData is lib/pq's COPY FROM STDIN statement: CopyData sends rows
// already in COPY's text format (it copies line into its buffer before
// returning), without a database/sql call and its argument conversions
// per row.
type copyData interface {
	CopyData(ctx context.Context, line string) (driver.Result, error)
}

// copyIn runs COPY table (cols) FROM STDIN on the transaction's
// connection and streams the rows fill writes.
func (d *DB) copyIn(ctx context.Context, conn *sqlx.Conn, qualified, table string, cols []string, what string, fill func(w rowWriter) error) error {
	var sb strings.Builder
	sb.WriteString("COPY " + qualified + " (")
	for i, c := range cols {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(d.Q(c))
	}
	sb.WriteString(") FROM STDIN")
	// fillErr is an error of fill's own (not the server's), returned as
	// it is.
	var fillErr error
	err := rawConn(conn, func(dc any) error {
		pc, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return fmt.Errorf("the driver's connection (%T) cannot prepare", dc)
		}
		st, err := pc.PrepareContext(ctx, sb.String())
		if err != nil {
			return err
		}
		defer st.Close()
		cd, ok := st.(copyData)
		if !ok {
			return fmt.Errorf("the driver's COPY statement (%T) has no CopyData", st)
		}
		w := &copyWriter{ctx: ctx, cd: cd, cols: len(cols)}
		if err := fill(w); err != nil {
			if w.err != nil {
				return w.err // the server's, reported while rows were sent
			}
			fillErr = err
			return err
		}
		// Exec without arguments ends the COPY and returns the server's
		// verdict on every row.
		_, err = st.Exec(nil)
		return err
	})
	switch {
	case err == nil:
		return nil
	case fillErr != nil:
		return fillErr
	case d.Dialect.IsDuplicateKey(err):
		return fmt.Errorf("%s into %s: %s: %w", what, table, d.Target.Scrub(err.Error()), passkey.ErrConflict)
	}
	return d.Err(what+" into "+table, err)
}

// copyWriter encodes rows in COPY's text format into one buffer, reused
// from row to row.
type copyWriter struct {
	ctx  context.Context
	cd   copyData
	cols int
	buf  []byte
	n    int // values in the current row
	rows int
	// err is the server's error that CopyData reported.
	err error
	// lastTime and lastTimeText are the last time value and its text,
	// the same in every row of a batch.
	lastTime     time.Time
	lastTimeText []byte
}

func (w *copyWriter) sep() {
	if w.n > 0 {
		w.buf = append(w.buf, '\t')
	}
	w.n++
}

// str appends s with COPY's escapes: backslash, and the newline, carriage
// return and tab that would end the value or the row.
func (w *copyWriter) str(s string) {
	w.sep()
	w.buf = appendCopyText(w.buf, s)
}

func appendCopyText(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		var esc byte
		switch s[i] {
		case '\\':
			esc = '\\'
		case '\n':
			esc = 'n'
		case '\r':
			esc = 'r'
		case '\t':
			esc = 't'
		default:
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, '\\', esc)
		start = i + 1
	}
	return append(b, s[start:]...)
}

func (w *copyWriter) null() {
	w.sep()
	w.buf = append(w.buf, '\\', 'N')
}

func (w *copyWriter) nullString(s sql.NullString) {
	if !s.Valid {
		w.null()
		return
	}
	w.str(s.String)
}

// base64 appends raw encoded, which needs no escapes.
func (w *copyWriter) base64(enc *base64.Encoding, raw []byte) {
	w.sep()
	w.buf = enc.AppendEncode(w.buf, raw)
}

// transports appends what passkey.JoinTransports makes of ts.
func (w *copyWriter) transports(ts []string) {
	if len(ts) == 0 {
		w.null()
		return
	}
	w.sep()
	for i, t := range ts {
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		w.buf = appendCopyText(w.buf, t)
	}
}

func (w *copyWriter) int(i int64) {
	w.sep()
	w.buf = strconv.AppendInt(w.buf, i, 10)
}

// bool writes what lib/pq sends for a bool argument.
func (w *copyWriter) bool(b bool) {
	w.sep()
	w.buf = strconv.AppendBool(w.buf, b)
}

// value encodes the other arguments INSERTs take as lib/pq sends them as
// parameters, so that the server reads the same values from COPY.
func (w *copyWriter) value(v any) error {
	if vr, ok := v.(driver.Valuer); ok {
		var err error
		if v, err = vr.Value(); err != nil {
			return err
		}
	}
	switch x := v.(type) {
	case nil:
		w.null()
	case string:
		w.str(x)
	case *string:
		if x == nil {
			w.null()
		} else {
			w.str(*x)
		}
	case int64:
		w.int(x)
	case int:
		w.int(int64(x))
	case bool:
		w.bool(x)
	case time.Time:
		// lib/pq's timestamp form: the digits in t's own zone and its
		// offset, which a timestamp column ignores and a timestamptz
		// column applies.
		if x != w.lastTime || w.lastTimeText == nil {
			w.lastTime, w.lastTimeText = x, pq.FormatTimestamp(x)
		}
		w.sep()
		w.buf = append(w.buf, w.lastTimeText...)
	default:
		return fmt.Errorf("COPY: no text form for a %T value", v)
	}
	return nil
}

func (w *copyWriter) endRow() error {
	if w.n != w.cols {
		return fmt.Errorf("COPY: a row of %d values for %d columns", w.n, w.cols)
	}
	w.n = 0
	w.rows++
	if w.rows%1024 == 0 {
		if err := w.ctx.Err(); err != nil {
			return err
		}
	}
	// The line is handed over as a string without copying it: CopyData
	// appends it to the statement's own buffer before returning, and only
	// then is buf written again. The driver watches no context here (it
	// would start a goroutine per row): ctx is checked above.
	line := unsafe.String(unsafe.SliceData(w.buf), len(w.buf))
	_, w.err = w.cd.CopyData(context.Background(), line)
	w.buf = w.buf[:0]
	return w.err
}
