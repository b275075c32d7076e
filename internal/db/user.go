package db

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// userTable is what a user lookup needs of one app's user table, taken
// from the detected Schema. Auth.js and Better Auth differ only in these
// names, in how emailVerified is stored and in how an id compares; the
// lookup itself is written once (lookupUser).
type userTable struct {
	table *Table
	// id and email are the id and e-mail columns; name and verified are ""
	// when the table lacks them.
	id, email, name, verified string
	// verifiedIsTime: Auth.js's emailVerified is the time of verification
	// (NULL when not verified); Better Auth's is a boolean.
	verifiedIsTime bool
	// idOrEmailAtOnce: Auth.js tests the id and the e-mail in one query,
	// the reference as given; Better Auth tests the id first, and only
	// when the reference can be an id of idMode (see FindUser).
	idOrEmailAtOnce bool
	// idMode says which references can be ids (Better Auth's uuid and
	// serial ids).
	idMode IDMode
}

// users returns the user table of the schema's app.
func (s *Schema) users() (userTable, error) {
	return s.app().users(s)
}

// users returns Better Auth's user table.
func (ba *BetterAuthSchema) users() (userTable, error) {
	if ba.User == nil {
		return userTable{}, fmt.Errorf("%w: Better Auth's user table does not exist", passkey.ErrSchemaNotReady)
	}
	if ba.U.ID == "" || ba.U.Email == "" {
		return userTable{}, fmt.Errorf("%w: table %s has no id or email column", passkey.ErrDrift, ba.User.Name)
	}
	return userTable{table: ba.User, id: ba.U.ID, email: ba.U.Email, name: ba.U.Name, verified: ba.U.EmailVerified, idMode: ba.UserIDMode}, nil
}

// FindUser resolves a user reference in the user table of the schema's
// app: a user id, or an e-mail address matched exactly first and then
// case-insensitively (Auth.js keeps e-mails in whatever case they arrived;
// Better Auth lower-cases new ones, older rows may not be). No match is
// ErrNotFound; several case-insensitive matches is ErrInvalid listing
// them.
//
// Auth.js tests the id and the e-mail in one query, so a reference that is
// one user's id and another's e-mail is reported as ambiguous; Better Auth
// tests the id first, and only when the reference can be an id of the
// table's id mode (PostgreSQL refuses to compare a uuid or integer column
// with other text).
//
// Cost: the exact tests use the id and e-mail indexes. The case-insensitive
// fallback, which runs only when nothing matched exactly, uses the e-mail
// index on MySQL/MariaDB when the column's collation ignores case (the
// usual *_ci collations: Prisma's utf8mb4_unicode_ci, Better Auth's
// default). On PostgreSQL and SQLite, and on MySQL with a binary or
// case-sensitive collation, it compares LOWER(email), which no plain index
// serves: it reads the whole table (at 100,000 users about 25 ms on
// PostgreSQL and 16 ms on SQLite, against 0.7 ms on MariaDB; see
// BenchmarkFindUser). An expression index on LOWER(email) in the app's schema
// makes it an index lookup; passkeyctl does not create one.
func (d *DB) FindUser(ctx context.Context, s *Schema, ref string) (passkey.User, error) {
	return d.findUser(ctx, d.X, s, ref)
}

func (d *DB) findUser(ctx context.Context, q sqlx.QueryerContext, s *Schema, ref string) (passkey.User, error) {
	ut, err := s.users()
	if err != nil {
		return passkey.User{}, err
	}
	return d.lookupUser(ctx, q, ut, ref, false)
}

// findBetterAuthUser is lookupUser on Better Auth's user table, whatever
// app the schema chose.
func (d *DB) findBetterAuthUser(ctx context.Context, q sqlx.QueryerContext, ba *BetterAuthSchema, ref string, byIDOnly bool) (passkey.User, error) {
	ut, err := ba.users()
	if err != nil {
		return passkey.User{}, err
	}
	return d.lookupUser(ctx, q, ut, ref, byIDOnly)
}

// lookupUser is FindUser on one user table. byIDOnly matches ids only: a
// passkey's owner is named by id, never by e-mail.
func (d *DB) lookupUser(ctx context.Context, q sqlx.QueryerContext, ut userTable, ref string, byIDOnly bool) (passkey.User, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return passkey.User{}, fmt.Errorf("%w: empty user", passkey.ErrInvalid)
	}
	id, idOK := ut.idMode.usable(ref)
	// The exact tests, tried in order until one matches.
	type test struct {
		where string
		args  []any
	}
	var exact []test
	switch {
	case ut.idOrEmailAtOnce && !byIDOnly:
		exact = append(exact, test{d.ExactEq(d.Q(ut.id)) + " OR " + d.ExactEq(d.Q(ut.email)), []any{ref, ref, ref, ref}})
	case ut.idOrEmailAtOnce:
		exact = append(exact, test{d.ExactEq(d.Q(ut.id)), []any{ref, ref}})
	default:
		if idOK {
			exact = append(exact, test{d.ExactEq(d.Q(ut.id)), []any{id, id}})
		}
		if !byIDOnly {
			exact = append(exact, test{d.ExactEq(d.Q(ut.email)), []any{ref, ref}})
		}
	}
	var users []passkey.User
	var err error
	for _, t := range exact {
		if users, err = d.selectUsers(ctx, q, ut, t.where, t.args); err != nil || len(users) > 0 {
			break
		}
	}
	if err == nil && len(users) == 0 && !byIDOnly {
		where, args := d.emailFoldEq(ut, ref)
		users, err = d.selectUsers(ctx, q, ut, where, args)
	}
	if err != nil {
		return passkey.User{}, err
	}
	return passkey.OneUser(ref, users)
}

// maxUsersListed caps the users an ambiguity error lists (one more is read
// to know there are more).
const maxUsersListed = 20

// selectUsers returns the users of ut matching where.
func (d *DB) selectUsers(ctx context.Context, q sqlx.QueryerContext, ut userTable, where string, args []any) ([]passkey.User, error) {
	name, verified := "NULL", "NULL"
	if ut.name != "" {
		name = d.Q(ut.name)
	}
	switch {
	case ut.verified != "" && ut.verifiedIsTime:
		verified = d.Q(ut.verified) + " IS NOT NULL"
	case ut.verified != "":
		verified = d.Q(ut.verified)
	}
	query := "SELECT " + d.Q(ut.id) + ", " + d.Q(ut.email) + ", " + name + ", " + verified + " FROM " + d.Q(ut.table.Name) + " WHERE " + where
	rows, err := q.QueryContext(ctx, d.Dialect.Rebind(query), args...)
	if err != nil {
		return nil, d.Err("find user", err)
	}
	defer rows.Close()
	var out []passkey.User
	for rows.Next() {
		var u passkey.User
		var email, name sql.NullString
		var verified sql.NullBool
		if err := rows.Scan(&u.ID, &email, &name, &verified); err != nil {
			return nil, d.Err("find user", err)
		}
		u.Email, u.Name, u.EmailVerified = nullable(email), nullable(name), verified.Bool
		out = append(out, u)
		if len(out) > maxUsersListed {
			break
		}
	}
	return out, d.Err("find user", rows.Err())
}

// emailFoldEq is the case-insensitive e-mail test of FindUser's fallback
// and its arguments. Where the column's collation already ignores case
// (MySQL's *_ci), a plain "=" finds the candidates through the e-mail
// index, and LOWER keeps exactly the rows the LOWER test alone would:
// under such a collation the two agree.
func (d *DB) emailFoldEq(ut userTable, ref string) (string, []any) {
	col := d.Q(ut.email)
	lower := d.Dialect.Lower
	if isASCII(ref) {
		// Plain LOWER() finds every match of an ASCII address (no other
		// letter lower-cases to ASCII but the Kelvin sign), and it is what
		// an expression index on lower(email) in the app's schema serves;
		// SQLite's Unicode-aware function would bypass such an index.
		lower = func(expr string) string { return "LOWER(" + expr + ")" }
	}
	fold := lower(col) + " = " + lower("?")
	if d.foldsCase(ut.table, ut.email) {
		return "(" + col + " = ? AND " + fold + ")", []any{ref, ref}
	}
	return fold, []any{ref}
}

// foldsCase reports whether "=" on the column already compares
// case-insensitively: a MySQL/MariaDB column with a *_ci collation.
func (d *DB) foldsCase(t *Table, col string) bool {
	c, ok := t.Column(col)
	return ok && d.Dialect == MySQL && strings.HasSuffix(c.Collation, "_ci")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// emailFoldIndexWarning is migrate status's warning when FindUser's
// case-insensitive fallback (an e-mail typed in another case than stored)
// can use no index and reads the whole user table: about 40 ms at 100,000
// users on PostgreSQL, 20 ms on SQLite, growing with the table. The fix is
// an index on lower(email), which the warning gives. It belongs in a
// migration of the app: to Prisma and Drizzle an index made by hand is
// drift. MySQL/MariaDB's usual *_ci collations need none (the e-mail index
// already ignores case), and an e-mail column under another collation is
// left alone.
func (d *DB) emailFoldIndexWarning(ctx context.Context, q sqlx.QueryerContext, ut userTable) (store.Warning, bool, error) {
	if ut.table == nil || ut.email == "" || d.Dialect == MySQL {
		return store.Warning{}, false, nil
	}
	var defs []string
	var query string
	switch d.Dialect {
	case Postgres:
		query = "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ?"
	case SQLite:
		query = "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL"
	}
	if err := sqlx.SelectContext(ctx, q, &defs, d.Dialect.Rebind(query), ut.table.Name); err != nil {
		return store.Warning{}, false, d.Err("read the user table's indexes", err)
	}
	lowerEmail := regexp.MustCompile(`(?i)\blower\(\s*\(?\s*"?` + regexp.QuoteMeta(ut.email) + `"?\s*\)?(::text)?\s*\)`)
	for _, def := range defs {
		if lowerEmail.MatchString(def) {
			return store.Warning{}, false, nil
		}
	}
	index := ut.table.Name + "_" + ut.email + "_lower_idx"
	return store.Warning{
		Message: fmt.Sprintf("no index on lower(%s) of table %s: list/revoke/serve --user with an e-mail typed in another case than stored read the whole table (tens of ms per 100,000 users); add the index in a migration of the app (one made by hand is drift to Prisma and Drizzle)", ut.email, ut.table.Name),
		FixSQL:  fmt.Sprintf("CREATE INDEX %s ON %s (lower(%s));", d.Dialect.Quote(index), d.Q(ut.table.Name), d.Q(ut.email)),
	}, true, nil
}
