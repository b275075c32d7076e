package db

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// App is the application whose tables passkeyctl reads and writes.
type App string

const (
	// AppAuthjs is Auth.js (NextAuth v5): Authenticator + Account rows.
	AppAuthjs App = "authjs"
	// AppBetterAuth is Better Auth's passkey plugin: one passkey row.
	AppBetterAuth App = "better-auth"
)

// ParseApp parses the --schema value: "authjs", "better-auth" or "" (detect).
func ParseApp(s string) (App, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return "", nil
	case "authjs", "auth.js", "nextauth":
		return AppAuthjs, nil
	case "better-auth", "betterauth":
		return AppBetterAuth, nil
	}
	return "", fmt.Errorf("%w: --schema %q: use authjs or better-auth", passkey.ErrInvalid, s)
}

// SchemaOptions overrides what Detect would find: the --schema and --tables
// flags. The zero value detects everything.
type SchemaOptions struct {
	// App chooses the application when the database holds the tables of
	// both, or forces one.
	App App
	// PasskeyTable and UserTable name Better Auth tables that the app
	// renamed (modelName in its config).
	PasskeyTable, UserTable string
}

// ParseTables parses the --tables value "passkey=NAME,user=NAME".
func ParseTables(s string, into *SchemaOptions) error {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || v == "" {
			return fmt.Errorf("%w: --tables %q: want MODEL=TABLE pairs such as passkey=passkeys,user=users", passkey.ErrInvalid, s)
		}
		switch k {
		case "passkey":
			into.PasskeyTable = v
		case "user":
			into.UserTable = v
		default:
			return fmt.Errorf("%w: --tables: unknown model %q (known: passkey, user)", passkey.ErrInvalid, k)
		}
	}
	return nil
}

// BetterAuthNaming is how an app named Better Auth's columns.
type BetterAuthNaming string

const (
	// BetterAuthCamel is Better Auth's own migrator and Prisma: publicKey,
	// credentialID, userId...
	BetterAuthCamel BetterAuthNaming = "camelCase"
	// BetterAuthSnake is Better Auth's Drizzle generator: public_key,
	// credential_id, user_id...
	BetterAuthSnake BetterAuthNaming = "snake_case"
)

// BetterAuthPasskeyColumns maps each field of Better Auth's passkey model to
// the column that holds it; optional fields the table lacks are "".
type BetterAuthPasskeyColumns struct {
	ID, Name, PublicKey, UserID, CredentialID, Counter, DeviceType, BackedUp, Transports, CreatedAt, AAGUID string
	// WebAuthnUserID is the NOT NULL webauthnUserID column that passkey
	// tables first made by Better Auth 1.0 keep; "" when absent.
	WebAuthnUserID string
}

// BetterAuthUserColumns maps each field of Better Auth's user model to its
// column; absent optional fields are "".
type BetterAuthUserColumns struct {
	ID, Name, Email, EmailVerified, Image, CreatedAt, UpdatedAt string
}

// BetterAuthSchema is the detected description of a Better Auth app's
// tables: which table and column holds each field, and how ids and dates
// are written. Nothing else in passkeyctl guesses Better Auth names.
type BetterAuthSchema struct {
	Naming BetterAuthNaming
	// User, Account, Session and Passkey are nil when absent.
	User, Account, Session, Passkey *Table
	// SessionUserID is the session table's user column.
	SessionUserID string
	// P and U are the column names of the passkey and user tables.
	P BetterAuthPasskeyColumns
	U BetterAuthUserColumns
	// IDMode and UserIDMode are how passkey.id and user.id are generated.
	IDMode, UserIDMode IDMode
	// CreatedAt is the form of passkey.createdAt.
	CreatedAt TimeForm
	// Candidates lists the tables shaped like the passkey table when there
	// are several and none was chosen (--tables passkey=NAME).
	Candidates []string
	// Drift lists each required passkey column that is missing.
	Drift []string
	// Warnings are problems that do not stop passkeyctl: no unique index
	// on credentialID, a case-insensitive collation, narrow columns.
	Warnings []store.Warning
}

// betterAuthField is one logical field with its camelCase and snake_case
// column names (olderColumnNames adds those of generators past).
type betterAuthField struct {
	camel, snake string
	required     bool
}

// olderColumnNames are the names Better Auth versions past gave a field,
// by its camelCase name: from v1.1.4 to v1.3.7 the Drizzle generator turned
// each capital into "_" and the lower-case letter, so credentialID became
// credential_i_d (better-auth/better-auth#4368); 1.0's generator did the
// same to webauthnUserID.
var olderColumnNames = map[string][]string{
	"credentialID":   {"credential_i_d"},
	"webauthnUserID": {"webauthn_user_i_d"},
}

var (
	baPasskeyFields = map[string]betterAuthField{
		"ID":           {"id", "id", true},
		"Name":         {"name", "name", false},
		"PublicKey":    {"publicKey", "public_key", true},
		"UserID":       {"userId", "user_id", true},
		"CredentialID": {"credentialID", "credential_id", true},
		"Counter":      {"counter", "counter", true},
		"DeviceType":   {"deviceType", "device_type", true},
		"BackedUp":     {"backedUp", "backed_up", true},
		"Transports":   {"transports", "transports", false},
		"CreatedAt":    {"createdAt", "created_at", false},
		"AAGUID":       {"aaguid", "aaguid", false},
		// Better Auth 1.0 only: NOT NULL, never read at sign-in; tables
		// first made by 1.0 keep it (see webauthnUserIDValue).
		"WebAuthnUserID": {"webauthnUserID", "webauthn_user_id", false},
	}
	baUserFields = map[string]betterAuthField{
		"ID":            {"id", "id", true},
		"Name":          {"name", "name", true},
		"Email":         {"email", "email", true},
		"EmailVerified": {"emailVerified", "email_verified", true},
		"Image":         {"image", "image", false},
		"CreatedAt":     {"createdAt", "created_at", false},
		"UpdatedAt":     {"updatedAt", "updated_at", false},
	}
)

// resolve finds the column of field f in t: camelCase first, then
// snake_case; "" when absent.
func (f betterAuthField) resolve(t *Table) string {
	for _, n := range append([]string{f.camel, f.snake}, olderColumnNames[f.camel]...) {
		if t.Has(n) {
			return n
		}
	}
	return ""
}

// tablesWithColumnSQL finds, in one query per dialect, the tables that have
// a column named like a credential ID; passkey tables renamed by the app
// are found without reading every table's columns.
var tablesWithColumnSQL = map[string]string{
	"postgres": `SELECT DISTINCT c.table_name FROM information_schema.columns c
		JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
		WHERE c.table_schema = current_schema() AND c.column_name IN ('credentialID', 'credential_id', 'credential_i_d') ORDER BY 1`,
	"mysql": `SELECT DISTINCT c.TABLE_NAME FROM information_schema.COLUMNS c
		JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME AND t.TABLE_TYPE = 'BASE TABLE'
		WHERE c.TABLE_SCHEMA = DATABASE() AND CAST(c.COLUMN_NAME AS BINARY) IN ('credentialID', 'credential_id', 'credential_i_d') ORDER BY 1`,
	"sqlite": `SELECT DISTINCT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND p.name IN ('credentialID', 'credential_id', 'credential_i_d') ORDER BY 1`,
}

// isDrizzleAuthjs reports whether lower-case "user"/"account" tables are
// @auth/drizzle-adapter's. Better Auth also has "user" and "account", so an
// "account" table counts only with Auth.js's providerAccountId column
// (Better Auth's has accountId/providerId).
func isDrizzleAuthjs(ctx context.Context, dia *Dialect, q sqlx.QueryerContext, tables []string) (bool, error) {
	if slices.Contains(tables, "User") || !slices.Contains(tables, "user") {
		return false, nil
	}
	if slices.Contains(tables, "authenticator") {
		return true, nil
	}
	if !slices.Contains(tables, "account") || slices.Contains(tables, "Account") {
		return false, nil
	}
	cols, err := dia.listColumns(ctx, q, "account")
	if err != nil {
		return false, fmt.Errorf("columns of account: %w", err)
	}
	return slices.ContainsFunc(cols, func(c Column) bool { return c.Name == "providerAccountId" }), nil
}

// isBetterAuthAccount reports whether t is Better Auth's account table.
func isBetterAuthAccount(t *Table) bool {
	return t != nil && (t.Has("providerId") || t.Has("provider_id")) && (t.Has("accountId") || t.Has("account_id"))
}

// isBetterAuthPasskey reports whether t has the columns of Better Auth's
// passkey model (in either naming). Auth.js's Authenticator has
// credentialPublicKey instead of publicKey and never matches.
func isBetterAuthPasskey(t *Table) bool {
	for _, f := range []string{"PublicKey", "CredentialID", "DeviceType", "BackedUp"} {
		if baPasskeyFields[f].resolve(t) == "" {
			return false
		}
	}
	return true
}

// detectBetterAuth fills s.BetterAuth when the database holds Better Auth
// tables, and s.Apps with every app whose tables were found. tables is
// the list of the database's tables.
func (s *Schema) detectBetterAuth(ctx context.Context, dia *Dialect, q sqlx.QueryerContext, tables []string, opts SchemaOptions) error {
	ba := &BetterAuthSchema{}
	// The passkey table: the override, else "passkey", else the one table
	// shaped like it.
	switch {
	case opts.PasskeyTable != "":
		if !slices.Contains(tables, opts.PasskeyTable) {
			return fmt.Errorf("%w: --tables passkey=%s: no such table", passkey.ErrSchemaNotReady, opts.PasskeyTable)
		}
		t, err := loadTable(ctx, dia, q, opts.PasskeyTable)
		if err != nil {
			return err
		}
		ba.Passkey = t
	case slices.Contains(tables, "passkey"):
		t, err := loadTable(ctx, dia, q, "passkey")
		if err != nil {
			return err
		}
		if isBetterAuthPasskey(t) {
			ba.Passkey = t
		}
	}
	if ba.Passkey == nil && opts.PasskeyTable == "" {
		var names []string
		if err := sqlx.SelectContext(ctx, q, &names, tablesWithColumnSQL[dia.Name]); err != nil {
			return fmt.Errorf("find passkey tables: %w", err)
		}
		var found []*Table
		for _, n := range names {
			if s.Authenticator != nil && n == s.Authenticator.Name {
				continue // Auth.js's, already read
			}
			t, err := loadTable(ctx, dia, q, n)
			if err != nil {
				return err
			}
			if isBetterAuthPasskey(t) {
				found = append(found, t)
			}
		}
		switch len(found) {
		case 0:
		case 1:
			ba.Passkey = found[0]
		default:
			// Reported when a command needs the table, so that commands
			// that do not (migrate status) still run.
			for _, t := range found {
				ba.Candidates = append(ba.Candidates, t.Name)
			}
		}
	}
	// The user table: the override, else what passkey.userId references,
	// else "user".
	userName := opts.UserTable
	if userName == "" && ba.Passkey != nil {
		uid := baPasskeyFields["UserID"].resolve(ba.Passkey)
		for _, fk := range ba.Passkey.ForeignKeys {
			if len(fk.Columns) == 1 && fk.Columns[0] == uid {
				userName = fk.RefTable
			}
		}
	}
	if userName == "" {
		userName = "user"
	}
	if slices.Contains(tables, userName) {
		t, err := loadTable(ctx, dia, q, userName)
		if err != nil {
			return err
		}
		ba.User = t
	} else if opts.UserTable != "" {
		return fmt.Errorf("%w: --tables user=%s: no such table", passkey.ErrSchemaNotReady, opts.UserTable)
	}
	if slices.Contains(tables, "account") {
		t, err := loadTable(ctx, dia, q, "account")
		if err != nil {
			return err
		}
		if isBetterAuthAccount(t) {
			ba.Account = t
		}
	}
	if slices.Contains(tables, "session") {
		t, err := loadTable(ctx, dia, q, "session")
		if err != nil {
			return err
		}
		// Auth.js's Drizzle "session" has sessionToken; Better Auth's has
		// token.
		if col := (betterAuthField{"userId", "user_id", true}).resolve(t); col != "" && t.Has("token") {
			ba.Session, ba.SessionUserID = t, col
		}
	}
	authjs := s.Authenticator != nil || (s.User != nil && s.Account != nil)
	// A Drizzle Auth.js "user" table is not Better Auth's, however its
	// columns look.
	if s.User != nil && ba.User != nil && s.User.Name == ba.User.Name && ba.Passkey == nil && ba.Account == nil {
		ba.User = nil
	}
	present := ba.Passkey != nil || ba.Account != nil || len(ba.Candidates) > 0 || opts.App == AppBetterAuth && ba.User != nil
	s.Apps = nil
	if authjs {
		s.Apps = append(s.Apps, AppAuthjs)
	}
	if present {
		s.Apps = append(s.Apps, AppBetterAuth)
		ba.classify(ctx, dia, q)
		s.BetterAuth = ba
	} else {
		s.BetterAuth = nil
	}
	return nil
}

// classify resolves column names, id modes and date forms, and collects
// drift and warnings.
func (ba *BetterAuthSchema) classify(ctx context.Context, dia *Dialect, q sqlx.QueryerContext) {
	ba.Naming = BetterAuthCamel
	ba.Drift, ba.Warnings = nil, nil
	if p := ba.Passkey; p != nil {
		cols := map[string]*string{
			"ID": &ba.P.ID, "Name": &ba.P.Name, "PublicKey": &ba.P.PublicKey, "UserID": &ba.P.UserID,
			"CredentialID": &ba.P.CredentialID, "Counter": &ba.P.Counter, "DeviceType": &ba.P.DeviceType,
			"BackedUp": &ba.P.BackedUp, "Transports": &ba.P.Transports, "CreatedAt": &ba.P.CreatedAt, "AAGUID": &ba.P.AAGUID,
			"WebAuthnUserID": &ba.P.WebAuthnUserID,
		}
		for _, k := range slices.Sorted(maps.Keys(baPasskeyFields)) {
			f := baPasskeyFields[k]
			*cols[k] = f.resolve(p)
			if *cols[k] == "" && f.required {
				ba.Drift = append(ba.Drift, fmt.Sprintf("%s.%s: column missing", p.Name, f.camel))
			}
		}
		if ba.P.CredentialID != "credentialID" {
			ba.Naming = BetterAuthSnake
		}
		ba.IDMode = idModeOf(ctx, dia, q, p, ba.P.ID)
		if c, ok := p.Column(ba.P.CreatedAt); ok {
			ba.CreatedAt = timeFormOf(dia, c, AppBetterAuth)
			if ba.CreatedAt == TimeMillis && drizzleSeconds(ctx, dia, q, p, ba.P.CredentialID, c.Name) {
				ba.CreatedAt = TimeSeconds
			}
		}
		ba.Warnings = append(ba.Warnings, ba.passkeyWarnings(dia)...)
	}
	if u := ba.User; u != nil {
		cols := map[string]*string{
			"ID": &ba.U.ID, "Name": &ba.U.Name, "Email": &ba.U.Email, "EmailVerified": &ba.U.EmailVerified,
			"Image": &ba.U.Image, "CreatedAt": &ba.U.CreatedAt, "UpdatedAt": &ba.U.UpdatedAt,
		}
		for k, f := range baUserFields {
			*cols[k] = f.resolve(u)
		}
		if ba.Passkey == nil && ba.U.EmailVerified == "email_verified" {
			ba.Naming = BetterAuthSnake
		}
		ba.UserIDMode = idModeOf(ctx, dia, q, u, ba.U.ID)
	}
}

// passkeyWarnings reports what Better Auth's default passkey table lacks:
// a unique credentialID, a case-sensitive comparison on MySQL, room for
// long IDs and RSA keys.
func (ba *BetterAuthSchema) passkeyWarnings(dia *Dialect) []store.Warning {
	p := ba.Passkey
	var out []store.Warning
	if ba.P.CredentialID != "" && !p.IsUnique(ba.P.CredentialID) {
		idx := p.Name + "_" + ba.P.CredentialID + "_key"
		fix := fmt.Sprintf("CREATE UNIQUE INDEX %s ON %s (%s);", dia.Quote(idx), dia.Quote(p.Name), dia.Quote(ba.P.CredentialID))
		out = append(out, store.Warning{
			Message: fmt.Sprintf("%s.%s has no unique index (Better Auth's default): nothing in the database stops a duplicate credential; passkeyctl refuses duplicates itself", p.Name, ba.P.CredentialID),
			FixSQL:  fix,
		})
	}
	if dia != MySQL {
		return out
	}
	if c, ok := p.Column(ba.P.CredentialID); ok {
		var problems []string
		if c.MaxLength > 0 && c.MaxLength < MaxBase64URLCredentialIDChars {
			problems = append(problems, fmt.Sprintf("%s.%s holds %d characters; a credential ID can take %d", p.Name, c.Name, c.MaxLength, MaxBase64URLCredentialIDChars))
		}
		if strings.HasSuffix(c.Collation, "_ci") {
			problems = append(problems, fmt.Sprintf("%s.%s uses the case-insensitive collation %s; base64url is case-sensitive (passkeyctl compares exactly)", p.Name, c.Name, c.Collation))
		}
		if len(problems) > 0 {
			out = append(out, store.Warning{
				Message: strings.Join(problems, "; "),
				FixSQL:  fmt.Sprintf("ALTER TABLE %s MODIFY %s VARCHAR(%d) CHARACTER SET ascii COLLATE ascii_bin NOT NULL;", MySQL.Quote(p.Name), MySQL.Quote(c.Name), MaxBase64URLCredentialIDChars),
			})
		}
	}
	return out
}

// drizzleSeconds reports whether a SQLite integer date column of the
// passkey table holds whole seconds: Better Auth's Drizzle generator wrote
// mode 'timestamp' (seconds) until better-auth/better-auth#4622 moved it to
// 'timestamp_ms'. Every table it made with credential_i_d predates that; for
// the others a stored value tells (seconds stay below 10^11 until the year
// 5138), and an empty table is taken as today's generator makes it.
func drizzleSeconds(ctx context.Context, dia *Dialect, q sqlx.QueryerContext, t *Table, credCol, col string) bool {
	if credCol == "credential_i_d" {
		return true
	}
	var sample sql.NullInt64
	query := "SELECT " + dia.Quote(col) + " FROM " + dia.Quote(t.Name) + " WHERE " + dia.Quote(col) + " IS NOT NULL LIMIT 1"
	if err := sqlx.GetContext(ctx, q, &sample, query); err != nil || !sample.Valid {
		return false
	}
	return sample.Int64 > 0 && sample.Int64 < 1e11
}

// MaxBase64URLCredentialIDChars is the longest base64url (unpadded)
// credential ID: 1023 bytes.
const MaxBase64URLCredentialIDChars = 1364

// idModeOf tells the id mode of a table's id column: uuid and integer
// types say it outright; a text column holding UUIDs is uuid mode too (on
// MySQL and SQLite both modes use a string column).
func idModeOf(ctx context.Context, dia *Dialect, q sqlx.QueryerContext, t *Table, idCol string) IDMode {
	c, ok := t.Column(idCol)
	if !ok {
		return IDText
	}
	switch {
	case c.Type == "uuid":
		return IDUUID
	case typeClass(c) == "integer", c.Type == "serial", c.Type == "bigserial":
		return IDInteger
	}
	var sample sql.NullString
	query := "SELECT " + dia.Quote(idCol) + " FROM " + dia.Quote(t.Name) + " LIMIT 1"
	if err := sqlx.GetContext(ctx, q, &sample, query); err == nil && uuidPattern.MatchString(sample.String) {
		return IDUUID
	}
	return IDText
}

// chooseApp applies the --schema choice to a detected schema: an explicit
// choice wins; a database holding both apps' tables needs one.
func (s *Schema) chooseApp(opts SchemaOptions) error {
	switch {
	case opts.App != "":
		s.setApp(opts.App)
	case len(s.Apps) > 1:
		return fmt.Errorf("%w: this database holds both Auth.js tables (%s) and Better Auth tables (%s): choose one with --schema authjs or --schema better-auth",
			passkey.ErrInvalid, s.authjsTableList(), s.BetterAuth.tableList())
	case len(s.Apps) == 1:
		s.setApp(s.Apps[0])
	default:
		s.setApp(AppAuthjs)
	}
	return nil
}

func (s *Schema) authjsTableList() string {
	var ns []string
	for _, t := range []*Table{s.User, s.Account, s.Authenticator} {
		if t != nil {
			ns = append(ns, t.Name)
		}
	}
	return strings.Join(ns, ", ")
}

func (ba *BetterAuthSchema) tableList() string {
	if ba == nil {
		return ""
	}
	var ns []string
	for _, t := range []*Table{ba.User, ba.Account, ba.Passkey} {
		if t != nil {
			ns = append(ns, t.Name)
		}
	}
	return strings.Join(ns, ", ")
}

// detectWith is Detect with explicit choices: it re-reads the Better Auth
// tables when they were renamed, then applies the --schema choice.
func (d *DB) detectWith(ctx context.Context, q sqlx.QueryerContext, s *Schema, opts SchemaOptions) (*Schema, error) {
	if opts.App == AppAuthjs && (opts.PasskeyTable != "" || opts.UserTable != "") {
		return nil, fmt.Errorf("%w: --tables names Better Auth tables; it cannot be used with --schema authjs", passkey.ErrInvalid)
	}
	if opts.PasskeyTable != "" || opts.UserTable != "" || opts.App == AppBetterAuth {
		tables, err := d.Dialect.listTables(ctx, q)
		if err != nil {
			return nil, d.Err("list tables", err)
		}
		if err := s.detectBetterAuth(ctx, d.Dialect, q, tables, opts); err != nil {
			return nil, err
		}
	}
	if err := s.chooseApp(opts); err != nil {
		return nil, err
	}
	return s, nil
}

// PasskeyTableReady returns the Better Auth schema when its passkey table
// exists in a shape passkeyctl can use, else ErrSchemaNotReady or ErrDrift
// saying how to get there.
func (s *Schema) PasskeyTableReady() (*BetterAuthSchema, error) {
	ba := s.BetterAuth
	if ba != nil && len(ba.Candidates) > 0 {
		return nil, fmt.Errorf("%w: several tables look like Better Auth's passkey table (%s): choose one with --tables passkey=NAME", passkey.ErrInvalid, strings.Join(ba.Candidates, ", "))
	}
	if ba == nil || ba.Passkey == nil {
		return nil, fmt.Errorf("%w: Better Auth's passkey table does not exist: add the passkey plugin to the app and run Better Auth's migrator (npx @better-auth/cli migrate); passkeyctl does not create Better Auth tables", passkey.ErrSchemaNotReady)
	}
	if len(ba.Drift) > 0 {
		return nil, fmt.Errorf("%w: table %s lacks columns Better Auth's passkey plugin needs: %s", passkey.ErrDrift, ba.Passkey.Name, strings.Join(ba.Drift, "; "))
	}
	if ba.User == nil {
		return nil, fmt.Errorf("%w: Better Auth's user table was not found (name it with --tables user=NAME)", passkey.ErrSchemaNotReady)
	}
	if ba.U.ID == "" || ba.U.Email == "" {
		return nil, fmt.Errorf("%w: table %s has no id or email column", passkey.ErrDrift, ba.User.Name)
	}
	return ba, nil
}
