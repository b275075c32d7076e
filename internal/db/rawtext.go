package db

import "database/sql"

// rawText is a nullable text column scanned without a string per value:
// Scan copies the driver's bytes into b, whose storage the next row
// reuses. With Dialect.RawText around the column the driver allocates
// nothing either, so a listing makes its strings once per row (rowText),
// not once per column: on a million passkeys that was most of the
// client's time outside the key check.
type rawText struct {
	b     []byte
	valid bool
}

// Scan implements sql.Scanner. Bytes and strings are copied as they are;
// any other value is converted as sql.NullString converts it, so a column
// of another type (a numeric user ID) reads as it always has.
func (t *rawText) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		t.b, t.valid = t.b[:0], false
	case []byte:
		t.b, t.valid = append(t.b[:0], v...), true
	case string:
		t.b, t.valid = append(t.b[:0], v...), true
	default:
		var s sql.NullString
		if err := s.Scan(src); err != nil {
			return err
		}
		t.b, t.valid = append(t.b[:0], s.String...), true
	}
	return nil
}

// rowText turns the scanned columns of one row into strings with one
// allocation: the strings are slices of a single copy of all their bytes.
type rowText struct {
	buf []byte
}

// strings sets out[i] to cols[i]'s text ("" for NULL); out must be as
// long as cols.
func (r *rowText) strings(cols []*rawText, out []string) {
	r.buf = r.buf[:0]
	for _, c := range cols {
		r.buf = append(r.buf, c.b...)
	}
	all := string(r.buf)
	for i, c := range cols {
		out[i], all = all[:len(c.b)], all[len(c.b):]
	}
}

// rawValue is a nullable integer or boolean column scanned without
// reflection: database/sql assigns a driver's int64 to a NullInt64 (a
// bool to a NullBool) through reflect, a few hundred instructions per
// value. A value of another type is converted as sql.Null converts it
// (MySQL's text protocol sends digits; MySQL and SQLite booleans are 0
// and 1).
type rawValue[T int64 | bool] struct {
	v     T
	valid bool
}

// rawInt and rawBool are the integer and boolean columns.
type (
	rawInt  = rawValue[int64]
	rawBool = rawValue[bool]
)

// Scan implements sql.Scanner.
func (n *rawValue[T]) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*n = rawValue[T]{}
	case T:
		n.v, n.valid = v, true
	default:
		var conv sql.Null[T]
		err := conv.Scan(src)
		n.v, n.valid = conv.V, conv.Valid
		return err
	}
	return nil
}
