package dbtest

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/passkeyctl/passkeyctl/internal/db"
)

// Statement is one statement a traced database ran: its text and
// arguments exactly as the driver received them (after database/sql's
// conversion), whether it ran inside a transaction, and how long it took
// (for a query, until its rows were closed).
type Statement struct {
	Query string
	Args  []any
	InTx  bool
	Took  time.Duration
}

// Trace reopens d's connection pool through a driver that calls fn after
// each statement, so that a test sees the SQL that passkeyctl's own code
// builds, as it builds it, instead of a copy that could drift. The pool
// has the same size limits as db.Open's; statements already prepared or
// connections already taken are not traced. fn may be called from several
// goroutines at once when d is used so.
func Trace(d *db.DB, fn func(Statement)) error {
	c := &traceConnector{drv: d.X.Driver(), dsn: d.Target.DriverDSN, fn: fn}
	x := sqlx.NewDb(sql.OpenDB(c), d.Dialect.DriverName)
	x.SetConnMaxIdleTime(time.Minute)
	if d.Dialect == db.SQLite {
		x.SetMaxOpenConns(4)
	}
	if err := x.Ping(); err != nil {
		x.Close()
		return err
	}
	old := d.X
	d.X = x
	return old.Close()
}

// Recording is the statements a traced database ran (Record).
type Recording struct {
	mu    sync.Mutex
	stmts []Statement
}

// Record traces d (Trace) into a Recording, failing the test if it
// cannot.
func Record(tb testing.TB, d *db.DB) *Recording {
	tb.Helper()
	r := &Recording{}
	if err := Trace(d, func(s Statement) {
		r.mu.Lock()
		r.stmts = append(r.stmts, s)
		r.mu.Unlock()
	}); err != nil {
		tb.Fatalf("dbtest: trace: %v", err)
	}
	return r
}

// Take returns the statements recorded since the last Take and forgets
// them.
func (r *Recording) Take() []Statement {
	r.mu.Lock()
	defer r.mu.Unlock()
	stmts := r.stmts
	r.stmts = nil
	return stmts
}

type traceConnector struct {
	drv driver.Driver
	dsn string
	fn  func(Statement)
}

func (c *traceConnector) Connect(ctx context.Context) (driver.Conn, error) {
	var inner driver.Conn
	var err error
	if dc, ok := c.drv.(driver.DriverContext); ok {
		var conn driver.Connector
		if conn, err = dc.OpenConnector(c.dsn); err != nil {
			return nil, err
		}
		inner, err = conn.Connect(ctx)
	} else {
		inner, err = c.drv.Open(c.dsn)
	}
	if err != nil {
		return nil, err
	}
	return &traceConn{inner: inner, fn: c.fn}, nil
}

func (c *traceConnector) Driver() driver.Driver { return c.drv }

// traceConn passes everything to the driver's connection and reports each
// statement that ran.
type traceConn struct {
	inner driver.Conn
	fn    func(Statement)
	mu    sync.Mutex
	inTx  bool
}

func (c *traceConn) report(query string, args []driver.NamedValue, start time.Time) {
	c.mu.Lock()
	inTx := c.inTx
	c.mu.Unlock()
	vals := make([]any, len(args))
	for i, a := range args {
		vals[i] = a.Value
	}
	c.fn(Statement{Query: query, Args: vals, InTx: inTx, Took: time.Since(start)})
}

func (c *traceConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *traceConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	var s driver.Stmt
	var err error
	if pc, ok := c.inner.(driver.ConnPrepareContext); ok {
		s, err = pc.PrepareContext(ctx, query)
	} else {
		s, err = c.inner.Prepare(query)
	}
	if err != nil {
		return nil, err
	}
	return &traceStmt{inner: s, query: query, conn: c}, nil
}

func (c *traceConn) Close() error { return c.inner.Close() }

func (c *traceConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *traceConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	var tx driver.Tx
	var err error
	if bc, ok := c.inner.(driver.ConnBeginTx); ok {
		tx, err = bc.BeginTx(ctx, opts)
	} else {
		tx, err = c.inner.Begin() //lint:ignore SA1019 the driver has nothing else
	}
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.inTx = true
	c.mu.Unlock()
	return &traceTx{inner: tx, conn: c}, nil
}

func (c *traceConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	ex, ok := c.inner.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	start := time.Now()
	r, err := ex.ExecContext(ctx, query, args)
	if !errors.Is(err, driver.ErrSkip) {
		c.report(query, args, start)
	}
	return r, err
}

func (c *traceConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := c.inner.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	start := time.Now()
	rows, err := q.QueryContext(ctx, query, args)
	if errors.Is(err, driver.ErrSkip) {
		return nil, err
	}
	if err != nil {
		c.report(query, args, start)
		return nil, err
	}
	return &traceRows{Rows: rows, done: func() { c.report(query, args, start) }}, nil
}

func (c *traceConn) Ping(ctx context.Context) error {
	if p, ok := c.inner.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *traceConn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.inner.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func (c *traceConn) ResetSession(ctx context.Context) error {
	if r, ok := c.inner.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *traceConn) IsValid() bool {
	if v, ok := c.inner.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

type traceTx struct {
	inner driver.Tx
	conn  *traceConn
}

func (t *traceTx) end(err error) error {
	t.conn.mu.Lock()
	t.conn.inTx = false
	t.conn.mu.Unlock()
	return err
}

func (t *traceTx) Commit() error   { return t.end(t.inner.Commit()) }
func (t *traceTx) Rollback() error { return t.end(t.inner.Rollback()) }

type traceStmt struct {
	inner driver.Stmt
	query string
	conn  *traceConn
}

func (s *traceStmt) Close() error { return s.inner.Close() }

// CopyData passes the rows of lib/pq's COPY FROM STDIN through (the import
// and the audit log write their rows so); the COPY statement is reported
// once, by the ExecContext that ends it.
func (s *traceStmt) CopyData(ctx context.Context, line string) (driver.Result, error) {
	cd, ok := s.inner.(interface {
		CopyData(ctx context.Context, line string) (driver.Result, error)
	})
	if !ok {
		return nil, errors.New("dbtest: the driver's statement has no CopyData")
	}
	return cd.CopyData(ctx, line)
}
func (s *traceStmt) NumInput() int { return s.inner.NumInput() }

// Exec is what ends lib/pq's COPY FROM STDIN (internal/db's copyIn): the
// driver's own Exec, reported like ExecContext.
func (s *traceStmt) Exec(args []driver.Value) (driver.Result, error) {
	start := time.Now()
	r, err := s.inner.Exec(args) //lint:ignore SA1019 lib/pq ends COPY with it
	named := make([]driver.NamedValue, len(args))
	for i, a := range args {
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	s.conn.report(s.query, named, start)
	return r, err
}

func (s *traceStmt) Query(args []driver.Value) (driver.Rows, error) {
	return nil, errors.New("dbtest: Stmt.Query without a context")
}

func (s *traceStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	ex, ok := s.inner.(driver.StmtExecContext)
	if !ok {
		return nil, errors.New("dbtest: the driver's statement has no ExecContext")
	}
	start := time.Now()
	r, err := ex.ExecContext(ctx, args)
	s.conn.report(s.query, args, start)
	return r, err
}

func (s *traceStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := s.inner.(driver.StmtQueryContext)
	if !ok {
		return nil, errors.New("dbtest: the driver's statement has no QueryContext")
	}
	start := time.Now()
	rows, err := q.QueryContext(ctx, args)
	if err != nil {
		s.conn.report(s.query, args, start)
		return nil, err
	}
	return &traceRows{Rows: rows, done: func() { s.conn.report(s.query, args, start) }}, nil
}

func (s *traceStmt) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := s.inner.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return s.conn.CheckNamedValue(nv)
}

// traceRows reports its query once the rows are closed.
type traceRows struct {
	driver.Rows
	done func()
	once sync.Once
}

func (r *traceRows) Close() error {
	err := r.Rows.Close()
	r.once.Do(r.done)
	return err
}

func (r *traceRows) Next(dest []driver.Value) error {
	err := r.Rows.Next(dest)
	if err == io.EOF {
		r.once.Do(r.done)
	}
	return err
}

func (r *traceRows) HasNextResultSet() bool {
	if n, ok := r.Rows.(driver.RowsNextResultSet); ok {
		return n.HasNextResultSet()
	}
	return false
}

func (r *traceRows) NextResultSet() error {
	if n, ok := r.Rows.(driver.RowsNextResultSet); ok {
		return n.NextResultSet()
	}
	return io.EOF
}

func (r *traceRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}
