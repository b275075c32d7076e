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

// equal reports whether t holds s.
func (t *rawText) equal(s string) bool { return t.valid && string(t.b) == s }

// nullable is the text as a new string, nil for NULL.
func (t *rawText) nullable() *string {
	if !t.valid {
		return nil
	}
	s := string(t.b)
	return &s
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
