package db

import "testing"

// TestNewUserEmail pins the e-mail as each app's sign-in stores it; the
// expected values are what Node's String.prototype.toLowerCase and Auth.js's
// defaultNormalizer return for the same input.
func TestNewUserEmail(t *testing.T) {
	authjs := &Schema{App: AppAuthjs}
	betterAuth := &Schema{App: AppBetterAuth}
	for _, tc := range []struct {
		s        *Schema
		in, want string
	}{
		{authjs, "Dave@Example.COM", "dave@example.com"},
		{authjs, " \u00a0Dave@Example.com\ufeff", "dave@example.com"},
		{authjs, "a@b.com,evil.example", "a@b.com"},
		{authjs, "ÉLODIE@EXÄMPLE.COM", "élodie@exämple.com"},
		{authjs, "İZMİR@x.tr", "i\u0307zmi\u0307r@x.tr"},
		{authjs, "ΟΔΟΣ@X.GR", "οδος@x.gr"},
		{authjs, "ΣΑΣ.ΑΣ@X.GR", "σασ.ας@x.gr"},
		{authjs, "Σ@x.gr", "σ@x.gr"},
		{betterAuth, "Eve@Example.com", "eve@example.com"},
		{betterAuth, "a@b.com,c.com", "a@b.com,c.com"},
	} {
		if got := NewUserEmail(tc.s, tc.in); got != tc.want {
			t.Errorf("NewUserEmail(%s, %q) = %q, want %q", tc.s.App, tc.in, got, tc.want)
		}
	}
}

// TestEmailFoldEq_sqlite: on SQLite an ASCII address is matched with plain
// LOWER(), which an expression index on lower(email) serves, and any other
// with the Unicode-aware function, which SQLite's LOWER() is not.
func TestEmailFoldEq_sqlite(t *testing.T) {
	d := &DB{Dialect: SQLite}
	ut := userTable{table: &Table{Name: "User"}, email: "email"}
	if where, _ := d.emailFoldEq(ut, "Alice@Example.com"); where != `LOWER("email") = LOWER(?)` {
		t.Errorf("ASCII: %s", where)
	}
	if where, _ := d.emailFoldEq(ut, "ÉLODIE@EXÄMPLE.COM"); where != sqliteLower+`("email") = `+sqliteLower+`(?)` {
		t.Errorf("non-ASCII: %s", where)
	}
}
