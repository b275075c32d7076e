package db

import (
	"database/sql/driver"
	"strings"
	"unicode"
	"unicode/utf8"

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
// Both lower-case as JavaScript's toLowerCase does (jsToLower).
func NewUserEmail(s *Schema, email string) string {
	return s.app().newUserEmail(email)
}

// betterAuthEmail is an e-mail as Better Auth stores it: lower-cased with
// JavaScript's toLowerCase (its sign-up, and betterAuthUserRow, through
// which enrolment and import write every Better Auth user).
func betterAuthEmail(email string) string {
	return jsToLower(strings.TrimFunc(email, isJSWhitespace))
}

// authjsNormalizeEmail is Auth.js's defaultNormalizer
// (packages/core/src/lib/actions/signin/send-token.ts).
func authjsNormalizeEmail(email string) string {
	parts := strings.Split(strings.TrimFunc(jsToLower(email), isJSWhitespace), "@")
	if len(parts) < 2 {
		return parts[0] // Auth.js throws here; callers validate the address first
	}
	domain, _, _ := strings.Cut(parts[1], ",")
	return parts[0] + "@" + domain
}

// jsToLower is JavaScript's String.prototype.toLowerCase: Go's per-rune
// mapping plus the two rules of Unicode's SpecialCasing that apply
// whatever the locale: U+0130 (İ) becomes "i̇" (i and a combining dot), and
// a capital sigma at the end of a word becomes ς.
func jsToLower(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r == 'İ' || r == 'Σ' }) {
		return strings.ToLower(s)
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == 'İ':
			b.WriteString("i\u0307")
		case r == 'Σ' && finalSigma(s, i):
			b.WriteRune('ς')
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// finalSigma is Unicode's Final_Sigma condition for the sigma at byte i:
// a cased letter before it (case-ignorable characters between) and none
// after it.
func finalSigma(s string, i int) bool {
	before := false
	for j := i; j > 0; {
		r, n := utf8.DecodeLastRuneInString(s[:j])
		j -= n
		if isCaseIgnorable(r) {
			continue
		}
		before = isCased(r)
		break
	}
	if !before {
		return false
	}
	for _, r := range s[i+len("Σ"):] {
		if isCaseIgnorable(r) {
			continue
		}
		return !isCased(r)
	}
	return true
}

func isCased(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) ||
		unicode.Is(unicode.Other_Lowercase, r) || unicode.Is(unicode.Other_Uppercase, r)
}

func isCaseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', '^', '`', '\u00b7', '\u0387', '\u05f4', '\u2018', '\u2019', '\u2024', '\u2027', '\ufe13', '\ufe52', '\ufe55', '\uff07', '\uff0e', '\uff1a':
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}

// isJSWhitespace is what JavaScript's String.prototype.trim removes:
// WhiteSpace and LineTerminator (U+FEFF included, U+0085 not).
func isJSWhitespace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', '\u00a0', '\ufeff', '\u2028', '\u2029':
		return true
	}
	return unicode.Is(unicode.Zs, r)
}
