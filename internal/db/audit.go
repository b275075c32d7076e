package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// passkeyctl's audit log on SQL is two tables in passkeyctl's own place
// beside the app's, never in the app's own namespace, where Prisma's
// `migrate dev` would report them as drift (and offer to reset the
// database) and `drizzle-kit push` would offer to drop them:
//
//   - PostgreSQL: the schema passkeyctl (beside schema_migrations), each row
//     keyed by the app's schema;
//   - MySQL and MariaDB: the database passkeyctl on the same server, each
//     row keyed by the app's database; InnoDB commits one transaction
//     across both databases atomically;
//   - SQLite: the file beside the app's, named as it with "-passkeyctl"
//     appended, attached as schema passkeyctl to the connection of each
//     write. One transaction spans both files; SQLite commits it atomically
//     across them in its default rollback-journal mode, and file by file in
//     WAL mode (where a crash between the two commits could keep the change
//     without its entry: the README says so).
//
// Each change is written in the transaction that makes it (txOptions.audit),
// so that a change that rolls back records nothing and none commits
// without its entry.
const auditSchema = "passkeyctl"

// auditInAppPrefix names the MySQL fallback's tables in the app's own
// database (see ensureAudit).
const auditInAppPrefix = "_passkeyctl_"

// auditTable is one of passkeyctl's audit tables, qualified and quoted.
func (d *DB) auditTable(name string) string {
	if d.ownInApp.Load() {
		return d.Dialect.Quote(auditInAppPrefix + name)
	}
	return d.Dialect.Quote(auditSchema) + "." + d.Dialect.Quote(name)
}

// AuditWhere says where the audit log of d lives, for messages and docs.
func (d *DB) AuditWhere() string {
	switch {
	case d.ownInApp.Load():
		return "the app's database (tables _passkeyctl_audit_log, _passkeyctl_audit_passkeys)"
	case d.Dialect == Postgres:
		return "PostgreSQL schema passkeyctl (tables audit_log, audit_passkeys)"
	case d.Dialect == MySQL:
		return "database passkeyctl on the same server (tables audit_log, audit_passkeys)"
	}
	return "SQLite file " + d.auditFile()
}

// auditFile is the SQLite file of the audit log.
func (d *DB) auditFile() string {
	p := d.Target.SQLitePath
	if p == "" || strings.Contains(p, ":memory:") {
		return ":memory:"
	}
	return p + "-passkeyctl"
}

// auditTarget is the SQL expression (with its arguments) that keys rows to
// the app's place: its PostgreSQL schema, its MySQL database.
func (d *DB) auditTarget() (string, []any) {
	switch d.Dialect {
	case Postgres:
		if d.Target.SearchPath != "" {
			return "?", []any{d.Target.SearchPath}
		}
		return "current_schema()", nil
	case MySQL:
		return "DATABASE()", nil
	}
	return "'main'", nil
}

func (d *DB) createAuditSQL() []string {
	switch d.Dialect {
	case Postgres:
		return []string{
			`CREATE SCHEMA IF NOT EXISTS passkeyctl`,
			`CREATE TABLE IF NOT EXISTS passkeyctl.audit_log (id BIGSERIAL PRIMARY KEY, target TEXT NOT NULL, at TIMESTAMPTZ NOT NULL, actor TEXT NOT NULL, reason TEXT NOT NULL, command TEXT NOT NULL, action TEXT NOT NULL, app TEXT NOT NULL, undoes BIGINT, summary TEXT NOT NULL, detail TEXT NOT NULL)`,
			`CREATE INDEX IF NOT EXISTS audit_log_target_at ON passkeyctl.audit_log (target, at)`,
			// No foreign key to audit_log and IDs in the "C" collation:
			// an import of 100,000 passkeys writes as many rows, whose
			// foreign-key checks and en_US index comparisons cost 0.4 s
			// more (the rows and their entry are written in one
			// transaction; nothing deletes one without the other).
			`CREATE TABLE IF NOT EXISTS passkeyctl.audit_passkeys (entry_id BIGINT NOT NULL, seq INT NOT NULL, kind TEXT NOT NULL, credential_id TEXT COLLATE "C" NOT NULL, user_id TEXT COLLATE "C" NOT NULL, record TEXT, PRIMARY KEY (entry_id, seq))`,
			`CREATE INDEX IF NOT EXISTS audit_passkeys_credential ON passkeyctl.audit_passkeys (credential_id)`,
		}
	case MySQL:
		return []string{
			"CREATE DATABASE IF NOT EXISTS `passkeyctl` DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
			"CREATE TABLE IF NOT EXISTS `passkeyctl`.`audit_log` (`id` BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, `target` VARCHAR(191) NOT NULL, `at` DATETIME(3) NOT NULL, `actor` TEXT NOT NULL, `reason` TEXT NOT NULL, `command` TEXT NOT NULL, `action` VARCHAR(32) NOT NULL, `app` VARCHAR(32) NOT NULL, `undoes` BIGINT NULL, `summary` TEXT NOT NULL, `detail` LONGTEXT NOT NULL, KEY `audit_log_target_at` (`target`, `at`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
			"CREATE TABLE IF NOT EXISTS `passkeyctl`.`audit_passkeys` (`entry_id` BIGINT NOT NULL, `seq` INT NOT NULL, `kind` VARCHAR(16) NOT NULL, `credential_id` VARCHAR(1024) NOT NULL, `user_id` VARCHAR(255) NOT NULL, `record` LONGTEXT NULL, PRIMARY KEY (`entry_id`, `seq`), KEY `audit_passkeys_credential` (`credential_id`(191)), FOREIGN KEY (`entry_id`) REFERENCES `audit_log` (`id`) ON DELETE CASCADE) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
		}
	}
	return []string{
		`CREATE TABLE IF NOT EXISTS passkeyctl."audit_log" ("id" INTEGER PRIMARY KEY AUTOINCREMENT, "target" TEXT NOT NULL, "at" TEXT NOT NULL, "actor" TEXT NOT NULL, "reason" TEXT NOT NULL, "command" TEXT NOT NULL, "action" TEXT NOT NULL, "app" TEXT NOT NULL, "undoes" INTEGER, "summary" TEXT NOT NULL, "detail" TEXT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS passkeyctl."audit_passkeys" ("entry_id" INTEGER NOT NULL, "seq" INTEGER NOT NULL, "kind" TEXT NOT NULL, "credential_id" TEXT NOT NULL, "user_id" TEXT NOT NULL, "record" TEXT, PRIMARY KEY ("entry_id", "seq"))`,
		`CREATE INDEX IF NOT EXISTS passkeyctl."audit_passkeys_credential" ON "audit_passkeys" ("credential_id")`,
	}
}

// auditExists reports whether the audit tables are there (on SQLite, in
// the file attached to q). On MySQL it also finds the fallback's tables in
// the app's database, and then uses them.
func (d *DB) auditExists(ctx context.Context, q sqlx.QueryerContext) (bool, error) {
	var n int
	var err error
	switch d.Dialect {
	case Postgres:
		err = sqlx.GetContext(ctx, q, &n, `SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = 'passkeyctl' AND tablename = 'audit_passkeys'`)
	case MySQL:
		var where string
		err = sqlx.GetContext(ctx, q, &where, `SELECT COALESCE(MAX(CASE WHEN table_schema = 'passkeyctl' THEN 'passkeyctl' ELSE 'app' END), '') FROM information_schema.tables WHERE (table_schema = 'passkeyctl' AND table_name = 'audit_passkeys') OR (table_schema = DATABASE() AND table_name = '`+auditInAppPrefix+`audit_passkeys')`)
		if where != "" {
			n = 1
			d.ownInApp.Store(where == "app")
		}
	default:
		var attached bool
		if attached, err = d.sqliteAttached(ctx, q); err == nil && attached {
			err = sqlx.GetContext(ctx, q, &n, `SELECT count(*) FROM passkeyctl.sqlite_master WHERE type = 'table' AND name = 'audit_passkeys'`)
		}
	}
	return n > 0, err
}

// EnsureAudit creates the audit tables when they are missing (migrate
// calls it, so that a role that may only write rows can record). On SQLite
// q is a connection the audit file is attached to.
func (d *DB) ensureAudit(ctx context.Context, q execQuerier) error {
	ok, err := d.auditExists(ctx, q)
	if err != nil {
		return d.Err("audit log: look for "+d.AuditWhere(), err)
	}
	if ok {
		return nil
	}
	for i := 0; i < len(d.createAuditSQL()); i++ {
		stmt := d.createAuditSQL()[i]
		if _, err := q.ExecContext(ctx, stmt); err != nil {
			// Another passkeyctl may be creating them at the same moment:
			// two CREATE ... IF NOT EXISTS at once collide on PostgreSQL
			// (a unique violation in its catalog). Wait for it and go on.
			if ok, _ := d.auditExists(ctx, q); ok {
				return nil
			}
			if isCatalogRace(err) && ctx.Err() == nil {
				time.Sleep(100 * time.Millisecond)
				i--
				continue
			}
			if d.Dialect == MySQL && isAccessDenied(err) {
				// Managed MySQL (PlanetScale, most hosting) often grants one
				// database and no CREATE DATABASE: the log goes into the
				// app's database rather than no change being possible.
				return d.createAuditInApp(ctx, q, err)
			}
			return fmt.Errorf("%w: nothing was changed; run `passkeyctl migrate` once as a role that may create it (migrate creates passkeyctl's own tables), or grant this one that right", d.Err("audit log: cannot create "+d.AuditWhere()+" to record the change", err))
		}
	}
	return nil
}

// createAuditInApp is ensureAudit's MySQL fallback when the database
// passkeyctl cannot be created (denied): the audit tables in the app's own
// database, prefixed, with a warning that says what that costs and how to
// move them.
func (d *DB) createAuditInApp(ctx context.Context, q execQuerier, denied error) error {
	d.ownInApp.Store(true)
	stmts := []string{
		"CREATE TABLE IF NOT EXISTS `_passkeyctl_audit_log` (`id` BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, `target` VARCHAR(191) NOT NULL, `at` DATETIME(3) NOT NULL, `actor` TEXT NOT NULL, `reason` TEXT NOT NULL, `command` TEXT NOT NULL, `action` VARCHAR(32) NOT NULL, `app` VARCHAR(32) NOT NULL, `undoes` BIGINT NULL, `summary` TEXT NOT NULL, `detail` LONGTEXT NOT NULL, KEY `audit_log_target_at` (`target`, `at`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
		"CREATE TABLE IF NOT EXISTS `_passkeyctl_audit_passkeys` (`entry_id` BIGINT NOT NULL, `seq` INT NOT NULL, `kind` VARCHAR(16) NOT NULL, `credential_id` VARCHAR(1024) NOT NULL, `user_id` VARCHAR(255) NOT NULL, `record` LONGTEXT NULL, PRIMARY KEY (`entry_id`, `seq`), KEY `audit_passkeys_credential` (`credential_id`(191))) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
	}
	for _, stmt := range stmts {
		if _, err := q.ExecContext(ctx, stmt); err != nil {
			d.ownInApp.Store(false)
			return fmt.Errorf("%w: nothing was changed; grant this user CREATE on passkeyctl.* (or on this database)", d.Err("audit log: cannot create the database passkeyctl ("+d.Target.Scrub(denied.Error())+") nor the audit tables in the app's database", err))
		}
	}
	if d.Audit != nil && d.Audit.Warn != nil {
		d.Audit.Warn("the audit log is kept in the app's own database (tables _passkeyctl_audit_log, _passkeyctl_audit_passkeys): this user may not create the database passkeyctl, where it stays out of sight of Prisma and drizzle-kit, which will report these tables as drift. To move it: CREATE DATABASE passkeyctl and GRANT ALL ON passkeyctl.* to this user (see README, The audit log)")
	}
	return nil
}

// EnsureAudit creates the audit tables when they are missing.
func (d *DB) EnsureAudit(ctx context.Context) error {
	if d.Dialect != SQLite {
		return d.ensureAudit(ctx, d.X)
	}
	conn, err := d.X.Connx(ctx)
	if err != nil {
		return d.Err("audit log: connect", err)
	}
	defer conn.Close()
	if err := d.attachAudit(ctx, conn); err != nil {
		return err
	}
	return d.ensureAudit(ctx, conn)
}

// attachAudit attaches the SQLite file of passkeyctl's own tables to conn,
// creating it if need be (see attachOwn).
func (d *DB) attachAudit(ctx context.Context, conn *sqlx.Conn) error {
	return d.attachOwn(ctx, conn, true)
}

// attachOwn attaches the SQLite file of passkeyctl's own tables (the audit
// log, the migration history) to conn as schema passkeyctl, unless it
// already is (a pooled connection keeps it). Without create, a file that
// does not exist is left alone: reading creates nothing.
func (d *DB) attachOwn(ctx context.Context, conn *sqlx.Conn, create bool) error {
	if file := d.auditFile(); !create && file != ":memory:" {
		if _, err := os.Stat(file); err != nil {
			return nil
		}
	}
	var names []string
	rows, err := conn.QueryxContext(ctx, `SELECT name FROM pragma_database_list`)
	if err != nil {
		return d.Err("audit log: list attached databases", err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return d.Err("audit log: list attached databases", err)
		}
		names = append(names, n)
	}
	rows.Close()
	for _, n := range names {
		if n == auditSchema {
			return nil
		}
	}
	if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS passkeyctl`, d.auditFile()); err != nil {
		return d.Err("audit log: attach "+d.auditFile(), err)
	}
	return nil
}

// auditEntry starts the audit entry of a change to s's passkeys; nil when
// d records nothing (no AuditContext: a library caller, a test).
func (d *DB) auditEntry(s *Schema, action, summary string) *store.AuditEntry {
	if d.Audit == nil {
		return nil
	}
	e := d.Audit.Entry(action, summary)
	if s != nil {
		e.App = s.description().ID
	}
	return e
}

// enrolEntry is the audit entry of passkey p enrolled for userID.
func (d *DB) enrolEntry(s *Schema, p store.NewPasskey, userID string, email *string) *store.AuditEntry {
	id := passkey.Base64URL(p.CredentialID)
	e := d.auditEntry(s, store.AuditEnroll, "enrolled passkey "+id)
	if e != nil {
		e.Added = append(e.Added, store.AuditPasskey{CredentialID: id, UserID: userID})
		e.AddUser(userID, email)
	}
	return e
}

// auditDetail is what an entry's detail column holds: everything but its
// passkeys, which are rows of audit_passkeys.
type auditDetail struct {
	Users           []store.AuditUser     `json:"users"`
	Renamed         []store.AuditRenamed  `json:"renamed"`
	Migrations      []string              `json:"migrations,omitempty"`
	Sessions        int64                 `json:"sessions,omitempty"`
	OrphanAccounts  []store.Orphan        `json:"orphanAccounts,omitempty"`
	DanglingEntries []store.DanglingEntry `json:"danglingEntries,omitempty"`
}

// Kinds of audit_passkeys rows.
const (
	auditRemoved = "removed"
	auditAdded   = "added"
	auditUpdated = "updated"
)

// writeAudit records e in tx and sets its ID.
func (d *DB) writeAudit(ctx context.Context, tx *sqlx.Tx, e *store.AuditEntry) error {
	detail, err := json.Marshal(auditDetail{Users: e.Users, Renamed: e.Renamed, Migrations: e.Migrations, Sessions: e.Sessions, OrphanAccounts: e.OrphanAccounts, DanglingEntries: e.DanglingEntries})
	if err != nil {
		return err
	}
	target, targetArgs := d.auditTarget()
	var at any = e.Time
	if d.Dialect == SQLite {
		at = e.Time.UTC().Format(timeFormatMillis)
	}
	var undoes any
	if e.Undoes != 0 {
		undoes = e.Undoes
	}
	args := append(targetArgs, at, e.Actor, e.Reason, e.Command, e.Action, e.App, undoes, e.Summary, string(detail))
	insert := `INSERT INTO ` + d.auditTable("audit_log") + ` (` + d.quoteList("target", "at", "actor", "reason", "command", "action", "app", "undoes", "summary", "detail") + `) VALUES (` + target + `, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	if d.Dialect == Postgres {
		err = tx.GetContext(ctx, &e.ID, d.Dialect.Rebind(insert+` RETURNING id`), args...)
	} else {
		var res sql.Result
		if res, err = tx.ExecContext(ctx, d.Dialect.Rebind(insert), args...); err == nil {
			e.ID, err = res.LastInsertId()
		}
	}
	if err != nil {
		return d.Err("audit log: record the change", err)
	}
	// Through COPY on PostgreSQL (writeRows): an import of 100,000
	// passkeys records as many rows.
	return d.writeRowsInto(ctx, tx, d.auditTable("audit_passkeys"), "audit_passkeys", []string{"entry_id", "seq", "kind", "credential_id", "user_id", "record"}, "audit log: record the change", func(w rowWriter) error {
		seq := int64(0)
		row := func(kind, cred, user string, record sql.NullString) error {
			seq++
			w.int(e.ID)
			w.int(seq)
			w.str(kind)
			w.str(cred)
			w.str(user)
			w.nullString(record)
			return w.endRow()
		}
		for _, r := range e.Removed {
			js, err := json.Marshal(r)
			if err != nil {
				return err
			}
			if err := row(auditRemoved, r.CredentialID, r.User.ID, sql.NullString{String: string(js), Valid: true}); err != nil {
				return err
			}
		}
		for _, p := range e.Added {
			if err := row(auditAdded, p.CredentialID, p.UserID, sql.NullString{}); err != nil {
				return err
			}
		}
		for _, p := range e.Updated {
			// The record of an update is its flags before and after.
			var record sql.NullString
			if p.Before != nil && p.After != nil {
				js, err := json.Marshal(auditUpdate{Before: *p.Before, After: *p.After})
				if err != nil {
					return err
				}
				record = sql.NullString{String: string(js), Valid: true}
			}
			if err := row(auditUpdated, p.CredentialID, p.UserID, record); err != nil {
				return err
			}
		}
		return nil
	})
}

// AuditLog calls fn with the entries of the audit log of d's app (its
// schema or database) that f selects, oldest first. A log never written
// has no entries.
func (d *DB) AuditLog(ctx context.Context, f store.AuditFilter, fn func(store.AuditEntry) error) error {
	// reading: on SQLite, a connection with the log's file attached when
	// it exists.
	return d.reading(ctx, func(q sqlx.QueryerContext) error { return d.auditLog(ctx, q, f, fn) })
}

func (d *DB) auditLog(ctx context.Context, q sqlx.QueryerContext, f store.AuditFilter, fn func(store.AuditEntry) error) error {
	if ok, err := d.auditExists(ctx, q); err != nil || !ok {
		return d.Err("audit log: look for "+d.AuditWhere(), err)
	}
	target, args := d.auditTarget()
	query := `SELECT ` + d.quoteList("id", "at", "actor", "reason", "command", "action", "app", "undoes", "summary", "detail") + ` FROM ` + d.auditTable("audit_log") + ` WHERE ` + d.Q("target") + ` = ` + target + ` AND ` + d.Q("id") + ` > ?`
	args = append(args, f.After)
	if f.ID != 0 {
		query += ` AND ` + d.Q("id") + ` = ?`
		args = append(args, f.ID)
	}
	// The entries that may touch a credential: those with a passkey row
	// of it, and renames (which keep theirs in detail). The entries'
	// passkeys are read further down: f.Match checks the credential once
	// they are, early holds the checks that need no passkeys.
	early := f
	if f.Credential != "" {
		query += ` AND (` + d.Q("id") + ` IN (SELECT ` + d.Q("entry_id") + ` FROM ` + d.auditTable("audit_passkeys") + ` WHERE ` + d.Q("credential_id") + ` = ?) OR ` + d.Q("action") + ` = ?)`
		args = append(args, f.Credential, store.AuditRename)
		early.Credential = ""
	}
	query += ` ORDER BY ` + d.Q("id")
	rows, err := q.QueryxContext(ctx, d.Dialect.Rebind(query), args...)
	if err != nil {
		return d.Err("audit log: read", err)
	}
	var entries []store.AuditEntry
	for rows.Next() {
		var e store.AuditEntry
		var at any
		var undoes sql.NullInt64
		var detail string
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Reason, &e.Command, &e.Action, &e.App, &undoes, &e.Summary, &detail); err != nil {
			rows.Close()
			return d.Err("audit log: read", err)
		}
		e.Time, e.Undoes = parseTime(at), undoes.Int64
		var dt auditDetail
		if err := json.Unmarshal([]byte(detail), &dt); err != nil {
			rows.Close()
			return fmt.Errorf("audit log: entry %d: %v", e.ID, err)
		}
		e.Users, e.Renamed, e.Migrations, e.Sessions, e.OrphanAccounts, e.DanglingEntries = dt.Users, dt.Renamed, dt.Migrations, dt.Sessions, dt.OrphanAccounts, dt.DanglingEntries
		if early.Match(&e) {
			entries = append(entries, e)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return d.Err("audit log: read", err)
	}
	if len(entries) == 0 {
		return nil
	}
	// The entries' passkey rows in one query, in entry order, read
	// alongside the entries (not a query per entry): rows of entries the
	// filter left out are skipped.
	target, args = d.auditTarget()
	args = append([]any{entries[0].ID, entries[len(entries)-1].ID}, args...)
	query = `SELECT ` + d.quoteList("entry_id", "kind", "credential_id", "user_id", "record") + ` FROM ` + d.auditTable("audit_passkeys") +
		` WHERE ` + d.Q("entry_id") + ` BETWEEN ? AND ? AND ` + d.Q("entry_id") + ` IN (SELECT ` + d.Q("id") + ` FROM ` + d.auditTable("audit_log") +
		` WHERE ` + d.Q("target") + ` = ` + target + `)`
	if f.Credential != "" {
		// Only the entries of the credential: between its first and its
		// last entry may lie every row of the imports in between.
		query += ` AND ` + d.Q("entry_id") + ` IN (SELECT ` + d.Q("entry_id") + ` FROM ` + d.auditTable("audit_passkeys") + ` WHERE ` + d.Q("credential_id") + ` = ?)`
		args = append(args, f.Credential)
	}
	query += ` ORDER BY ` + d.Q("entry_id") + `, ` + d.Q("seq")
	rows, err = q.QueryxContext(ctx, d.Dialect.Rebind(query), args...)
	if err != nil {
		return d.Err("audit log: read", err)
	}
	defer rows.Close()
	pending := rows.Next()
	for i := range entries {
		e := &entries[i]
		e.Removed, e.Added, e.Updated = []passkey.ExportRecord{}, []store.AuditPasskey{}, []store.AuditPasskey{}
		if e.Users == nil {
			e.Users = []store.AuditUser{}
		}
		if e.Renamed == nil {
			e.Renamed = []store.AuditRenamed{}
		}
		for ; pending; pending = rows.Next() {
			var id int64
			var kind, cred, user string
			var record sql.NullString
			if err := rows.Scan(&id, &kind, &cred, &user, &record); err != nil {
				return d.Err("audit log: read", err)
			}
			if id > e.ID {
				break
			}
			if id == e.ID {
				if err := addAuditPasskey(e, kind, cred, user, record); err != nil {
					return err
				}
			}
		}
		if err := rows.Err(); err != nil {
			return d.Err("audit log: read", err)
		}
		if !f.Match(e) {
			continue
		}
		if err := fn(*e); err != nil {
			return err
		}
	}
	return nil
}

// addAuditPasskey adds one audit_passkeys row to e.
func addAuditPasskey(e *store.AuditEntry, kind, cred, user string, record sql.NullString) error {
	switch kind {
	case auditRemoved:
		var r passkey.ExportRecord
		if err := json.Unmarshal([]byte(record.String), &r); err != nil {
			return fmt.Errorf("audit log: entry %d: %v", e.ID, err)
		}
		e.Removed = append(e.Removed, r)
	case auditAdded:
		e.Added = append(e.Added, store.AuditPasskey{CredentialID: cred, UserID: user})
	case auditUpdated:
		p := store.AuditPasskey{CredentialID: cred, UserID: user}
		if record.Valid {
			var u auditUpdate
			if err := json.Unmarshal([]byte(record.String), &u); err != nil {
				return fmt.Errorf("audit log: entry %d: %v", e.ID, err)
			}
			p.Before, p.After = &u.Before, &u.After
		}
		e.Updated = append(e.Updated, p)
	}
	return nil
}

// auditUpdate is the record of an audit_passkeys row of a passkey an
// import updated (NULL in entries written before passkeyctl kept it).
type auditUpdate struct {
	Before store.AuditFlags `json:"before"`
	After  store.AuditFlags `json:"after"`
}

// quoteList quotes column names and joins them with commas.
func (d *DB) quoteList(cols ...string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = d.Dialect.Quote(c)
	}
	return strings.Join(q, ", ")
}

// isAccessDenied reports whether err is MySQL refusing a privilege: access
// to a database (1044), a command (1142, 1227).
func isAccessDenied(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1044, 1142, 1227:
			return true
		}
	}
	return false
}

// isCatalogRace reports whether err is PostgreSQL refusing a CREATE ... IF
// NOT EXISTS that another session's concurrent CREATE of the same object
// won (23505 in pg_namespace or pg_type, 42P07 relation, 42P06 schema,
// 42710 the table's row type).
func isCatalogRace(err error) bool {
	var pe *pq.Error
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505", "42P07", "42P06", "42710":
			return true
		}
	}
	return false
}
