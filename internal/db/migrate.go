package db

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"

	"modernc.org/sqlite"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// Migration is one embedded .sql file.
type Migration struct {
	// Name is the file name, e.g. "0001_authenticator.sql".
	Name string
	// Checksum is the hex SHA-256 of the file as embedded (before its
	// table names are filled in).
	Checksum string
	text     string
	// variants are alternative bodies of this step, by variant name: the
	// file NNNN_name.VARIANT.sql (see noFKVariant). A variant is recorded
	// under its own file name and checksum, so status compares a database
	// with the file that actually ran there.
	variants map[string]Migration
}

// CoreMigration is the name of the file that creates the Auth.js core tables.
const CoreMigration = "core.sql"

var numbered = regexp.MustCompile(`^\d{4}_[a-z0-9_]+\.sql$`)

// variantFile is a variant of a numbered step: "0001_authenticator.nofk.sql"
// is the variant "nofk" of "0001_authenticator.sql".
var variantFile = regexp.MustCompile(`^(\d{4}_[a-z0-9_]+)\.([a-z0-9]+)\.sql$`)

// noFKVariant is the variant of the Authenticator step for databases whose
// Auth.js tables have no foreign keys (Prisma's relationMode = "prisma",
// PlanetScale): the same table with an index on userId and no foreign key.
const noFKVariant = "nofk"

// LoadMigrations reads core.sql and the numbered migrations, in order, from
// one dialect's folder.
func LoadMigrations(fsys fs.FS) (core Migration, steps []Migration, err error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return core, nil, fmt.Errorf("read migrations: %w", err)
	}
	variants := map[string][]Migration{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !(name == CoreMigration || numbered.MatchString(name) || variantFile.MatchString(name)) {
			continue
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return core, nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		sum := sha256.Sum256(b)
		m := Migration{Name: name, Checksum: hex.EncodeToString(sum[:]), text: string(b)}
		switch v := variantFile.FindStringSubmatch(name); {
		case name == CoreMigration:
			core = m
		case v != nil:
			variants[v[1]+".sql"] = append(variants[v[1]+".sql"], m)
		default:
			steps = append(steps, m)
		}
	}
	if core.Name == "" {
		return core, nil, fmt.Errorf("read migrations: %s missing", CoreMigration)
	}
	for i := range steps {
		for _, v := range variants[steps[i].Name] {
			if steps[i].variants == nil {
				steps[i].variants = map[string]Migration{}
			}
			steps[i].variants[variantFile.FindStringSubmatch(v.Name)[2]] = v
		}
		delete(variants, steps[i].Name)
	}
	for base := range variants {
		return core, nil, fmt.Errorf("read migrations: variant of %s, which does not exist", base)
	}
	slices.SortFunc(steps, func(a, b Migration) int { return strings.Compare(a.Name, b.Name) })
	return core, steps, nil
}

// templateData fills a migration's table names for the detected naming.
type templateData struct {
	User, Authenticator, AuthenticatorName, UserIDType string
}

// coreUserIDType is User.id as schema/mysql/core.sql creates it: the type
// the Authenticator's userId repeats when --core creates User in the same
// run, so that the dry run prints exactly what the real run executes.
const coreUserIDType = "VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"

// Statements renders the migration for the schema and splits it into
// statements.
func (m Migration) Statements(d *Dialect, s *Schema) ([]string, error) {
	userName, _, _, _, authName := s.TableNames()
	data := templateData{User: d.Quote(userName), Authenticator: d.Quote(authName), AuthenticatorName: authName, UserIDType: coreUserIDType}
	if c, ok := s.User.Column("id"); ok && d == MySQL {
		// The foreign key column must repeat the referenced column's type,
		// character set and collation exactly, or MySQL refuses the key.
		data.UserIDType = strings.ToUpper(c.FullType)
		if c.Charset != "" {
			data.UserIDType += " CHARACTER SET " + c.Charset + " COLLATE " + c.Collation
		}
	}
	tmpl, err := template.New(m.Name).Option("missingkey=error").Parse(m.text)
	if err != nil {
		return nil, fmt.Errorf("migration %s: %w", m.Name, err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("migration %s: %w", m.Name, err)
	}
	return splitStatements(buf.String()), nil
}

// splitStatements drops comment lines and splits at semicolons that end a
// line. passkeyctl's own files never put a semicolon inside a statement.
func splitStatements(sqlText string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(sqlText, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(strings.TrimRight(line, " \t\r"))
		if strings.HasSuffix(trimmed, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
			continue
		}
		cur.WriteString("\n")
	}
	if rest := strings.TrimSpace(cur.String()); rest != "" {
		out = append(out, rest)
	}
	return out
}

// MigrationState says where one migration stands.
type MigrationState string

const (
	// StateApplied: passkeyctl ran the migration.
	StateApplied MigrationState = "applied"
	// StateAdopted: the objects existed and were recorded, not recreated.
	StateAdopted MigrationState = "adopted"
	// StatePending: not yet applied.
	StatePending MigrationState = "pending"
	// StateChecksumChanged: recorded with a different checksum than the
	// file passkeyctl now embeds. It is reported, never re-run.
	StateChecksumChanged MigrationState = "checksum-changed"
)

// MigrationStatus is one migration's row in `migrate status`.
type MigrationStatus struct {
	Name     string         `json:"name"`
	State    MigrationState `json:"state"`
	Checksum string         `json:"checksum"`
	// RecordedChecksum is set when it differs from Checksum.
	RecordedChecksum string `json:"recordedChecksum,omitempty"`
	// Action is what migrate would do with a pending migration: "create"
	// or "adopt".
	Action    string     `json:"action,omitempty"`
	AppliedAt *time.Time `json:"appliedAt,omitempty"`
}

// Status is the whole answer of `migrate status`.
type Status struct {
	// Dialect is postgres, mysql or sqlite.
	Dialect string `json:"dialect"`
	// Naming is prisma ("User", "Authenticator") or drizzle ("user",
	// "authenticator").
	Naming Naming `json:"naming"`
	// Variant is the shape of the Authenticator table: current, legacy,
	// drizzle, drift, or "" when there is none.
	Variant Variant `json:"variant"`
	// CoreTables is true when the Auth.js User and Account tables exist.
	CoreTables bool `json:"coreTables"`
	// Migrations lists core.sql (when passkeyctl applied it) and every
	// numbered migration, in order.
	Migrations []MigrationStatus `json:"migrations"`
	// Drift lists each difference between the Authenticator table and the
	// known variants.
	Drift []string `json:"drift"`
	// Warnings are problems that do not block, each with the SQL that fixes
	// it when there is one.
	Warnings []store.Warning `json:"warnings"`
}

// UpToDate reports whether nothing is pending, drifted or changed.
func (s *Status) UpToDate() bool {
	if !s.CoreTables || len(s.Drift) > 0 {
		return false
	}
	for _, m := range s.Migrations {
		if m.State == StatePending || m.State == StateChecksumChanged {
			return false
		}
	}
	return true
}

// MigrateOptions tunes Migrate.
type MigrateOptions struct {
	// Core creates the Auth.js core tables when they are absent.
	Core bool
	// DryRun computes the SQL and changes nothing.
	DryRun bool
	// LockTimeout bounds each lock wait: for another migrate to finish,
	// and for a lock another session holds on the app's tables (the
	// Authenticator's foreign key needs one on User): PostgreSQL's
	// lock_timeout, MySQL's lock_wait_timeout, SQLite's busy timeout.
	LockTimeout time.Duration
	// Now is the clock for history rows.
	Now func() time.Time

	// afterStatement is a test hook run after each executed statement; an
	// error from it simulates a crash at that point.
	afterStatement func(stmt string) error
}

// MigrateResult says what Migrate did (or, with DryRun, would do).
type MigrateResult struct {
	// Applied are the migrations run, in order (core.sql first with --core).
	Applied []string `json:"applied"`
	// Adopted are the migrations whose table already existed and was
	// recorded, not recreated.
	Adopted []string `json:"adopted"`
	// SQL is every schema statement executed (or, with DryRun, that would
	// be), without passkeyctl's own history bookkeeping.
	SQL []string `json:"sql"`
	// Warnings are problems that do not block, with their fix when known.
	Warnings []store.Warning `json:"warnings"`
	// DryRun is true when nothing was changed.
	DryRun bool `json:"dryRun"`
	// Variant is the Authenticator table's shape after the run (with
	// DryRun: after the run that would happen).
	Variant Variant `json:"variant"`
	// Naming is the detected table naming, prisma or drizzle.
	Naming Naming `json:"naming"`
	// HistoryTable is where the run is (or would be) recorded.
	HistoryTable string `json:"historyTable"`
	// Notes say what the run chose that the operator should know: an
	// Authenticator table made without a foreign key.
	Notes []string `json:"notes"`
	// ChecksumChanged are the recorded migrations whose file changed
	// since they ran, as `migrate status` lists them: never re-run, and
	// the schema is not up to date (status exits 4, and so does migrate).
	ChecksumChanged []MigrationStatus `json:"checksumChanged"`
}

// execQuerier is what migration steps run on: a transaction or, for MySQL,
// a pinned connection.
type execQuerier interface {
	sqlx.QueryerContext
	sqlx.ExecerContext
}

type historyRow struct {
	Name      string    `db:"name"`
	Checksum  string    `db:"checksum"`
	Kind      string    `db:"kind"`
	AppliedAt time.Time `db:"applied_at"`
}

// legacyHistoryTable is where passkeyctl recorded migrations on MySQL and
// SQLite before it kept them in its own place: in the app's namespace,
// where Prisma's migrate dev reports it as drift. It is still read, and
// moved by the next migrate (moveLegacyHistory); on MySQL it stays the
// place of a user who may not create the database passkeyctl.
const legacyHistoryTable = "_passkeyctl_migrations"

// historyTable is where passkeyctl records migrations: in its own place
// beside the app's, out of sight of Prisma and drizzle-kit, as the audit
// log (audit.go): the PostgreSQL schema passkeyctl, the MySQL database
// passkeyctl (each row keyed by the app's schema or database), the SQLite
// file attached as passkeyctl.
func (d *DB) historyTable() string {
	switch {
	case d.Dialect == Postgres:
		return `passkeyctl.schema_migrations`
	case d.ownInApp.Load():
		return d.Q(legacyHistoryTable)
	}
	return d.Dialect.Quote(auditSchema) + "." + d.Dialect.Quote("schema_migrations")
}

// historyName is where the history is, as messages and JSON say it.
func (d *DB) historyName() string {
	switch {
	case d.Dialect == SQLite:
		return "schema_migrations in " + d.auditFile()
	case d.ownInApp.Load():
		return legacyHistoryTable
	}
	return "passkeyctl.schema_migrations"
}

// historyKey is the WHERE term that selects this app's history rows in
// historyTable ("" where the place holds one app's).
func (d *DB) historyKey() string {
	switch {
	case d.Dialect == Postgres:
		return `target_schema = current_schema()`
	case d.Dialect == MySQL && !d.ownInApp.Load():
		return "`target_schema` = DATABASE()"
	}
	return ""
}

func (d *DB) createHistorySQL() []string {
	switch {
	case d.Dialect == Postgres:
		return []string{
			`CREATE SCHEMA IF NOT EXISTS passkeyctl`,
			// One database may hold several apps in separate schemas
			// (Prisma's ?schema=): history is kept per target schema.
			`CREATE TABLE IF NOT EXISTS passkeyctl.schema_migrations (target_schema TEXT NOT NULL, name TEXT NOT NULL, checksum TEXT NOT NULL, kind TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (target_schema, name))`,
		}
	case d.Dialect == MySQL && d.ownInApp.Load():
		return []string{"CREATE TABLE IF NOT EXISTS `_passkeyctl_migrations` (`name` VARCHAR(191) NOT NULL PRIMARY KEY, `checksum` CHAR(64) NOT NULL, `kind` VARCHAR(16) NOT NULL, `applied_at` DATETIME(3) NOT NULL) DEFAULT CHARACTER SET utf8mb4"}
	case d.Dialect == MySQL:
		return []string{
			"CREATE DATABASE IF NOT EXISTS `passkeyctl` DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
			// One server holds many apps' databases: history is kept per
			// target database.
			"CREATE TABLE IF NOT EXISTS `passkeyctl`.`schema_migrations` (`target_schema` VARCHAR(191) NOT NULL, `name` VARCHAR(191) NOT NULL, `checksum` CHAR(64) NOT NULL, `kind` VARCHAR(16) NOT NULL, `applied_at` DATETIME(3) NOT NULL, PRIMARY KEY (`target_schema`, `name`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
		}
	}
	return []string{`CREATE TABLE IF NOT EXISTS passkeyctl."schema_migrations" ("name" TEXT NOT NULL PRIMARY KEY, "checksum" TEXT NOT NULL, "kind" TEXT NOT NULL, "applied_at" TEXT NOT NULL)`}
}

// createHistory creates the history table; on MySQL, a user who may not
// create the database passkeyctl keeps it in the app's database (the
// place of earlier versions), as the audit log does.
func (d *DB) createHistory(ctx context.Context, q execQuerier) error {
	for _, stmt := range d.createHistorySQL() {
		if _, err := q.ExecContext(ctx, stmt); err != nil {
			if d.Dialect == MySQL && !d.ownInApp.Load() && isAccessDenied(err) {
				d.ownInApp.Store(true)
				return d.createHistory(ctx, q)
			}
			return d.Err("create migration history", err)
		}
	}
	return nil
}

// historyExists reports whether the history is in its place, and whether
// the legacy table of earlier versions is in the app's namespace.
func (d *DB) historyExists(ctx context.Context, q sqlx.QueryerContext) (current, legacy bool, err error) {
	switch d.Dialect {
	case Postgres:
		err = sqlx.GetContext(ctx, q, &current, `SELECT to_regclass('passkeyctl.schema_migrations') IS NOT NULL`)
		return current, false, err
	case MySQL:
		var n int
		err = sqlx.GetContext(ctx, q, &n, `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'passkeyctl' AND table_name = 'schema_migrations'`)
		current = n > 0
	default:
		if current, err = d.sqliteAttached(ctx, q); err == nil && current {
			var n int
			err = sqlx.GetContext(ctx, q, &n, `SELECT count(*) FROM passkeyctl.sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`)
			current = n > 0
		}
	}
	if err != nil {
		return false, false, err
	}
	tables, err := d.Dialect.listTables(ctx, q)
	legacy = slices.Contains(tables, legacyHistoryTable)
	if d.ownInApp.Load() {
		current, legacy = legacy, false
	}
	return current, legacy, err
}

// sqliteAttached reports whether the SQLite connection q is has the file of
// passkeyctl's own tables attached.
func (d *DB) sqliteAttached(ctx context.Context, q sqlx.QueryerContext) (bool, error) {
	var n int
	err := sqlx.GetContext(ctx, q, &n, `SELECT count(*) FROM pragma_database_list WHERE name = 'passkeyctl'`)
	return n > 0, err
}

// readHistory reads this app's migration history: the legacy table's rows
// (earlier versions), then those of its place, which win.
func (d *DB) readHistory(ctx context.Context, q sqlx.QueryerContext) (map[string]historyRow, error) {
	current, legacy, err := d.historyExists(ctx, q)
	if err != nil {
		return nil, d.Err("read migration history", err)
	}
	out := map[string]historyRow{}
	read := func(query string) error {
		rows, err := q.QueryxContext(ctx, query)
		if err != nil {
			return d.Err("read migration history", err)
		}
		defer rows.Close()
		for rows.Next() {
			var r historyRow
			var at any
			if err := rows.Scan(&r.Name, &r.Checksum, &r.Kind, &at); err != nil {
				return d.Err("read migration history", err)
			}
			r.AppliedAt = parseTime(at)
			out[r.Name] = r
		}
		return d.Err("read migration history", rows.Err())
	}
	if legacy {
		if err := read(`SELECT name, checksum, kind, applied_at FROM ` + d.Q(legacyHistoryTable)); err != nil {
			return nil, err
		}
	}
	if current {
		query := `SELECT ` + d.quoteList("name", "checksum", "kind", "applied_at") + ` FROM ` + d.historyTable()
		if k := d.historyKey(); k != "" {
			query += ` WHERE ` + k
		}
		if err := read(query); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// moveLegacyHistoryOnly is moveLegacyHistory for a migrate with nothing to
// apply: it makes the history's place ready only when there is a legacy
// table to move, and reports whether it moved one.
func (d *DB) moveLegacyHistoryOnly(ctx context.Context, q execQuerier) (bool, error) {
	_, legacy, err := d.historyExists(ctx, q)
	if err != nil || !legacy {
		return false, d.Err("read migration history", err)
	}
	if err := d.createHistory(ctx, q); err != nil {
		return false, err
	}
	return true, d.moveLegacyHistory(ctx, q)
}

// moveLegacyHistory moves the rows of the legacy history table in the
// app's namespace into passkeyctl's own place and drops the table, so that
// the app's migration tool no longer sees it. q must have the history's
// place ready (createHistory; on SQLite, the file attached). Nothing to do
// where the legacy table is the place (MySQL without the database
// passkeyctl).
func (d *DB) moveLegacyHistory(ctx context.Context, q execQuerier) error {
	if d.Dialect == Postgres || d.ownInApp.Load() {
		return nil
	}
	tables, err := d.Dialect.listTables(ctx, q)
	if err != nil {
		return d.Err("read migration history", err)
	}
	if !slices.Contains(tables, legacyHistoryTable) {
		return nil
	}
	cols := d.quoteList("name", "checksum", "kind", "applied_at")
	from := ` FROM ` + d.Q(legacyHistoryTable) + ` l WHERE NOT EXISTS (SELECT 1 FROM ` + d.historyTable() + ` h WHERE h.` + d.Q("name") + ` = l.` + d.Q("name")
	insert := `INSERT INTO ` + d.historyTable() + ` (` + cols + `) SELECT l.` + d.Q("name") + `, l.` + d.Q("checksum") + `, l.` + d.Q("kind") + `, l.` + d.Q("applied_at")
	if d.Dialect == MySQL {
		insert = `INSERT INTO ` + d.historyTable() + ` (` + d.Q("target_schema") + `, ` + cols + `) SELECT DATABASE(), l.` + d.Q("name") + `, l.` + d.Q("checksum") + `, l.` + d.Q("kind") + `, l.` + d.Q("applied_at")
		from += ` AND h.` + d.historyKey()
	}
	if _, err := q.ExecContext(ctx, insert+from+`)`); err != nil {
		return d.Err("move the migration history out of the app's tables", err)
	}
	if _, err := q.ExecContext(ctx, `DROP TABLE `+d.Q(legacyHistoryTable)); err != nil {
		return d.Err("move the migration history out of the app's tables", err)
	}
	return nil
}

func parseTime(v any) time.Time {
	switch t := v.(type) {
	case time.Time:
		return t.UTC()
	case string:
		if p, err := time.Parse(time.RFC3339Nano, t); err == nil {
			return p.UTC()
		}
	case []byte:
		return parseTime(string(t))
	}
	return time.Time{}
}

// recordSQL returns the statements that record one migration: the row is
// replaced, so that re-creating a table that was dropped outside passkeyctl
// does not collide with its old row.
func (d *DB) recordSQL(name, checksum, kind string, at time.Time) (del string, ins string, args []any) {
	if d.Dialect == Postgres {
		return `DELETE FROM passkeyctl.schema_migrations WHERE target_schema = current_schema() AND name = $1`,
			`INSERT INTO passkeyctl.schema_migrations (target_schema, name, checksum, kind, applied_at) VALUES (current_schema(), $1, $2, $3, $4)`,
			[]any{name, checksum, kind, at}
	}
	var ts any = at
	if d.Dialect == SQLite {
		ts = at.UTC().Format(time.RFC3339Nano)
	}
	t := d.historyTable()
	cols := d.quoteList("name", "checksum", "kind", "applied_at")
	if k := d.historyKey(); k != "" {
		return `DELETE FROM ` + t + ` WHERE ` + k + ` AND ` + d.Q("name") + ` = ?`,
			`INSERT INTO ` + t + ` (` + d.Q("target_schema") + `, ` + cols + `) VALUES (DATABASE(), ?, ?, ?, ?)`,
			[]any{name, checksum, kind, ts}
	}
	return `DELETE FROM ` + t + ` WHERE ` + d.Q("name") + ` = ?`,
		`INSERT INTO ` + t + ` (` + cols + `) VALUES (?, ?, ?, ?)`,
		[]any{name, checksum, kind, ts}
}

// authenticatorMigration is the migration that creates the Authenticator
// table: an existing table is adopted instead.
const authenticatorMigration = "0001_authenticator.sql"

// createsAuthenticator reports whether m is the Authenticator step or one
// of its variants.
func createsAuthenticator(m Migration) bool {
	return m.Name == authenticatorMigration || strings.HasPrefix(m.Name, strings.TrimSuffix(authenticatorMigration, ".sql")+".")
}

// plan is what one migrate run would do, computed under the lock.
type plan struct {
	schema  *Schema
	history map[string]historyRow
	status  Status
	coreM   Migration
	// core holds core.sql's statements when --core creates the tables.
	core  []string
	steps []plannedStep
	adopt []Migration
	// missingSchema is the PostgreSQL schema that ?schema= names and that
	// does not exist yet.
	missingSchema string
	// changed are the recorded migrations whose checksum changed.
	changed []MigrationStatus
}

type plannedStep struct {
	m     Migration
	stmts []string
}

// empty reports whether the plan changes nothing.
func (p *plan) empty() bool { return len(p.core) == 0 && len(p.steps) == 0 && len(p.adopt) == 0 }

// variantAfter is the Authenticator table's variant once the plan has run.
func (p *plan) variantAfter() Variant {
	for _, st := range p.steps {
		if createsAuthenticator(st.m) {
			if p.schema.Naming == NamingDrizzle {
				return VariantDrizzle
			}
			return VariantCurrent
		}
	}
	return p.schema.Variant
}

// makePlan compares the files, the history and the detected schema.
func (d *DB) makePlan(ctx context.Context, q sqlx.QueryerContext, fsys fs.FS, wantCore bool) (*plan, error) {
	coreM, steps, err := LoadMigrations(fsys)
	if err != nil {
		return nil, err
	}
	p := &plan{coreM: coreM}
	if d.Dialect == Postgres {
		// current_schema() is NULL when no schema of the search path
		// exists: Prisma's ?schema= names one that was never created.
		var cur sql.NullString
		if err := sqlx.GetContext(ctx, q, &cur, `SELECT current_schema()`); err != nil {
			return nil, d.Err("read current schema", err)
		}
		if !cur.Valid {
			p.missingSchema = d.Target.SearchPath
			if p.missingSchema == "" {
				p.missingSchema = "public"
			}
		}
	}
	s, err := detect(ctx, d.Dialect, q)
	if err != nil {
		return nil, d.Err("detect schema", err)
	}
	hist, err := d.readHistory(ctx, q)
	if err != nil {
		return nil, err
	}
	p.schema, p.history = s, hist
	p.status = Status{
		Dialect: d.Dialect.Name, Naming: s.Naming, Variant: s.Variant,
		CoreTables: s.User != nil && s.Account != nil,
		Migrations: []MigrationStatus{}, Drift: slices.Clone(s.Drift), Warnings: slices.Clone(s.Warnings),
	}
	if p.status.Drift == nil {
		p.status.Drift = []string{}
	}
	if p.status.Warnings == nil {
		p.status.Warnings = []store.Warning{}
	}
	if r, ok := hist[CoreMigration]; ok {
		p.status.Migrations = append(p.status.Migrations, statusFromHistory(coreM, r))
	}
	if !p.status.CoreTables && wantCore {
		stmts, err := coreM.Statements(d.Dialect, s)
		if err != nil {
			return nil, err
		}
		if p.missingSchema != "" {
			// Prisma creates the schema it is pointed at; so does --core.
			stmts = append([]string{"CREATE SCHEMA IF NOT EXISTS " + d.Dialect.Quote(p.missingSchema)}, stmts...)
		}
		p.core = stmts
	}
	noFK := s.withoutForeignKeys() && len(p.core) == 0
	for _, m := range steps {
		if r, rec, ok := recorded(hist, m); ok {
			m := rec
			ms := statusFromHistory(m, r)
			switch {
			case ms.State == StateChecksumChanged:
				p.status.Warnings = append(p.status.Warnings, d.checksumWarning(m, r))
				p.changed = append(p.changed, ms)
				p.status.Migrations = append(p.status.Migrations, ms)
				continue
			case createsAuthenticator(m) && s.Authenticator == nil:
				// Recorded, but the table was dropped outside passkeyctl:
				// pending again, and migrate re-creates it.
				_, _, _, _, authName := s.TableNames()
				p.status.Warnings = append(p.status.Warnings, store.Warning{Message: fmt.Sprintf(
					"migration %s is recorded as %s on %s, but the table %s does not exist (dropped outside passkeyctl?); `passkeyctl migrate` creates it again",
					m.Name, r.Kind, r.AppliedAt.Format(time.RFC3339), authName)})
			default:
				p.status.Migrations = append(p.status.Migrations, ms)
				continue
			}
		}
		if v, ok := m.variants[noFKVariant]; ok && noFK && s.Authenticator == nil {
			// The Auth.js tables have no foreign keys: neither does the
			// Authenticator table (and migrate says so).
			m = v
		}
		ms := MigrationStatus{Name: m.Name, State: StatePending, Checksum: m.Checksum, Action: "create"}
		if createsAuthenticator(m) && s.Authenticator != nil {
			ms.Action = "adopt"
			if s.Variant == VariantDrift {
				// migrate refuses a drifted table: nothing would be adopted.
				ms.Action = "blocked"
			} else {
				p.adopt = append(p.adopt, m)
			}
		} else {
			stmts, err := m.Statements(d.Dialect, s)
			if err != nil {
				return nil, err
			}
			p.steps = append(p.steps, plannedStep{m: m, stmts: stmts})
		}
		p.status.Migrations = append(p.status.Migrations, ms)
	}
	if w, ok := d.missingForeignKeyWarning(s); ok {
		p.status.Warnings = append(p.status.Warnings, w)
	}
	return p, nil
}

// recorded finds the history row of step m, recorded under its own name or
// a variant's, and returns it with the migration it records.
func recorded(hist map[string]historyRow, m Migration) (historyRow, Migration, bool) {
	if r, ok := hist[m.Name]; ok {
		return r, m, true
	}
	for _, name := range slices.Sorted(maps.Keys(m.variants)) {
		v := m.variants[name]
		if r, ok := hist[v.Name]; ok {
			return r, v, true
		}
	}
	return historyRow{}, m, false
}

// withoutForeignKeys reports whether the database's Auth.js tables exist
// and none of them has a foreign key: Prisma's relationMode = "prisma"
// (the PlanetScale default) emulates relations in the client.
func (s *Schema) withoutForeignKeys() bool {
	if s.User == nil || s.Account == nil {
		return false
	}
	for _, t := range []*Table{s.User, s.Account, s.Session, s.VerificationToken} {
		if t != nil && len(t.ForeignKeys) > 0 {
			return false
		}
	}
	return true
}

// missingForeignKeyWarning reports an Authenticator table without its
// foreign key to User in a database whose other Auth.js tables have
// foreign keys: someone dropped it (or the table was made by hand), and
// deleting a user now leaves the passkeys behind (list: no-user). It is a
// warning, not a failure of `migrate status`: every passkeyctl command
// and Auth.js itself work without the key (databases in relationMode
// "prisma" never have one), and adding it fails until those leftover
// passkeys are revoked, which is the operator's call.
func (d *DB) missingForeignKeyWarning(s *Schema) (store.Warning, bool) {
	a := s.Authenticator
	if a == nil || s.User == nil || s.withoutForeignKeys() {
		return store.Warning{}, false
	}
	for _, fk := range a.ForeignKeys {
		if len(fk.Columns) == 1 && fk.Columns[0] == "userId" && fk.RefTable == s.User.Name {
			return store.Warning{}, false
		}
	}
	msg := fmt.Sprintf("table %s has no foreign key to %s, while the other Auth.js tables have theirs: deleting a user leaves their passkeys behind (list shows them no-user); revoke those, then add the key", a.Name, s.User.Name)
	if d.Dialect == SQLite {
		return store.Warning{Message: msg + ". SQLite cannot add a foreign key to an existing table: recreate it (export, migrate down --force, migrate, import)"}, true
	}
	return store.Warning{Message: msg, FixSQL: fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s FOREIGN KEY (%s) REFERENCES %s(%s) ON DELETE CASCADE ON UPDATE CASCADE;",
		d.Q(a.Name), d.Q(a.Name+"_userId_fkey"), d.Q("userId"), d.Q(s.User.Name), d.Q("id"))}, true
}

// checksumWarning explains a recorded checksum that differs from the
// embedded file, with the UPDATE that accepts the new file once the operator
// has checked that the table is right.
func (d *DB) checksumWarning(m Migration, r historyRow) store.Warning {
	where := "name = '" + m.Name + "'"
	table, run := d.historyTable(), ""
	switch {
	case d.Dialect == Postgres:
		// The operator runs the fix in a session of their own, whose
		// search_path is not the transaction's that migrate uses.
		target := "current_schema()"
		if d.Target.SearchPath != "" {
			target = pq.QuoteLiteral(d.Target.SearchPath)
		}
		where = "target_schema = " + target + " AND " + where
	case d.Dialect == MySQL && d.historyKey() != "":
		where = "target_schema = DATABASE() AND " + where
	case d.Dialect == SQLite:
		// The history is in its own file: the fix runs there.
		table, run = `"schema_migrations"`, " (in the file "+d.auditFile()+")"
	}
	return store.Warning{
		Message: fmt.Sprintf("migration %s was recorded with checksum %s but this passkeyctl embeds %s: the file changed since it ran; it is never re-run. Compare the table with the file, then accept it with the SQL below%s", m.Name, short(r.Checksum), short(m.Checksum), run),
		FixSQL:  fmt.Sprintf("UPDATE %s SET checksum = '%s' WHERE %s;", table, m.Checksum, where),
	}
}

func statusFromHistory(m Migration, r historyRow) MigrationStatus {
	at := r.AppliedAt
	ms := MigrationStatus{Name: m.Name, State: MigrationState(r.Kind), Checksum: m.Checksum, AppliedAt: &at}
	if r.Checksum != m.Checksum {
		ms.State = StateChecksumChanged
		ms.RecordedChecksum = r.Checksum
	}
	return ms
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	return sum
}

// MigrationStatus reports the detected schema and where each migration
// stands, without changing anything or taking a lock.
func (d *DB) MigrationStatus(ctx context.Context, fsys fs.FS) (*Status, error) {
	var p *plan
	err := d.reading(ctx, func(q sqlx.QueryerContext) error {
		var err error
		if p, err = d.makePlan(ctx, q, fsys, false); err != nil {
			return err
		}
		ut, err := p.schema.users()
		if err != nil {
			return nil // no user table yet: nothing to index
		}
		w, ok, err := d.emailFoldIndexWarning(ctx, q, ut)
		if ok {
			p.status.Warnings = append(p.status.Warnings, w)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &p.status, nil
}

// Migrate applies the pending migrations under a database lock so that
// concurrent runs apply them exactly once. On PostgreSQL and SQLite all
// steps run in one transaction; on MySQL, whose DDL commits implicitly,
// each step is one atomic CREATE TABLE followed by its history row, and a
// re-run after a crash adopts what the crashed run created. Missing core
// tables and drift are found before anything is changed.
func (d *DB) Migrate(ctx context.Context, fsys fs.FS, opts MigrateOptions) (*MigrateResult, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = 60 * time.Second
	}
	if opts.DryRun {
		var p *plan
		err := d.reading(ctx, func(q sqlx.QueryerContext) error {
			var err error
			p, err = d.makePlan(ctx, q, fsys, opts.Core)
			return err
		})
		if err != nil {
			return nil, err
		}
		res, err := d.checkPlan(p)
		if err != nil {
			return nil, err
		}
		res.DryRun = true
		res.Variant = p.variantAfter()
		for _, st := range p.steps {
			res.SQL = append(res.SQL, st.stmts...)
		}
		return res, nil
	}
	if err := d.Audit.Ready(); err != nil {
		return nil, err
	}
	conn, err := d.X.Connx(ctx)
	if err != nil {
		return nil, d.Err("connect", err)
	}
	defer conn.Close()
	if d.Dialect == MySQL {
		return d.migrateMySQL(ctx, conn, fsys, opts)
	}
	return d.migrateInTx(ctx, conn, fsys, opts)
}

// checkPlan turns a plan into a result or a domain error: missing core
// tables and drift stop everything before any change. The result's SQL
// holds core.sql's statements only; each path adds the steps it runs.
func (d *DB) checkPlan(p *plan) (*MigrateResult, error) {
	s := p.schema
	userName, accountName, _, _, authName := s.TableNames()
	if !p.status.CoreTables && len(p.core) == 0 {
		if p.missingSchema != "" {
			return nil, fmt.Errorf("%w: the PostgreSQL schema %q (from the DSN's ?schema=) does not exist: create the Auth.js tables first (run your app's migrations, e.g. `prisma migrate deploy`), or pass --core to create the schema and the tables", passkey.ErrSchemaNotReady, p.missingSchema)
		}
		missing := userName
		if s.User != nil {
			missing = accountName
		}
		return nil, fmt.Errorf("%w: the Auth.js table %s does not exist: create the Auth.js tables first (run your app's migrations, e.g. `prisma migrate deploy`), or pass --core to create them", passkey.ErrSchemaNotReady, missing)
	}
	if s.Variant == VariantDrift {
		return nil, fmt.Errorf("%w: table %s exists but matches no known Auth.js variant; nothing was changed:\n  - %s", passkey.ErrDrift, authName, strings.Join(s.Drift, "\n  - "))
	}
	res := &MigrateResult{
		Variant: s.Variant, Naming: s.Naming, Warnings: slices.Clone(p.status.Warnings),
		Applied: []string{}, Adopted: []string{}, SQL: []string{}, HistoryTable: d.historyName(),
		ChecksumChanged: append([]MigrationStatus{}, p.changed...),
	}
	if len(p.core) > 0 {
		res.Applied = append(res.Applied, CoreMigration)
		res.SQL = append(res.SQL, p.core...)
	}
	res.Notes = []string{}
	for _, st := range p.steps {
		res.Applied = append(res.Applied, st.m.Name)
		if strings.Contains(st.m.Name, "."+noFKVariant+".") {
			res.Notes = append(res.Notes, fmt.Sprintf("%s is created with no foreign key to %s, as the Auth.js tables here have none (Prisma's relationMode = \"prisma\", PlanetScale): an index on userId instead; declare @@index([userId]) on Authenticator in the Prisma schema to match", authName, userName))
		}
	}
	for _, m := range p.adopt {
		res.Adopted = append(res.Adopted, m.Name)
	}
	return res, nil
}

func (d *DB) migrateInTx(ctx context.Context, conn *sqlx.Conn, fsys fs.FS, opts MigrateOptions) (*MigrateResult, error) {
	if d.Dialect == SQLite {
		// busy_timeout is how long BEGIN IMMEDIATE waits for another
		// writer: the SQLite form of the lock timeout.
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", opts.LockTimeout.Milliseconds())); err != nil {
			return nil, d.Err("set busy timeout", err)
		}
	}
	// SQLite keeps passkeyctl's own tables (history, audit log) in a file
	// of their own, attached to the migration's connection before BEGIN
	// (it cannot be inside a transaction). A run that changes nothing
	// leaves no such file behind.
	if d.Dialect == SQLite {
		file := d.auditFile()
		_, statErr := os.Stat(file)
		if err := d.attachAudit(ctx, conn); err != nil {
			return nil, err
		}
		if statErr != nil && file != ":memory:" {
			defer func() {
				// After the transaction ended (its deferred rollback runs
				// first); detached first, or the pooled connection would
				// keep a file that is gone.
				if fi, err := os.Stat(file); err == nil && fi.Size() == 0 {
					if _, err := conn.ExecContext(context.WithoutCancel(ctx), "DETACH DATABASE passkeyctl"); err == nil {
						os.Remove(file)
					}
				}
			}()
		}
	}
	auditing := d.Audit != nil
	// On SQLite the DSN's _txlock=immediate makes this BEGIN IMMEDIATE: the
	// write lock is the migration lock.
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		if isSQLiteBusy(err) {
			return nil, fmt.Errorf("%w: another process held the SQLite database's write lock for %s (raise --lock-timeout or find the other process)", passkey.ErrLocked, opts.LockTimeout)
		}
		return nil, d.Err("begin", err)
	}
	defer tx.Rollback()
	if d.Dialect == Postgres {
		// Everything here is transaction-scoped (SET LOCAL, the
		// transaction-level advisory lock), so it works behind
		// transaction-pooling proxies. The embedded .sql files name their
		// tables unqualified: search_path puts them in ?schema=.
		if err := d.setLocalSearchPath(ctx, tx); err != nil {
			return nil, err
		}
		// lock_timeout bounds every lock wait of the transaction: the
		// advisory lock and the locks the DDL needs on the app's tables.
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("SET LOCAL lock_timeout = %d", opts.LockTimeout.Milliseconds())); err != nil {
			return nil, d.Err("set lock timeout", err)
		}
		// One lock per database, not per schema: the history schema is
		// shared.
		if _, err := tx.ExecContext(ctx, pgLockSQL); err != nil {
			if isLockTimeout(err) {
				return nil, fmt.Errorf("%w: another passkeyctl migrate held the lock for %s (raise --lock-timeout or find the other process)", passkey.ErrLocked, opts.LockTimeout)
			}
			return nil, d.Err("take migration lock", err)
		}
	}
	p, err := d.makePlan(ctx, tx, fsys, opts.Core)
	if err != nil {
		return nil, appLockError(err, opts.LockTimeout, "nothing was changed")
	}
	res, err := d.checkPlan(p)
	if err != nil {
		return nil, err
	}
	if p.empty() {
		// Nothing to apply; the history of an earlier version still
		// moves out of the app's tables.
		if moved, err := d.moveLegacyHistoryOnly(ctx, tx); err != nil || !moved {
			return res, err
		}
		return res, d.Err("commit migration history", tx.Commit())
	}
	executed, err := d.runPlan(ctx, tx, p, opts)
	if err != nil {
		return nil, appLockError(err, opts.LockTimeout, "nothing was changed")
	}
	res.SQL = append(res.SQL, executed...)
	if res.Variant, err = d.variantNow(ctx, tx); err != nil {
		return nil, err
	}
	entry := d.migrateEntry(p.schema, res)
	if auditing {
		// In the migration's transaction, under its lock: a migration
		// refused or rolled back creates nothing, not even the audit
		// tables.
		if err := d.ensureAudit(ctx, tx); err != nil {
			return nil, err
		}
		if err := d.writeAudit(ctx, tx, entry); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, d.Err("commit migration", err)
	}
	if auditing && d.Audit.Recorded != nil {
		d.Audit.Recorded(*entry)
	}
	return res, nil
}

// migrateEntry is the audit entry of a migration run that did res.
func (d *DB) migrateEntry(s *Schema, res *MigrateResult) *store.AuditEntry {
	if d.Audit == nil {
		return nil
	}
	e := d.Audit.Entry(store.AuditMigrate, "")
	if s != nil {
		e.App = s.description().ID
	}
	if e.App == "" {
		e.App = "authjs"
	}
	e.Migrations = append(slices.Clone(res.Applied), res.Adopted...)
	var parts []string
	if len(res.Applied) > 0 {
		parts = append(parts, "applied "+strings.Join(res.Applied, ", "))
	}
	if len(res.Adopted) > 0 {
		parts = append(parts, "adopted "+strings.Join(res.Adopted, ", "))
	}
	e.SetSummary(strings.Join(parts, "; "))
	return e
}

// recordMigrateMySQL records a MySQL migration run after its steps, which
// MySQL commits one by one: in a transaction of its own.
func (d *DB) recordMigrateMySQL(ctx context.Context, s *Schema, res *MigrateResult) error {
	entry := d.migrateEntry(s, res)
	if entry == nil || entry.Empty() {
		return nil
	}
	return d.inTx(ctx, txOptions{what: "migrate: record", audit: func() *store.AuditEntry { return entry }}, func(context.Context, *sqlx.Tx) error { return nil })
}

// pgLockSQL takes the PostgreSQL migration lock for the current database.
const pgLockSQL = `SELECT pg_advisory_xact_lock(hashtext('passkeyctl migrate ' || current_database()))`

// mysqlLockName is the GET_LOCK name for the database named database.
// GET_LOCK takes at most 64 characters, so the name is hashed (19 + 40).
// It is computed here, not in SQL, because MySQL 9.6 removed SHA1() (and
// SHA() and MD5()); it is the very name earlier versions computed as
// CONCAT('passkeyctl_migrate_', SHA1(DATABASE())), so a migrate of an
// earlier version and one of this version still exclude each other.
func mysqlLockName(database string) string { return mysqlAppLockName("migrate", database) }

// mysqlAppLock takes passkeyctl's GET_LOCK named lock for conn's database,
// waiting at most secs seconds: got is false when another session held it
// that long. release gives it back; it is a no-op when got is false. A
// lock belongs to the session, so conn must be the connection the locked
// work runs on.
func (d *DB) mysqlAppLock(ctx context.Context, conn *sqlx.Conn, lock string, secs int) (got bool, release func(), err error) {
	var database sql.NullString
	if err := conn.QueryRowxContext(ctx, `SELECT DATABASE()`).Scan(&database); err != nil {
		return false, nil, err
	}
	if !database.Valid {
		return false, nil, errors.New("no database selected (name one in the DSN)")
	}
	name := mysqlAppLockName(lock, database.String)
	var n sql.NullInt64
	if err := conn.QueryRowxContext(ctx, `SELECT GET_LOCK(?, ?)`, name, secs).Scan(&n); err != nil {
		return false, nil, err
	}
	if !n.Valid || n.Int64 != 1 {
		return false, func() {}, nil
	}
	// SELECT, not DO: Vitess's vtgate cannot prepare DO statements, and a
	// lock left held would stay on the pooled connection.
	return true, func() {
		conn.QueryRowxContext(context.WithoutCancel(ctx), `SELECT RELEASE_LOCK(?)`, name).Scan(new(sql.NullInt64))
	}, nil
}

// mysqlAppLockName is the GET_LOCK name of passkeyctl's lock on the
// database named database ("migrate", "import"): at most 64 characters, so
// the database name is hashed, in Go, since MySQL 9.6 has no SHA1().
func mysqlAppLockName(lock, database string) string {
	sum := sha1.Sum([]byte(database))
	return "passkeyctl_" + lock + "_" + hex.EncodeToString(sum[:])
}

func (d *DB) variantNow(ctx context.Context, q sqlx.QueryerContext) (Variant, error) {
	s, err := detect(ctx, d.Dialect, q)
	if err != nil {
		return "", d.Err("detect schema", err)
	}
	return s.Variant, nil
}

// isLockTimeout reports whether a statement gave up waiting for a lock:
// PostgreSQL's lock_timeout (55P03), MySQL's lock_wait_timeout or
// innodb_lock_wait_timeout (1205), SQLite's busy timeout.
func isLockTimeout(err error) bool {
	var pe *pq.Error
	var me *mysql.MySQLError
	return errors.As(err, &pe) && pe.Code == "55P03" || errors.As(err, &me) && me.Number == 1205 || isSQLiteBusy(err)
}

// appLockError turns a lock wait that --lock-timeout cut short into one
// line that says what waited and what to do (ErrLocked, exit 1); other
// errors pass unchanged. changed says what the run left behind.
func appLockError(err error, timeout time.Duration, changed string) error {
	if err == nil || !isLockTimeout(err) {
		return err
	}
	return lockWaitError(fmt.Sprintf("another session held a lock that migrate needs (an open transaction or LOCK TABLE on the app's tables, such as User) for longer than --lock-timeout %s; %s; run migrate again once it is released, or raise --lock-timeout", timeout, changed))
}

// lockWaitError is a wait for a lock on the app's tables that
// --lock-timeout cut short: ErrLocked, with a message of its own (the lock
// was not passkeyctl's migration lock).
type lockWaitError string

func (e lockWaitError) Error() string { return string(e) }
func (e lockWaitError) Unwrap() error { return passkey.ErrLocked }

func isSQLiteBusy(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		// SQLITE_BUSY and its extended codes (BUSY_SNAPSHOT...).
		return se.Code()&0xff == 5
	}
	return err != nil && (strings.Contains(err.Error(), "SQLITE_BUSY") || strings.Contains(err.Error(), "database is locked"))
}

// runPlan executes the plan's statements and history rows on q, and
// returns the schema statements it executed (core.sql's excepted).
func (d *DB) runPlan(ctx context.Context, q execQuerier, p *plan, opts MigrateOptions) ([]string, error) {
	if err := d.createHistory(ctx, q); err != nil {
		return nil, err
	}
	if err := d.moveLegacyHistory(ctx, q); err != nil {
		return nil, err
	}
	now := opts.Now().UTC().Truncate(time.Millisecond)
	exec := func(stmt string) error {
		if _, err := q.ExecContext(ctx, stmt); err != nil {
			return d.Err("migration statement failed ("+firstLine(stmt)+")", err)
		}
		if opts.afterStatement != nil {
			return opts.afterStatement(stmt)
		}
		return nil
	}
	record := func(m Migration, kind MigrationState) error {
		del, ins, args := d.recordSQL(m.Name, m.Checksum, string(kind), now)
		if _, err := q.ExecContext(ctx, d.Dialect.Rebind(del), m.Name); err != nil {
			return d.Err("record migration "+m.Name, err)
		}
		if _, err := q.ExecContext(ctx, d.Dialect.Rebind(ins), args...); err != nil {
			return d.Err("record migration "+m.Name, err)
		}
		return nil
	}
	if len(p.core) > 0 {
		for _, stmt := range p.core {
			if err := exec(stmt); err != nil {
				return nil, err
			}
		}
		if err := record(p.coreM, StateApplied); err != nil {
			return nil, err
		}
	}
	var executed []string
	for _, st := range p.steps {
		for _, stmt := range st.stmts {
			if err := exec(stmt); err != nil {
				return nil, err
			}
			executed = append(executed, stmt)
		}
		if err := record(st.m, StateApplied); err != nil {
			return nil, err
		}
	}
	for _, m := range p.adopt {
		if err := record(m, StateAdopted); err != nil {
			return nil, err
		}
	}
	return executed, nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
}

// migrateMySQL holds GET_LOCK on one pinned connection while it runs the
// steps. Each step is idempotent (core.sql's CREATE TABLE IF NOT EXISTS) or
// one atomic CREATE TABLE that a re-run adopts, so a crash half-way leaves a
// state that the next run completes without any manual step.
func (d *DB) migrateMySQL(ctx context.Context, conn *sqlx.Conn, fsys fs.FS, opts MigrateOptions) (*MigrateResult, error) {
	secs := int(opts.LockTimeout.Round(time.Second).Seconds())
	if secs < 1 {
		secs = 1
	}
	got, release, err := d.mysqlAppLock(ctx, conn, "migrate", secs)
	if err != nil {
		return nil, d.Err("take migration lock", err)
	}
	if !got {
		return nil, fmt.Errorf("%w: another passkeyctl migrate held the lock for %s (GET_LOCK timed out; raise --lock-timeout or find the other process)", passkey.ErrLocked, opts.LockTimeout)
	}
	defer release()
	// A session variable on the pinned connection bounds the metadata
	// lock waits of the DDL (another session's LOCK TABLES or open
	// transaction on User). Session state is fine here: MySQL is not put
	// behind transaction-pooling proxies, and this one connection runs
	// the whole migration; it is reset before the connection goes back to
	// the pool.
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("SET SESSION lock_wait_timeout = %d", secs)); err != nil {
		return nil, d.Err("set lock wait timeout", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SET SESSION lock_wait_timeout = DEFAULT")
	p, err := d.makePlan(ctx, conn, fsys, opts.Core)
	if err != nil {
		return nil, appLockError(err, opts.LockTimeout, "nothing was changed")
	}
	res, err := d.checkPlan(p)
	if err != nil {
		return nil, err
	}
	if p.empty() {
		// Nothing to apply; the history of an earlier version still
		// moves out of the app's tables.
		_, err := d.moveLegacyHistoryOnly(ctx, conn)
		return res, err
	}
	if len(p.core) > 0 {
		// After the core tables exist, plan again: the Authenticator DDL
		// repeats User.id's exact type, which only now can be read.
		core := &plan{schema: p.schema, history: p.history, coreM: p.coreM, core: p.core}
		if _, err := d.runPlan(ctx, conn, core, opts); err != nil {
			return nil, appLockError(err, opts.LockTimeout, "the steps before it stay recorded (MySQL commits each DDL statement)")
		}
		if p, err = d.makePlan(ctx, conn, fsys, false); err != nil {
			return nil, err
		}
		if _, err := d.checkPlan(p); err != nil {
			return nil, err
		}
	}
	executed, err := d.runPlan(ctx, conn, p, opts)
	if err != nil {
		return nil, appLockError(err, opts.LockTimeout, "the steps before it stay recorded (MySQL commits each DDL statement)")
	}
	res.SQL = append(res.SQL, executed...)
	if res.Variant, err = d.variantNow(ctx, conn); err != nil {
		return nil, err
	}
	if err := d.recordMigrateMySQL(ctx, p.schema, res); err != nil {
		return nil, fmt.Errorf("%w (the migration itself is applied and recorded in its history)", err)
	}
	return res, nil
}

// DownPlan is what `migrate down` would drop.
type DownPlan struct {
	// Table is the Authenticator table's name.
	Table string
	// Rows is how many passkeys it held when the plan was made.
	Rows int64
	// Records, when the caller read them, are the export records of those
	// passkeys: the audit entry keeps them.
	Records []passkey.ExportRecord
}

// MigrateDownPlan finds the Authenticator table and counts its rows.
func (d *DB) MigrateDownPlan(ctx context.Context) (DownPlan, error) {
	s, err := d.Detect(ctx)
	if err != nil {
		return DownPlan{}, d.Err("detect schema", err)
	}
	if s.Authenticator == nil {
		_, _, _, _, name := s.TableNames()
		return DownPlan{}, fmt.Errorf("table %s: %w (nothing to drop)", name, passkey.ErrNotFound)
	}
	p := DownPlan{Table: s.Authenticator.Name}
	if err := d.X.GetContext(ctx, &p.Rows, "SELECT COUNT(*) FROM "+d.Q(p.Table)); err != nil {
		return DownPlan{}, d.Err("count passkeys", err)
	}
	return p, nil
}

// MigrateDown drops the Authenticator table and forgets the migrations that
// created or adopted it, in one transaction where the database allows. It
// refuses with ErrConflict when the table no longer holds p.Rows rows: the
// operator confirmed a different table.
func (d *DB) MigrateDown(ctx context.Context, p DownPlan) error {
	var entry *store.AuditEntry
	if d.Audit != nil {
		entry = d.Audit.Entry(store.AuditMigrateDown, fmt.Sprintf("dropped table %s holding %d passkey(s)", p.Table, p.Rows))
		entry.App = "authjs"
		entry.Migrations = []string{authenticatorMigration}
		entry.AddRemoved(p.Records...)
	}
	return d.inTx(ctx, txOptions{what: "migrate down", attach: true, audit: func() *store.AuditEntry { return entry }}, func(ctx context.Context, tx *sqlx.Tx) error {
		return d.migrateDownTx(ctx, tx, p)
	})
}

func (d *DB) migrateDownTx(ctx context.Context, tx *sqlx.Tx, p DownPlan) error {
	// The history rows below are those of ?schema= (current_schema()).
	if err := d.setLocalSearchPath(ctx, tx); err != nil {
		return err
	}
	if d.Dialect == Postgres {
		// No passkey may be written between the count and the DROP.
		if _, err := tx.ExecContext(ctx, "LOCK TABLE "+d.Q(p.Table)+" IN ACCESS EXCLUSIVE MODE"); err != nil {
			return d.Err("lock "+p.Table, err)
		}
	}
	var rows int64
	if err := tx.GetContext(ctx, &rows, "SELECT COUNT(*) FROM "+d.Q(p.Table)); err != nil {
		return d.Err("count passkeys", err)
	}
	if rows != p.Rows {
		return fmt.Errorf("%w: %s now holds %d passkey(s), not %d as when you confirmed; nothing was changed, run the command again", passkey.ErrConflict, p.Table, rows, p.Rows)
	}
	// The history rows go first: on MySQL the DROP commits implicitly, and
	// a crash after it must not leave a history that claims the table.
	current, legacy, err := d.historyExists(ctx, tx)
	if err != nil {
		return d.Err("read migration history", err)
	}
	forget := func(table, key string) error {
		q := "DELETE FROM " + table + " WHERE " + d.Q("name") + " <> ?"
		if key != "" {
			q += " AND " + key
		}
		_, err := tx.ExecContext(ctx, d.Dialect.Rebind(q), CoreMigration)
		return d.Err("update migration history", err)
	}
	if current {
		if err := forget(d.historyTable(), d.historyKey()); err != nil {
			return err
		}
	}
	if legacy {
		if err := forget(d.Q(legacyHistoryTable), ""); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, "DROP TABLE "+d.Q(p.Table)); err != nil {
		return d.Err("drop "+p.Table, err)
	}
	return nil
}
