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

// rawInt is a nullable integer column scanned without reflection:
// database/sql assigns a driver's int64 to a NullInt64 through reflect, a
// few hundred instructions per value. Anything but an int64 or NULL is
// converted as sql.NullInt64 converts it (MySQL's text protocol sends
// digits).
type rawInt struct {
	v     int64
	valid bool
}

// Scan implements sql.Scanner.
func (n *rawInt) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		n.v, n.valid = 0, false
	case int64:
		n.v, n.valid = v, true
	default:
		var ni sql.NullInt64
		err := ni.Scan(src)
		n.v, n.valid = ni.Int64, ni.Valid
		return err
	}
	return nil
}

// rawBool is rawInt for a boolean column: a bool, or anything
// sql.NullBool takes (0 and 1 from MySQL and SQLite).
type rawBool struct {
	v     bool
	valid bool
}

// Scan implements sql.Scanner.
func (b *rawBool) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		b.v, b.valid = false, false
	case bool:
		b.v, b.valid = v, true
	default:
		var nb sql.NullBool
		err := nb.Scan(src)
		b.v, b.valid = nb.Bool, nb.Valid
		return err
	}
	return nil
}
