package db

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// Naming is how an app named its Auth.js tables.
type Naming string

const (
	// NamingPrisma is @auth/prisma-adapter's PascalCase: "User", "Account",
	// "Session", "VerificationToken", "Authenticator".
	NamingPrisma Naming = "prisma"
	// NamingDrizzle is @auth/drizzle-adapter's lower case: "user",
	// "account", "session", "verificationToken", "authenticator".
	NamingDrizzle Naming = "drizzle"
)

// Variant is the shape of an existing Authenticator table.
type Variant string

const (
	// VariantNone means there is no Authenticator table.
	VariantNone Variant = ""
	// VariantCurrent is the Auth.js docs' schema since May 2024: primary key
	// (userId, credentialID) and a unique credentialID.
	VariantCurrent Variant = "current"
	// VariantLegacy has an extra "id" primary key column (a Prisma cuid).
	VariantLegacy Variant = "legacy"
	// VariantDrizzle is @auth/drizzle-adapter's lower-case authenticator
	// table.
	VariantDrizzle Variant = "drizzle"
	// VariantDrift is a table that matches no known variant.
	VariantDrift Variant = "drift"
)

// Table is one table as introspected.
type Table struct {
	Name        string
	Columns     []Column
	Keys        []UniqueKey
	ForeignKeys []ForeignKey
}

// Column returns the named column. Column names are compared exactly:
// Auth.js's camelCase names are case-sensitive in PostgreSQL.
func (t *Table) Column(name string) (Column, bool) {
	if t == nil {
		return Column{}, false
	}
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// Has reports whether the table has the column.
func (t *Table) Has(name string) bool { _, ok := t.Column(name); return ok }

// IsUnique reports whether a primary key or unique index covers exactly
// the given columns (in any order).
func (t *Table) IsUnique(cols ...string) bool {
	if t == nil {
		return false
	}
	for _, k := range t.Keys {
		if len(k.Columns) == len(cols) && containsAll(k.Columns, cols) {
			return true
		}
	}
	return false
}

// PrimaryKey returns the primary key's columns, or nil.
func (t *Table) PrimaryKey() []string {
	if t == nil {
		return nil
	}
	for _, k := range t.Keys {
		if k.Primary {
			return k.Columns
		}
	}
	return nil
}

// NeedsValue reports whether an INSERT must supply the column: it exists,
// is NOT NULL and has no database default.
func (t *Table) NeedsValue(name string) bool {
	c, ok := t.Column(name)
	return ok && !c.Nullable && !c.HasDefault
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// Schema is the one detected description of the Auth.js tables that every
// command uses; nothing else in passkeyctl guesses table or column names.
type Schema struct {
	Dialect string
	Naming  Naming
	// Tables that are absent are nil.
	User, Account, Session, VerificationToken, Authenticator *Table
	// Variant is the shape of the Authenticator table.
	Variant Variant
	// Drift lists each difference between an existing Authenticator table
	// and the variant it resembles most; empty unless Variant is
	// VariantDrift.
	Drift []string
	// Warnings are narrow columns, case-insensitive collations and other
	// problems that do not block adoption.
	Warnings []store.Warning
	// App is the application commands work on (--schema, else the one
	// whose tables exist); Apps lists every app whose tables were found.
	App  App
	Apps []App
	// chosenApp is App's implementation, set with App (setApp).
	chosenApp sqlApp
	// BetterAuth describes Better Auth's tables when the database has them
	// (betterauth.go).
	BetterAuth *BetterAuthSchema
	// Where names the database (and schema) the tables were looked for in,
	// password redacted, for messages about missing tables.
	Where string
}

// where names the database and schema d reads, for messages: the DSN
// (redacted) and, on PostgreSQL, the schema.
func (d *DB) where() string {
	w := d.Target.Redacted
	switch {
	case d.Dialect == Postgres && d.Target.SearchPath != "":
		w += " (schema " + d.Target.SearchPath + ")"
	case d.Dialect == Postgres:
		w += " (schema public, the default; Prisma's ?schema= names another)"
	}
	return w
}

// noAppTables reports whether the database has none of the tables of
// either app: the DSN names the wrong database or schema, or an empty one.
func (s *Schema) noAppTables() bool {
	ba := s.BetterAuth
	return s.User == nil && s.Account == nil && s.Authenticator == nil &&
		(ba == nil || ba.User == nil && ba.Passkey == nil && ba.Account == nil)
}

// MissingPasskeyTable is the error for a schema without the Auth.js
// Authenticator table: it says where passkeyctl looked and the fix that
// works there (migrate needs the app's User and Account tables; a
// database with no app tables at all is most likely the wrong one).
func (s *Schema) MissingPasskeyTable() error {
	where := ""
	if s != nil && s.Where != "" {
		where = " in " + s.Where
	}
	if s == nil || s.noAppTables() {
		return fmt.Errorf("%w: no Auth.js or Better Auth tables%s: check the database (and ?schema=) the DSN names; to start a new database: passkeyctl migrate --core", passkey.ErrSchemaNotReady, where)
	}
	return fmt.Errorf("%w: the Authenticator table does not exist%s (create it with: passkeyctl migrate)", passkey.ErrSchemaNotReady, where)
}

// Table names for each naming.
func (n Naming) tableNames() (user, account, session, verificationToken, authenticator string) {
	if n == NamingDrizzle {
		return "user", "account", "session", "verificationToken", "authenticator"
	}
	return "User", "Account", "Session", "VerificationToken", "Authenticator"
}

// TableNames returns the names of the core tables and the Authenticator
// table for the schema's naming, whether or not they exist yet.
func (s *Schema) TableNames() (user, account, session, verificationToken, authenticator string) {
	return s.Naming.tableNames()
}

// MaxCredentialIDChars is the longest standard base64 credential ID: the
// WebAuthn spec allows 1023 bytes.
const MaxCredentialIDChars = 1364

// Detect introspects the database and returns the one Schema value later
// commands use, with d.SchemaOptions (--schema, --tables) applied.
//
// On PostgreSQL with ?schema= it runs in one read-only transaction whose
// search_path is that schema (inSchema), so every catalog query looks there
// and nowhere else, and the tables found are the ones Q then qualifies.
func (d *DB) Detect(ctx context.Context) (*Schema, error) {
	var s *Schema
	err := d.reading(ctx, func(q sqlx.QueryerContext) error {
		var err error
		if s, err = detect(ctx, d.Dialect, q); err != nil {
			return err
		}
		s, err = d.detectWith(ctx, q, s, d.SchemaOptions)
		return err
	})
	if err != nil {
		return nil, err
	}
	d.addAppTables(s)
	s.Where = d.where()
	return s, nil
}

// reading runs fn's reads in the DSN's schema: in an inSchema transaction
// on PostgreSQL with ?schema= or a lock timeout, else straight on the pool.
func (d *DB) reading(ctx context.Context, fn func(q sqlx.QueryerContext) error) error {
	if d.Dialect == SQLite {
		// One connection, with the file of passkeyctl's own tables (the
		// migration history) attached when it exists.
		conn, err := d.X.Connx(ctx)
		if err != nil {
			return d.Err("connect", err)
		}
		defer conn.Close()
		if err := d.attachOwn(ctx, conn, false); err != nil {
			return err
		}
		return fn(conn)
	}
	if d.Dialect != Postgres || d.Target.SearchPath == "" && d.lockTimeout == 0 {
		return fn(d.X)
	}
	err := d.inSchema(ctx, true, func(tx *sqlx.Tx) error { return fn(tx) })
	return appLockError(err, d.lockTimeout, "nothing was changed")
}

func detect(ctx context.Context, dia *Dialect, q sqlx.QueryerContext) (*Schema, error) {
	tables, err := dia.listTables(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	s := &Schema{Dialect: dia.Name, Naming: NamingPrisma}
	// Prisma naming wins when both exist: "User" is unambiguous, while a
	// lower-case "user" may be another app's (Better Auth's) table.
	if drizzle, err := isDrizzleAuthjs(ctx, dia, q, tables); err != nil {
		return nil, err
	} else if drizzle {
		s.Naming = NamingDrizzle
	}
	userName, accountName, sessionName, vtName, authName := s.Naming.tableNames()
	load := func(name string) (*Table, error) {
		if !slices.Contains(tables, name) {
			return nil, nil
		}
		return loadTable(ctx, dia, q, name)
	}
	for _, p := range []struct {
		dst  **Table
		name string
	}{{&s.User, userName}, {&s.Account, accountName}, {&s.Session, sessionName}, {&s.VerificationToken, vtName}, {&s.Authenticator, authName}} {
		if *p.dst, err = load(p.name); err != nil {
			return nil, err
		}
	}
	s.classify()
	if err := s.detectBetterAuth(ctx, dia, q, tables, SchemaOptions{}); err != nil {
		return nil, err
	}
	app := AppAuthjs
	if len(s.Apps) == 1 {
		app = s.Apps[0]
	}
	s.setApp(app)
	return s, nil
}

// loadTable introspects one table.
func loadTable(ctx context.Context, dia *Dialect, q sqlx.QueryerContext, name string) (*Table, error) {
	t := &Table{Name: name}
	var err error
	if t.Columns, err = dia.listColumns(ctx, q, name); err != nil {
		return nil, fmt.Errorf("columns of %s: %w", name, err)
	}
	if t.Keys, err = dia.listUniqueKeys(ctx, q, name); err != nil {
		return nil, fmt.Errorf("keys of %s: %w", name, err)
	}
	if t.ForeignKeys, err = dia.listForeignKeys(ctx, q, name); err != nil {
		return nil, fmt.Errorf("foreign keys of %s: %w", name, err)
	}
	return t, nil
}

// typeClass groups the database types that Auth.js's adapters use for one
// logical type.
func typeClass(c Column) string {
	switch c.Type {
	case "text", "varchar", "char", "character", "tinytext", "mediumtext", "longtext", "citext":
		return "string"
	case "integer", "int", "int4", "int8", "bigint", "smallint", "mediumint", "numeric", "decimal":
		return "integer"
	case "boolean", "bool":
		return "boolean"
	case "tinyint":
		// MySQL's BOOLEAN is TINYINT(1).
		return "boolean"
	}
	return c.Type
}

// authenticatorColumns is what every known variant has.
var authenticatorColumns = []struct {
	name, class string
	nullable    bool
}{
	{"credentialID", "string", false},
	{"userId", "string", false},
	{"providerAccountId", "string", false},
	{"credentialPublicKey", "string", false},
	{"counter", "integer", false},
	{"credentialDeviceType", "string", false},
	{"credentialBackedUp", "boolean", false},
	{"transports", "string", true},
}

func (s *Schema) classify() {
	// Account problems matter before the Authenticator table exists: they
	// decide whether the passkeys migrate is about to enable will fit.
	defer func() { s.Warnings = append(s.Warnings, s.accountWarnings()...) }()
	a := s.Authenticator
	if a == nil {
		s.Variant = VariantNone
		return
	}
	for _, want := range authenticatorColumns {
		c, ok := a.Column(want.name)
		if !ok {
			s.Drift = append(s.Drift, fmt.Sprintf("%s.%s: column missing", a.Name, want.name))
			continue
		}
		cls := typeClass(c)
		if s.Dialect == "sqlite" && want.class == "boolean" && cls == "integer" {
			cls = "boolean" // Drizzle's SQLite booleans are integers.
		}
		if cls != want.class {
			s.Drift = append(s.Drift, fmt.Sprintf("%s.%s: type %s, want %s type", a.Name, want.name, c.FullType, article(want.class)))
		}
		if !want.nullable && c.Nullable && !slices.Contains(a.PrimaryKey(), want.name) {
			s.Drift = append(s.Drift, fmt.Sprintf("%s.%s: nullable, want NOT NULL", a.Name, want.name))
		}
	}
	if !a.IsUnique("credentialID") && !a.IsUnique("id") {
		s.Warnings = append(s.Warnings, store.Warning{Message: fmt.Sprintf("%s.credentialID has no unique index: nothing stops a duplicate credential", a.Name)})
	}
	switch {
	case len(s.Drift) > 0:
		s.Variant = VariantDrift
	case a.Has("id"):
		s.Variant = VariantLegacy
	case s.Naming == NamingDrizzle:
		s.Variant = VariantDrizzle
	default:
		s.Variant = VariantCurrent
	}
	s.Warnings = append(s.Warnings, s.widthWarnings()...)
}

// widthWarnings reports string columns too narrow for a valid credential,
// and case-insensitive collations on credential ID columns, with the exact
// ALTER TABLE that fixes them (MySQL/MariaDB only: PostgreSQL and SQLite
// tables use TEXT).
func (s *Schema) widthWarnings() []store.Warning {
	if s.Dialect != "mysql" {
		return nil
	}
	var out []store.Warning
	idType := fmt.Sprintf("VARCHAR(%d) CHARACTER SET ascii COLLATE ascii_bin NOT NULL", MaxCredentialIDChars)
	var mods, problems []string
	a := s.Authenticator
	for _, name := range []string{"credentialID", "providerAccountId"} {
		c, ok := a.Column(name)
		if !ok {
			continue
		}
		narrow := c.MaxLength > 0 && c.MaxLength < MaxCredentialIDChars
		ci := strings.HasSuffix(c.Collation, "_ci")
		if narrow || ci {
			mods = append(mods, fmt.Sprintf("MODIFY %s %s", MySQL.Quote(name), idType))
			if narrow {
				problems = append(problems, fmt.Sprintf("%s.%s holds %d characters; a credential ID can take %d", a.Name, name, c.MaxLength, MaxCredentialIDChars))
			}
			if ci {
				problems = append(problems, fmt.Sprintf("%s.%s uses the case-insensitive collation %s; base64 is case-sensitive", a.Name, name, c.Collation))
			}
		}
	}
	if c, ok := a.Column("credentialPublicKey"); ok && c.MaxLength > 0 {
		mods = append(mods, fmt.Sprintf("MODIFY %s TEXT NOT NULL", MySQL.Quote("credentialPublicKey")))
		problems = append(problems, fmt.Sprintf("%s.credentialPublicKey holds %d characters; an RSA-2048 key takes 364", a.Name, c.MaxLength))
	}
	// transports needs at most 45 characters (every transport joined), so
	// Prisma's VARCHAR(191) is left alone.
	if len(mods) > 0 {
		out = append(out, store.Warning{
			Message: strings.Join(problems, "; "),
			FixSQL:  fmt.Sprintf("ALTER TABLE %s %s;", MySQL.Quote(a.Name), strings.Join(mods, ", ")),
		})
	}
	return out
}

// accountWarnings reports Account shapes that limit passkeys: a
// providerAccountId too narrow for a long credential ID (MySQL), and the
// Prisma MySQL docs schema's UNIQUE userId, which lets a user own one
// Account row and so one passkey (and no OAuth account beside it).
func (s *Schema) accountWarnings() []store.Warning {
	acc := s.Account
	if acc == nil {
		return nil
	}
	var out []store.Warning
	if c, ok := acc.Column("providerAccountId"); ok && s.Dialect == "mysql" && c.MaxLength > 0 && c.MaxLength < MaxCredentialIDChars {
		idType := fmt.Sprintf("VARCHAR(%d) CHARACTER SET ascii COLLATE ascii_bin NOT NULL", MaxCredentialIDChars)
		out = append(out, store.Warning{
			Message: fmt.Sprintf("%s.providerAccountId holds %d characters; a passkey's credential ID can take %d", acc.Name, c.MaxLength, MaxCredentialIDChars),
			FixSQL:  fmt.Sprintf("ALTER TABLE %s MODIFY %s %s;", MySQL.Quote(acc.Name), MySQL.Quote("providerAccountId"), idType),
		})
	}
	if acc.IsUnique("userId") {
		out = append(out, store.Warning{Message: fmt.Sprintf("%s.userId is UNIQUE (the Prisma MySQL docs schema): each user can own one Account row, so one passkey and no other sign-in method; drop @unique from Account.userId in the Prisma schema to allow more", acc.Name)})
	}
	return out
}

// article prefixes a type class with "a" or "an".
func article(class string) string {
	if strings.ContainsRune("aeiou", rune(class[0])) {
		return "an " + class
	}
	return "a " + class
}
