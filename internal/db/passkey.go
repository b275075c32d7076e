package db

import (
	"database/sql"
	"strings"

	"github.com/lib/pq"
)

// JoinTransports is how Auth.js stores transports: joined with "," and no
// spaces, or NULL when there are none.
func JoinTransports(ts []string) sql.NullString {
	if len(ts) == 0 {
		return sql.NullString{}
	}
	return sql.NullString{String: strings.Join(ts, ","), Valid: true}
}

// exactEq returns a byte-exact equality test of col that takes two
// placeholders, to be given the same value twice. On MySQL "=" is
// case-insensitive under the usual collations: the plain test lets the
// index find the candidates and the binary one (binary) keeps the exact
// one. Elsewhere "=" is already exact; repeating it keeps the argument
// count the same everywhere.
func (d *DB) ExactEq(col string) string {
	return "(" + col + " = ? AND " + d.binary(col) + " = ?)"
}

// exactColumnsEq is a byte-exact test that columns a and b are equal:
// "a = b", which lets an index find the candidates, and on MySQL also
// their binary forms, which rule out those that differ in case or
// trailing spaces under a case-insensitive collation.
func (d *DB) exactColumnsEq(a, b string) string {
	if d.Dialect == MySQL {
		return a + " = " + b + " AND " + d.binary(a) + " = " + d.binary(b)
	}
	return a + " = " + b
}

// binary is expr compared byte by byte: on MySQL, whose usual collations
// ignore case and trailing spaces, CAST(expr AS BINARY), which MariaDB
// reads too (MySQL 8.0.27 deprecated the BINARY operator that says the
// same: MySQL 9.7 warns of it on every statement); elsewhere expr itself
// (the test and app databases' collations already compare these ASCII
// IDs byte by byte).
func (d *DB) binary(expr string) string {
	if d.Dialect == MySQL {
		return "CAST(" + expr + " AS BINARY)"
	}
	return expr
}

func nullable(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	v := s.String
	return &v
}

// inList returns "expr IN (?, ...)" and its arguments; on PostgreSQL
// "expr = ANY(?)" with one array argument, which the server parses and
// plans much faster for hundreds of values.
func (d *DB) inList(expr string, values []string) (string, []any) {
	if d.Dialect == Postgres {
		return expr + " = ANY(?)", []any{pq.StringArray(values)}
	}
	return expr + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(values)), ", ") + ")", anySlice(values)
}

// selectIn returns SELECT cols FROM table WHERE cond AND col IN
// (values...) and its arguments, cond taking condArgs ("" for none). On
// PostgreSQL it probes col's index once per value: a LATERAL subquery
// the planner keeps as one (OFFSET 0) behind unnest of one array. The
// plain "col = ANY(array)", on a table without statistics or whose
// statistics predate the rows this transaction wrote (an import filling
// a new table), is planned as a scan of the whole table: every batch of
// an import read every row the batches before it had written. The array
// is written into *buf, which the caller may reuse once the query's rows
// are read.
func (d *DB) selectIn(cols, table, cond string, condArgs []any, col string, values []string, buf *[]byte) (string, []any) {
	if d.Dialect == Postgres {
		if cond != "" {
			cond += " AND "
		}
		// The literal goes as text (bytes are sent as they are, in the
		// binary format, which for text is the text itself) and becomes
		// text[] on the server: one copy of it, where pq.StringArray makes
		// four.
		*buf = appendTextArray((*buf)[:0], values)
		return "SELECT t.* FROM unnest(?::text::text[]) AS v(x) CROSS JOIN LATERAL (SELECT " + cols + " FROM " + table +
			" WHERE " + cond + col + " = v.x OFFSET 0) AS t", append([]any{*buf}, condArgs...)
	}
	in, args := d.inList(col, values)
	if cond != "" {
		in = cond + " AND " + in
	}
	return "SELECT " + cols + " FROM " + table + " WHERE " + in, append(condArgs, args...)
}

// appendTextArray appends values as a PostgreSQL text[] literal, each
// element quoted, its '"' and '\' escaped.
func appendTextArray(b []byte, values []string) []byte {
	b = append(b, '{')
	for i, v := range values {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		for j := 0; j < len(v); j++ {
			if c := v[j]; c == '"' || c == '\\' {
				b = append(b, '\\')
			}
			b = append(b, v[j])
		}
		b = append(b, '"')
	}
	return append(b, '}')
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
