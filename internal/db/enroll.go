package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// The Auth.js columns enrol and import know how to fill, per table (see
// checkFillable). Import also writes a user's name and emailVerified.
var (
	authjsAuthenticatorColumns = []string{"id", "credentialID", "userId", "providerAccountId", "credentialPublicKey", "counter", "credentialDeviceType", "credentialBackedUp", "transports"}
	authjsAccountColumns       = []string{"id", "userId", "type", "provider", "providerAccountId", "createdAt", "updatedAt"}
	enrollUserColumns          = []string{"id", "email", "createdAt", "updatedAt"}
	importUserColumns          = []string{"id", "email", "name", "emailVerified", "createdAt", "updatedAt"}
)

// CheckEnroll reports whether a new passkey for userID can be stored as
// Auth.js stores it, before any ceremony starts: the tables exist in a
// known shape, every NOT NULL column without a default is one passkeyctl
// can fill, and the MySQL docs schema's UNIQUE Account.userId does not
// already hold an Account of this user. newUser says the user will be
// created with the passkey (so it has no Account yet, and User's columns
// must be fillable too). Problems are ErrSchemaNotReady or ErrDrift (exit
// 4) and carry the SQL that fixes them where there is one.
func (d *DB) CheckEnroll(ctx context.Context, s *Schema, userID string, newUser bool) error {
	return d.checkEnroll(ctx, d.X, s, userID, newUser)
}

func (d *DB) checkEnroll(ctx context.Context, q sqlx.QueryerContext, s *Schema, userID string, newUser bool) error {
	return s.app().checkEnroll(d, ctx, q, s, userID, newUser)
}

// authjsWritable reports whether passkeyctl can write passkeys into the
// schema's Auth.js tables at all: User and Account exist, the
// Authenticator table is readable and in a known shape, and Account and
// User have the columns a passkey needs.
func authjsWritable(s *Schema) error {
	if s.User == nil || s.Account == nil {
		return fmt.Errorf("%w: the Auth.js User and Account tables do not exist (run the app's migrations, or: passkeyctl migrate --core)", passkey.ErrSchemaNotReady)
	}
	if err := readable(s); err != nil {
		return err
	}
	if s.Variant == VariantDrift {
		return fmt.Errorf("%w: table %s differs from every Auth.js schema (%s); passkeyctl writes only tables Auth.js can read (see: passkeyctl migrate status)", passkey.ErrDrift, s.Authenticator.Name, strings.Join(s.Drift, "; "))
	}
	for _, c := range []string{"userId", "type", "provider", "providerAccountId"} {
		if !s.Account.Has(c) {
			return fmt.Errorf("%w: table %s has no column %s, which Auth.js needs for a passkey", passkey.ErrDrift, s.Account.Name, c)
		}
	}
	if !s.User.Has("id") || !s.User.Has("email") {
		return fmt.Errorf("%w: table %s has no id or email column", passkey.ErrDrift, s.User.Name)
	}
	return nil
}

// checkFillable refuses a table with a NOT NULL column, without a default,
// that is not one of known (the columns passkeyctl writes): the app fills
// it in its own code, and writing the row without it would fail, or
// worse, succeed with a value the app does not expect.
func checkFillable(t *Table, known []string, app sqlApp) error {
	what := app.ownColumn()
	for _, c := range t.Columns {
		if t.NeedsValue(c.Name) && !slices.Contains(known, c.Name) {
			return fmt.Errorf("%w: %s.%s is NOT NULL without a default and is not %s; passkeyctl cannot know what your app writes there (give it a DEFAULT or make it NULL)", passkey.ErrSchemaNotReady, t.Name, c.Name, what)
		}
	}
	return nil
}

// dropUniqueUserIDSQL is the SQL that lets a user own several Account
// rows while keeping userId indexed for its foreign key (MySQL refuses to
// drop the only index of a foreign key column, so it adds one in the same
// statement unless a plain index already exists).
func (d *DB) dropUniqueUserIDSQL(ctx context.Context, q sqlx.QueryerContext, account *Table) (string, error) {
	name := account.Name + "_userId_key"
	for _, k := range account.Keys {
		if !k.Primary && len(k.Columns) == 1 && k.Columns[0] == "userId" {
			name = k.Name
		}
	}
	idx := account.Name + "_userId_idx"
	switch d.Dialect {
	case MySQL:
		var plain int
		err := sqlx.GetContext(ctx, q, &plain, `SELECT COUNT(*) FROM information_schema.STATISTICS
			WHERE TABLE_SCHEMA = DATABASE() AND CAST(TABLE_NAME AS BINARY) = ? AND NON_UNIQUE = 1 AND COLUMN_NAME = 'userId' AND SEQ_IN_INDEX = 1`, account.Name)
		if err != nil {
			return "", d.Err("read Account indexes", err)
		}
		if plain > 0 {
			return fmt.Sprintf("ALTER TABLE %s DROP INDEX %s;", d.Q(account.Name), d.Q(name)), nil
		}
		return fmt.Sprintf("ALTER TABLE %s ADD INDEX %s (%s), DROP INDEX %s;", d.Q(account.Name), d.Q(idx), d.Q("userId"), d.Q(name)), nil
	case Postgres:
		return fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT IF EXISTS %s; DROP INDEX IF EXISTS %s; CREATE INDEX IF NOT EXISTS %s ON %s (%s);",
			d.Q(account.Name), d.Q(name), d.Q(name), d.Q(idx), d.Q(account.Name), d.Q("userId")), nil
	}
	if strings.HasPrefix(name, "sqlite_autoindex_") {
		return fmt.Sprintf("recreate table %s without UNIQUE on userId (SQLite cannot drop an inline constraint)", d.Q(account.Name)), nil
	}
	return fmt.Sprintf("DROP INDEX %s; CREATE INDEX IF NOT EXISTS %s ON %s (%s);", d.Q(name), d.Q(idx), d.Q(account.Name), d.Q("userId")), nil
}

// fitCheck is one value that must fit its column.
type fitCheck struct {
	table *Table
	col   string
	value string
	// what names the value for the error message.
	what string
}

// checkWidths refuses a credential whose encoded ID, key or transports do
// not fit the columns (Prisma's VARCHAR(191) on MySQL holds neither an RSA
// key nor a long credential ID; a strict-mode server would reject the row,
// a lax one would truncate it silently).
func (d *DB) checkWidths(s *Schema, checks []fitCheck) error {
	var problems, fixes []string
	for _, c := range checks {
		col, ok := c.table.Column(c.col)
		if !ok || col.MaxLength == 0 || len(c.value) <= col.MaxLength {
			continue
		}
		problems = append(problems, fmt.Sprintf("%s.%s holds %d characters, %s takes %d", c.table.Name, c.col, col.MaxLength, c.what, len(c.value)))
		fixes = append(fixes, d.widenSQL(c.table, col))
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: this credential does not fit the schema: %s; nothing was written. Fix: %s", passkey.ErrSchemaNotReady, strings.Join(problems, "; "), strings.Join(fixes, " "))
}

// widenSQL is the ALTER TABLE that makes col wide enough for any valid
// credential, in the dialect's terms.
func (d *DB) widenSQL(t *Table, col Column) string {
	if d.Dialect == MySQL {
		typ := "TEXT NOT NULL"
		switch col.Name {
		case "credentialID", "providerAccountId":
			typ = fmt.Sprintf("VARCHAR(%d) CHARACTER SET ascii COLLATE ascii_bin NOT NULL", MaxCredentialIDChars)
		case "transports":
			typ = "VARCHAR(255) NULL"
		}
		return fmt.Sprintf("ALTER TABLE %s MODIFY %s %s;", d.Q(t.Name), d.Q(col.Name), typ)
	}
	return fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s TYPE TEXT;", d.Q(t.Name), d.Q(col.Name))
}

// CreatePasskey stores p in one transaction, as the Auth.js Passkey
// provider does at registration: the Authenticator row (credentialID and
// providerAccountId in standard padded base64, the COSE key in standard
// padded base64, counter, credentialDeviceType "multiDevice" iff BE,
// credentialBackedUp = BS, transports comma-joined or NULL, a generated id
// for the legacy schema) and the Account row (type "webauthn", provider
// ProviderID, providerAccountId = the credential ID, plus id/createdAt/
// updatedAt when the schema needs them). With opts.CreateUser the User row
// is inserted first. It refuses, writing nothing, when the credential is
// already stored (ErrConflict) or does not fit the schema
// (ErrSchemaNotReady, with the fixing SQL). It returns the stored passkey
// as list shows it.
func (d *DB) CreatePasskey(ctx context.Context, s *Schema, p store.NewPasskey, opts store.EnrollOptions) (passkey.Passkey, error) {
	return s.app().createPasskey(d, ctx, s, p, opts)
}

// refuseDuplicate returns ErrConflict when the credential ID is already in
// the Authenticator table or in an Account row of the provider.
func (d *DB) refuseDuplicate(ctx context.Context, q sqlx.QueryerContext, s *Schema, credID, providerID string) error {
	var n int
	query := d.Dialect.Rebind("SELECT COUNT(*) FROM " + d.Q(s.Authenticator.Name) + " WHERE " + d.ExactEq(d.Q("credentialID")))
	if err := sqlx.GetContext(ctx, q, &n, query, credID, credID); err != nil {
		return d.Err("check credential", err)
	}
	if n > 0 {
		return fmt.Errorf("credential %s is already registered (it is in table %s): %w", credID, s.Authenticator.Name, passkey.ErrConflict)
	}
	query = d.Dialect.Rebind("SELECT COUNT(*) FROM " + d.Q(s.Account.Name) + " WHERE " + d.ExactEq(d.Q("provider")) + " AND " + d.ExactEq(d.Q("providerAccountId")))
	if err := sqlx.GetContext(ctx, q, &n, query, providerID, providerID, credID, credID); err != nil {
		return d.Err("check credential", err)
	}
	if n > 0 {
		return fmt.Errorf("credential %s already has an Account row (provider %q) without an Authenticator row; remove the orphan first (passkeyctl revoke): %w", credID, providerID, passkey.ErrConflict)
	}
	return nil
}

// conflictOr maps a duplicate-key error to ErrConflict, which also covers a
// race with another writer and, on MySQL, a case-insensitive collation
// that thinks two different IDs are equal.
func (d *DB) conflictOr(err error, credID, context string) error {
	if d.Dialect.IsDuplicateKey(err) {
		return fmt.Errorf("credential %s: a unique key already holds an equal value (%s): %w", credID, d.Target.Scrub(err.Error()), passkey.ErrConflict)
	}
	return d.Err(context, err)
}

// insertUser creates the User row with every NOT NULL column that has no
// database default.
func (d *DB) insertUser(ctx context.Context, tx *sqlx.Tx, s *Schema, u store.NewUser, now time.Time) error {
	if _, err := d.findUser(ctx, tx, s, u.ID); err == nil {
		return fmt.Errorf("create user %s: a user with this id already exists: %w", u.ID, passkey.ErrConflict)
	}
	if _, err := d.findUser(ctx, tx, s, u.Email); err == nil {
		return fmt.Errorf("create user %s: a user with this e-mail already exists: %w", u.Email, passkey.ErrConflict)
	} else if !errors.Is(err, passkey.ErrNotFound) {
		return err
	}
	r := newRow()
	r.add("id", u.ID)
	r.add("email", u.Email)
	for _, c := range []string{"createdAt", "updatedAt"} {
		if s.User.NeedsValue(c) {
			col, _ := s.User.Column(c)
			r.add(c, d.authjsTime(col, now))
		}
	}
	if err := d.insertRow(ctx, tx, s.User.Name, r); err != nil {
		if d.Dialect.IsDuplicateKey(err) {
			return fmt.Errorf("create user %s: %w", u.Email, passkey.ErrConflict)
		}
		return d.Err("insert User", err)
	}
	return nil
}

// row is an INSERT's columns and values, in order.
type row struct {
	cols []string
	vals []any
}

func newRow() *row { return &row{} }

func (r *row) add(col string, v any) { r.cols, r.vals = append(r.cols, col), append(r.vals, v) }

func (d *DB) insertRow(ctx context.Context, tx *sqlx.Tx, table string, r *row) error {
	quoted := make([]string, len(r.cols))
	for i, c := range r.cols {
		quoted[i] = d.Q(c)
	}
	query := "INSERT INTO " + d.Q(table) + " (" + strings.Join(quoted, ", ") + ") VALUES (" + strings.TrimSuffix(strings.Repeat("?, ", len(r.cols)), ", ") + ")"
	_, err := tx.ExecContext(ctx, d.Dialect.Rebind(query), r.vals...)
	return err
}

// UpdateCounter writes the signature counter after a successful
// verification, as Auth.js does, to the row whose credentialID is the
// standard padded base64 of raw.
func (d *DB) UpdateCounter(ctx context.Context, s *Schema, raw []byte, counter uint32) error {
	return s.app().updateCounter(d, ctx, s, raw, counter)
}

// updateCounter sets the counter column of the row whose credential ID
// column is id, compared exactly. ErrNotFound if none.
func (d *DB) updateCounter(ctx context.Context, table, counterCol, idCol, id string, counter uint32) error {
	query := d.Dialect.Rebind("UPDATE " + d.Q(table) + " SET " + d.Q(counterCol) + " = ? WHERE " + d.ExactEq(d.Q(idCol)))
	res, err := d.X.ExecContext(ctx, query, int64(counter), id, id)
	if err != nil {
		return d.Err("update counter", err)
	}
	n, err := res.RowsAffected()
	if err != nil || n > 0 {
		return nil
	}
	if d.Dialect == MySQL {
		// MySQL reports changed rows, not matched ones: writing the same
		// counter (0 after 0) affects none. Whether the row is there at
		// all is asked separately, only then.
		var one int
		err := d.X.GetContext(ctx, &one, d.Dialect.Rebind("SELECT 1 FROM "+d.Q(table)+" WHERE "+d.ExactEq(d.Q(idCol))), id, id)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return d.Err("update counter", err)
		}
	}
	return fmt.Errorf("update counter of %s: %w", id, passkey.ErrNotFound)
}

// UserCredentialIDs returns the raw IDs of the user's passkeys, for
// excludeCredentials at registration and allowCredentials at a test. IDs
// that are not base64 are skipped: no browser could match them anyway.
func (d *DB) UserCredentialIDs(ctx context.Context, s *Schema, userID string) ([][]byte, error) {
	var ids [][]byte
	err := d.ListPasskeys(ctx, s, store.ListOptions{UserID: userID}, func(p passkey.Passkey) error {
		if raw, err := passkey.DecodeBase64(p.CredentialID); err == nil && len(raw) > 0 {
			ids = append(ids, raw)
		}
		return nil
	})
	return ids, err
}
