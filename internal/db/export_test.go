package db

import (
	"context"

	"github.com/jmoiron/sqlx"
)

// Test-only access to the migrator's internals for the external test
// package, which needs dbtest (importing dbtest from package db itself would
// be an import cycle).

// WithAfterStatement returns opts with a hook run after each executed
// schema statement; an error from it simulates a crash at that point.
func WithAfterStatement(opts MigrateOptions, hook func(stmt string) error) MigrateOptions {
	opts.afterStatement = hook
	return opts
}

// RawConn is rawConn.
var RawConn = rawConn

// SplitStatements is splitStatements, for loading test DDL files.
var SplitStatements = splitStatements

// The lock the tests take to simulate another migrate holding it.
const PGLockSQL = pgLockSQL

// MySQLLockName is mysqlLockName.
var MySQLLockName = mysqlLockName

// WriteRows writes rows into table with writeRows (COPY on PostgreSQL,
// multi-row INSERTs elsewhere) in a transaction of inTx, each value given
// to the writer as rowWriter.value takes it, but strings, int64s and
// bools, which go through str, int and bool.
func (d *DB) WriteRows(ctx context.Context, table string, cols []string, rows [][]any) error {
	return d.WriteRowsAfter(ctx, table, cols, rows, nil)
}

// WriteRowsAfter is WriteRows with before (when not nil) run first in the
// transaction.
func (d *DB) WriteRowsAfter(ctx context.Context, table string, cols []string, rows [][]any, before func(ctx context.Context, tx *sqlx.Tx) error) error {
	return d.inTx(ctx, txOptions{what: "write rows"}, func(ctx context.Context, tx *sqlx.Tx) error {
		if before != nil {
			if err := before(ctx, tx); err != nil {
				return err
			}
		}
		return d.writeRows(ctx, tx, table, cols, "write rows", func(w rowWriter) error {
			for _, row := range rows {
				for _, v := range row {
					switch x := v.(type) {
					case string:
						w.str(x)
					case int64:
						w.int(x)
					case bool:
						w.bool(x)
					default:
						if err := w.value(v); err != nil {
							return err
						}
					}
				}
				if err := w.endRow(); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// SelectIn is selectIn, with a buffer of its own.
func (d *DB) SelectIn(cols, table, cond string, condArgs []any, col string, values []string) (string, []any) {
	var buf []byte
	return d.selectIn(cols, table, cond, condArgs, col, values, &buf)
}

// DeleteTuples runs deleteTuples in a transaction of its own and returns
// the rows deleted.
func (d *DB) DeleteTuples(ctx context.Context, table string, cols []string, tuples [][]string) (int64, error) {
	var n int64
	err := d.inTx(ctx, txOptions{what: "test delete"}, func(ctx context.Context, tx *sqlx.Tx) error {
		var err error
		n, err = d.deleteTuples(ctx, tx, table, "", nil, cols, tuples)
		return err
	})
	return n, err
}
