package db

import (
	"database/sql/driver"
	"strings"

	"modernc.org/sqlite"
)

// sqliteLower is the name of the SQL function that lower-cases Unicode text
// on SQLite, whose own LOWER() folds only ASCII: without it
// "ÉLODIE@EXÄMPLE.COM" would not find élodie@exämple.com there, while
// PostgreSQL (under a UTF-8 LC_CTYPE) and MySQL/MariaDB (*_ci collations)
// find it.
const sqliteLower = "passkeyctl_lower"

func init() {
	// Registered once for the whole driver: every SQLite connection opened
	// afterwards has it.
	sqlite.MustRegisterDeterministicScalarFunction(sqliteLower, 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		switch v := args[0].(type) {
		case string:
			return strings.ToLower(v), nil
		case []byte:
			return strings.ToLower(string(v)), nil
		default:
			return v, nil // NULL and numbers, as LOWER()
		}
	})
}

// NewUserEmail is the e-mail address as the schema's app stores it when
// its own sign-in creates the user, so that a user passkeyctl creates
// (serve --enroll --create-user) is the one the app finds later, not a
// second user with the same address in another case:
//
//   - Auth.js's e-mail sign-in (the default normalizeIdentifier of its
//     e-mail providers) lower-cases and trims the address, splits it at
//     "@" and keeps the domain only up to a first ",";
//   - Better Auth lower-cases it.
//
// Both lower-case as JavaScript's toLowerCase does (JSToLower).
func NewUserEmail(s *Schema, email string) string {
	return s.app().newUserEmail(email)
}
