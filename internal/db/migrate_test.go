package db_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
	"github.com/passkeyctl/passkeyctl/schema"
)

// The migrator conformance suite: every test runs against PostgreSQL,
// MariaDB and SQLite, each in a fresh database dropped afterwards.

var ctx = context.Background()

func migrations(t testing.TB, d *db.DB) fs.FS {
	t.Helper()
	fsys, err := schema.FS(d.Dialect.Name)
	if err != nil {
		t.Fatal(err)
	}
	return fsys
}

var authenticatorBlock = regexp.MustCompile(`(?s)-- AUTHENTICATOR\n.*?-- END AUTHENTICATOR\n`)

// loadDDL runs testdata/<variant>.<dialect>.sql. Without the Authenticator
// table, the -- AUTHENTICATOR blocks are left out.
func loadDDL(t *testing.T, d *db.DB, variant string, withAuthenticator bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", variant+"."+d.Dialect.Name+".sql"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if !withAuthenticator {
		text = authenticatorBlock.ReplaceAllString(text, "")
	}
	dbtest.Exec(t, d, db.SplitStatements(text)...)
}

// tables lists the database's tables (passkeyctl's own included).
func migTables(t *testing.T, d *db.DB) []string {
	t.Helper()
	var q string
	switch d.Dialect {
	case db.Postgres:
		q = `SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`
	case db.MySQL:
		q = `SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1`
	default:
		q = `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1`
	}
	var out []string
	if err := d.X.SelectContext(ctx, &out, q); err != nil {
		t.Fatal(err)
	}
	return out
}

type migHistoryRow struct {
	Name, Checksum, Kind string
}

// history reads passkeyctl's history rows for the current schema, in
// passkeyctl's own place: the PostgreSQL schema or MySQL database
// passkeyctl, the SQLite file next to the app's. No legacy table may be
// left in the app's namespace.
func migHistory(t *testing.T, d *db.DB) []migHistoryRow {
	t.Helper()
	if slices.Contains(migTables(t, d), "_passkeyctl_migrations") {
		t.Errorf("the migration history is in the app's namespace (_passkeyctl_migrations)")
	}
	q := `SELECT name, checksum, kind FROM passkeyctl.schema_migrations WHERE target_schema = current_schema() ORDER BY name`
	exists := `SELECT to_regclass('passkeyctl.schema_migrations') IS NOT NULL`
	x := d.X
	switch d.Dialect {
	case db.MySQL:
		q = "SELECT name, checksum, kind FROM `passkeyctl`.`schema_migrations` WHERE target_schema = DATABASE() ORDER BY name"
		exists = `SELECT COUNT(*) > 0 FROM information_schema.tables WHERE table_schema = 'passkeyctl' AND table_name = 'schema_migrations'`
	case db.SQLite:
		file := d.Target.SQLitePath + "-passkeyctl"
		if _, err := os.Stat(file); err != nil {
			return nil
		}
		x = dbtest.Open(t, "sqlite:"+file).X
		q = `SELECT name, checksum, kind FROM schema_migrations ORDER BY name`
		exists = `SELECT COUNT(*) > 0 FROM sqlite_master WHERE name = 'schema_migrations'`
	}
	var ok bool
	if err := x.GetContext(ctx, &ok, exists); err != nil {
		t.Fatal(err)
	}
	if !ok {
		return nil
	}
	rows, err := x.QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []migHistoryRow
	for rows.Next() {
		var r migHistoryRow
		if err := rows.Scan(&r.Name, &r.Checksum, &r.Kind); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func migHistoryKinds(rows []migHistoryRow) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.Name+"="+r.Kind)
	}
	return out
}

func migDetect(t *testing.T, d *db.DB) *db.Schema {
	t.Helper()
	s, err := d.Detect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func migStatus(t *testing.T, d *db.DB) *db.Status {
	t.Helper()
	st, err := d.MigrationStatus(ctx, migrations(t, d))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func migRun(t *testing.T, d *db.DB, opts db.MigrateOptions) *db.MigrateResult {
	t.Helper()
	res, err := d.Migrate(ctx, migrations(t, d), opts)
	if err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return res
}

func TestMigrate_fresh(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		d := dbtest.Open(t, dsn)
		now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		res := migRun(t, d, db.MigrateOptions{Core: true, Now: func() time.Time { return now }})
		if want := []string{"core.sql", "0001_authenticator.sql"}; !slices.Equal(res.Applied, want) {
			t.Errorf("applied %v, want %v", res.Applied, want)
		}
		// The result says what exists now, not what existed before.
		if res.Variant != db.VariantCurrent || res.Naming != db.NamingPrisma {
			t.Errorf("result variant %q naming %q, want current prisma", res.Variant, res.Naming)
		}
		if len(res.Adopted) != 0 || res.DryRun {
			t.Errorf("adopted %v dryRun %v", res.Adopted, res.DryRun)
		}
		s := migDetect(t, d)
		if s.Variant != db.VariantCurrent || len(s.Drift) > 0 || len(s.Warnings) > 0 {
			t.Fatalf("variant %q drift %v warnings %v", s.Variant, s.Drift, s.Warnings)
		}
		// The keys Auth.js's schema has, as each dialect's introspection
		// reports them.
		a := s.Authenticator
		if pk := a.PrimaryKey(); !slices.Equal(pk, []string{"userId", "credentialID"}) {
			t.Errorf("primary key %v", pk)
		}
		if !a.IsUnique("credentialID") {
			t.Error("credentialID not unique")
		}
		if len(a.ForeignKeys) != 1 || a.ForeignKeys[0].RefTable != "User" || a.ForeignKeys[0].OnDelete != "CASCADE" ||
			!slices.Equal(a.ForeignKeys[0].Columns, []string{"userId"}) || !slices.Equal(a.ForeignKeys[0].RefColumns, []string{"id"}) {
			t.Errorf("foreign keys %+v", a.ForeignKeys)
		}
		if !s.User.IsUnique("email") || !s.Account.IsUnique("provider", "providerAccountId") {
			t.Errorf("core keys: User %+v Account %+v", s.User.Keys, s.Account.Keys)
		}
		st := migStatus(t, d)
		if !st.UpToDate() {
			t.Fatalf("not up to date: %+v", st)
		}
		for _, m := range st.Migrations {
			if m.State != db.StateApplied || m.AppliedAt == nil || !m.AppliedAt.Equal(now) {
				t.Errorf("migration %+v, want applied at %v", m, now)
			}
		}
		if got := migHistoryKinds(migHistory(t, d)); !slices.Equal(got, []string{"0001_authenticator.sql=applied", "core.sql=applied"}) {
			t.Errorf("history %v", got)
		}

		// A re-run changes nothing.
		res = migRun(t, d, db.MigrateOptions{Core: true})
		if len(res.Applied)+len(res.Adopted)+len(res.SQL) != 0 || res.Variant != db.VariantCurrent {
			t.Errorf("re-run: %+v", res)
		}
		if n := len(migHistory(t, d)); n != 2 {
			t.Errorf("re-run: %d history rows", n)
		}
	})
}

// Each known variant, built from the DDL the Auth.js docs' schemas produce,
// is adopted: recorded, not recreated (its rows survive), and reported.
func TestMigrate_adoptsKnownVariants(t *testing.T) {
	cases := []struct {
		variant string
		want    db.Variant
		naming  db.Naming
		// mysqlWarnings are the MySQL warnings' message fragments.
		mysqlWarnings []string
	}{
		{"prisma", db.VariantCurrent, db.NamingPrisma, []string{
			"Authenticator.credentialID holds 191 characters", "Account.providerAccountId holds 191", "Account.userId is UNIQUE"}},
		{"legacy", db.VariantLegacy, db.NamingPrisma, []string{
			"Authenticator.credentialID holds 191 characters", "Account.providerAccountId holds 191", "Account.userId is UNIQUE"}},
		{"drizzle", db.VariantDrizzle, db.NamingDrizzle, []string{
			"authenticator.credentialID holds 255 characters", "account.providerAccountId holds 255"}},
	}
	for _, c := range cases {
		t.Run(c.variant, func(t *testing.T) {
			dbtest.ForEach(t, func(t *testing.T, dsn string) {
				d := dbtest.Open(t, dsn)
				loadDDL(t, d, c.variant, true)
				user, auth := "User", "Authenticator"
				if c.naming == db.NamingDrizzle {
					user, auth = "user", "authenticator"
				}
				insertUser(t, d, user, "u1")
				insertAuthenticator(t, d, auth, c.want == db.VariantLegacy, "u1", "Y3JlZA==", "cHVi")

				st := migStatus(t, d)
				if st.Variant != c.want || st.Naming != c.naming || st.UpToDate() {
					t.Fatalf("before: status %+v", st)
				}
				if m := st.Migrations[len(st.Migrations)-1]; m.State != db.StatePending || m.Action != "adopt" {
					t.Errorf("before: %+v, want pending adopt", m)
				}

				res := migRun(t, d, db.MigrateOptions{})
				if !slices.Equal(res.Adopted, []string{"0001_authenticator.sql"}) || len(res.Applied) != 0 || len(res.SQL) != 0 {
					t.Fatalf("result %+v", res)
				}
				if res.Variant != c.want || res.Naming != c.naming {
					t.Errorf("result variant %q naming %q", res.Variant, res.Naming)
				}
				var n int
				if err := d.X.GetContext(ctx, &n, `SELECT COUNT(*) FROM `+d.Q(auth)); err != nil || n != 1 {
					t.Errorf("the adopted table lost its row: %d, %v", n, err)
				}
				if got := migHistoryKinds(migHistory(t, d)); !slices.Equal(got, []string{"0001_authenticator.sql=adopted"}) {
					t.Errorf("history %v", got)
				}
				st = migStatus(t, d)
				if !st.UpToDate() || st.Variant != c.want || st.Migrations[0].State != db.StateAdopted {
					t.Errorf("after: %+v", st)
				}
				var msgs []string
				for _, w := range st.Warnings {
					if strings.HasPrefix(w.Message, "no index on lower(") {
						continue // TestMigrationStatus_emailFoldIndex
					}
					msgs = append(msgs, w.Message)
				}
				want := c.mysqlWarnings
				if d.Dialect != db.MySQL {
					want = nil // TEXT columns, no UNIQUE userId
				}
				if len(msgs) != len(want) {
					t.Fatalf("warnings %q, want %d matching %q", msgs, len(want), want)
				}
				for i, w := range want {
					if !strings.Contains(msgs[i], w) {
						t.Errorf("warning %d = %q, want it to contain %q", i, msgs[i], w)
					}
				}
				// Keys and foreign keys as introspected on each dialect.
				s := migDetect(t, d)
				a := s.Authenticator
				if !a.IsUnique("credentialID") {
					t.Errorf("credentialID not unique: %+v", a.Keys)
				}
				wantPK := []string{"userId", "credentialID"}
				if c.want == db.VariantLegacy {
					wantPK = []string{"id"}
				}
				if !slices.Equal(a.PrimaryKey(), wantPK) {
					t.Errorf("primary key %v, want %v", a.PrimaryKey(), wantPK)
				}
				if len(a.ForeignKeys) != 1 || a.ForeignKeys[0].RefTable != user || a.ForeignKeys[0].OnDelete != "CASCADE" {
					t.Errorf("foreign keys %+v", a.ForeignKeys)
				}
				if c.want == db.VariantLegacy && !a.NeedsValue("id") {
					t.Error("legacy id should need a value on insert")
				}
			})
		})
	}
}

// rowID numbers the legacy variant's Authenticator ids.
var rowID int

// insertUser adds a user, filling the columns Prisma fills on the client
// (updatedAt) when the table has them.
func insertUser(t *testing.T, d *db.DB, table, id string) {
	t.Helper()
	cols, vals := d.Q("id")+", "+d.Q("email"), "'"+id+"', '"+id+"@example.com'"
	if s := migDetect(t, d); s.User != nil && s.User.NeedsValue("updatedAt") {
		cols, vals = cols+", "+d.Q("updatedAt"), vals+", CURRENT_TIMESTAMP"
	}
	dbtest.Exec(t, d, "INSERT INTO "+d.Q(table)+" ("+cols+") VALUES ("+vals+")")
}

func insertAuthenticator(t *testing.T, d *db.DB, table string, withID bool, userID, credID, pub string) {
	t.Helper()
	cols := []string{"credentialID", "userId", "providerAccountId", "credentialPublicKey", "counter", "credentialDeviceType", "credentialBackedUp", "transports"}
	args := []any{credID, userID, credID, pub, 0, "multiDevice", true, "internal"}
	if withID {
		cols = append(cols, "id")
		rowID++
		args = append(args, fmt.Sprintf("cid_%d", rowID))
	}
	var quoted []string
	for _, c := range cols {
		quoted = append(quoted, d.Q(c))
	}
	q := `INSERT INTO ` + d.Q(table) + ` (` + strings.Join(quoted, ", ") + `) VALUES (?` + strings.Repeat(", ?", len(cols)-1) + `)`
	if _, err := d.X.ExecContext(ctx, d.Dialect.Rebind(q), args...); err != nil {
		t.Fatalf("insert into %s: %v", table, err)
	}
}

// The ALTER TABLE that a narrow-column warning prints works on MariaDB,
// and once it has run the warning is gone and a 1364-character credential
// ID fits.
func TestMigrate_mysqlWidenWarningFix(t *testing.T) {
	for _, variant := range []string{"prisma", "legacy", "drizzle"} {
		t.Run(variant, func(t *testing.T) {
			d := dbtest.Open(t, dbtest.New(t, "mysql"))
			loadDDL(t, d, variant, true)
			migRun(t, d, db.MigrateOptions{})
			st := migStatus(t, d)
			var fixes []string
			for _, w := range st.Warnings {
				if w.FixSQL != "" {
					fixes = append(fixes, w.FixSQL)
				}
			}
			if len(fixes) != 2 {
				t.Fatalf("want an ALTER for the Authenticator and one for Account, got %q", fixes)
			}
			if !strings.Contains(fixes[0], "MODIFY `credentialID` VARCHAR(1364) CHARACTER SET ascii COLLATE ascii_bin NOT NULL") ||
				!strings.Contains(fixes[0], "MODIFY `providerAccountId`") || !strings.Contains(fixes[0], "MODIFY `credentialPublicKey` TEXT NOT NULL") {
				t.Errorf("Authenticator fix %q", fixes[0])
			}
			for _, fix := range fixes {
				dbtest.Exec(t, d, strings.TrimSuffix(fix, ";"))
			}
			st = migStatus(t, d)
			for _, w := range st.Warnings {
				if w.FixSQL != "" || !strings.Contains(w.Message, "userId is UNIQUE") {
					t.Errorf("warning left after the fix: %+v", w)
				}
			}
			if !st.UpToDate() {
				t.Errorf("not up to date after the fix: %+v", st)
			}
			s := migDetect(t, d)
			user, account, auth := s.User.Name, s.Account.Name, s.Authenticator.Name
			insertUser(t, d, user, "u1")
			long, rsa := strings.Repeat("A", db.MaxCredentialIDChars), strings.Repeat("B", 364)
			insertAuthenticator(t, d, auth, variant == "legacy", "u1", long, rsa)
			cols := "userId, type, provider, providerAccountId"
			vals := "'u1', 'webauthn', 'passkey', '" + long + "'"
			if s.Account.NeedsValue("id") {
				cols, vals = "id, "+cols, "'acc1', "+vals
			}
			if s.Account.NeedsValue("updatedAt") {
				cols, vals = cols+", updatedAt", vals+", NOW(3)"
			}
			dbtest.Exec(t, d, "INSERT INTO `"+account+"` ("+cols+") VALUES ("+vals+")")
			// Base64 is case-sensitive: after the fix an ID that differs
			// only in case is another credential.
			insertAuthenticator(t, d, auth, variant == "legacy", "u1", strings.Repeat("a", db.MaxCredentialIDChars), rsa)
		})
	}
}

// A table that matches no variant is drift: migrate changes nothing (not
// even passkeyctl's history), lists each difference, and status says so.
func TestMigrate_drift(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		d := dbtest.Open(t, dsn)
		loadDDL(t, d, "prisma", false)
		loadDDL(t, d, "drift", true)
		before := migTables(t, d)
		_, err := d.Migrate(ctx, migrations(t, d), db.MigrateOptions{Core: true})
		if !errors.Is(err, passkey.ErrDrift) {
			t.Fatalf("err %v, want ErrDrift", err)
		}
		for _, want := range []string{"Authenticator.credentialDeviceType: column missing", "Authenticator.counter: type ", "want an integer type", "nothing was changed"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		}
		if after := migTables(t, d); !slices.Equal(before, after) {
			t.Errorf("tables changed: %v -> %v", before, after)
		}
		if h := migHistory(t, d); h != nil {
			t.Errorf("history written: %v", h)
		}
		st := migStatus(t, d)
		if st.Variant != db.VariantDrift || len(st.Drift) != 2 || st.UpToDate() {
			t.Errorf("status %+v", st)
		}
		// The dry run refuses the same way.
		if _, err := d.Migrate(ctx, migrations(t, d), db.MigrateOptions{DryRun: true}); !errors.Is(err, passkey.ErrDrift) {
			t.Errorf("dry run: %v", err)
		}
	})
}

func TestMigrate_missingUserTable(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		d := dbtest.Open(t, dsn)
		_, err := d.Migrate(ctx, migrations(t, d), db.MigrateOptions{})
		if !errors.Is(err, passkey.ErrSchemaNotReady) {
			t.Fatalf("err %v, want ErrSchemaNotReady", err)
		}
		for _, want := range []string{"the Auth.js table User does not exist", "create the Auth.js tables first", "--core"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		}
		if got := migTables(t, d); len(got) != 0 {
			t.Errorf("tables created: %v", got)
		}
		st := migStatus(t, d)
		if st.CoreTables || st.UpToDate() || st.Variant != db.VariantNone {
			t.Errorf("status %+v", st)
		}
	})
}

// --dry-run changes nothing, and the SQL it prints is exactly the SQL the
// real run then executes.
func TestMigrate_dryRun(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		d := dbtest.Open(t, dsn)
		dry, err := d.Migrate(ctx, migrations(t, d), db.MigrateOptions{Core: true, DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if !dry.DryRun || dry.Variant != db.VariantCurrent || !slices.Equal(dry.Applied, []string{"core.sql", "0001_authenticator.sql"}) {
			t.Errorf("dry run result %+v", dry)
		}
		if got := migTables(t, d); len(got) != 0 {
			t.Fatalf("dry run created tables: %v", got)
		}
		var executed []string
		opts := db.WithAfterStatement(db.MigrateOptions{Core: true}, func(stmt string) error {
			executed = append(executed, stmt)
			return nil
		})
		res := migRun(t, d, opts)
		if !slices.Equal(dry.SQL, executed) || !slices.Equal(res.SQL, executed) {
			t.Errorf("dry run SQL differs from the executed SQL:\ndry:  %q\nexec: %q\nres:  %q", dry.SQL, executed, res.SQL)
		}

		// A dry run on an up-to-date database: nothing, and nothing
		// changes.
		before := migHistory(t, d)
		dry, err = d.Migrate(ctx, migrations(t, d), db.MigrateOptions{DryRun: true})
		if err != nil || len(dry.SQL)+len(dry.Applied)+len(dry.Adopted) != 0 {
			t.Errorf("dry run when up to date: %+v, %v", dry, err)
		}
		if !slices.Equal(before, migHistory(t, d)) {
			t.Error("history changed")
		}
	})
}

func TestMigrate_dryRunAdopt(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		d := dbtest.Open(t, dsn)
		loadDDL(t, d, "prisma", true)
		before := migTables(t, d)
		dry, err := d.Migrate(ctx, migrations(t, d), db.MigrateOptions{DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(dry.Adopted, []string{"0001_authenticator.sql"}) || len(dry.SQL) != 0 {
			t.Errorf("result %+v", dry)
		}
		if !slices.Equal(before, migTables(t, d)) || migHistory(t, d) != nil {
			t.Error("the dry run changed the database")
		}
	})
}

// A migration file whose checksum changed after it was applied is reported
// (status exit 4 in the CLI) and never re-run; the printed UPDATE accepts
// it.
func TestMigrate_checksumChanged(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		d := dbtest.Open(t, dsn)
		migRun(t, d, db.MigrateOptions{Core: true})
		recorded := migHistory(t, d)

		changed := fstest.MapFS{}
		orig := migrations(t, d)
		for _, name := range []string{"core.sql", "0001_authenticator.sql"} {
			b, err := fs.ReadFile(orig, name)
			if err != nil {
				t.Fatal(err)
			}
			if name == "0001_authenticator.sql" {
				b = append([]byte("-- edited after it was applied\n"), b...)
			}
			changed[name] = &fstest.MapFile{Data: b}
		}
		st, err := d.MigrationStatus(ctx, changed)
		if err != nil {
			t.Fatal(err)
		}
		m := st.Migrations[len(st.Migrations)-1]
		if m.State != db.StateChecksumChanged || m.RecordedChecksum != recorded[0].Checksum || m.Checksum == m.RecordedChecksum {
			t.Errorf("migration %+v, recorded %+v", m, recorded)
		}
		if st.UpToDate() {
			t.Error("up to date with a changed checksum")
		}
		res, err := d.Migrate(ctx, changed, db.MigrateOptions{})
		if err != nil {
			t.Fatalf("migrate re-ran the changed file? %v", err)
		}
		if len(res.Applied)+len(res.SQL) != 0 || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0].Message, "never re-run") {
			t.Fatalf("result %+v", res)
		}
		// migrate says what status says: not up to date.
		if len(res.ChecksumChanged) != 1 || res.ChecksumChanged[0].Name != "0001_authenticator.sql" || res.ChecksumChanged[0].State != db.StateChecksumChanged {
			t.Fatalf("checksumChanged %+v, want 0001_authenticator.sql", res.ChecksumChanged)
		}
		if !slices.Equal(migHistory(t, d), recorded) {
			t.Error("history changed")
		}
		dbtest.Exec(t, d, strings.TrimSuffix(res.Warnings[0].FixSQL, ";"))
		if st, err = d.MigrationStatus(ctx, changed); err != nil || !st.UpToDate() {
			t.Errorf("after accepting the checksum: %+v, %v", st, err)
		}
	})
}

// A table dropped outside passkeyctl is pending again and re-created, and
// its history row replaced.
func TestMigrate_tableDroppedOutside(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		d := dbtest.Open(t, dsn)
		migRun(t, d, db.MigrateOptions{Core: true})
		dbtest.Exec(t, d, "DROP TABLE "+d.Q("Authenticator"))
		st := migStatus(t, d)
		if st.UpToDate() || len(st.Warnings) == 0 || !strings.Contains(st.Warnings[0].Message, "does not exist") {
			t.Fatalf("status %+v", st)
		}
		res := migRun(t, d, db.MigrateOptions{})
		if !slices.Equal(res.Applied, []string{"0001_authenticator.sql"}) || res.Variant != db.VariantCurrent {
			t.Errorf("result %+v", res)
		}
		if got := migHistoryKinds(migHistory(t, d)); !slices.Equal(got, []string{"0001_authenticator.sql=applied", "core.sql=applied"}) {
			t.Errorf("history %v", got)
		}
	})
}

// The table passkeyctl creates on MariaDB (strict mode) stores a
// 1364-character credential ID and a 364-character RSA key, where the
// Prisma MySQL schema's table refuses them.
func TestMigrate_mysqlStoresLongCredentials(t *testing.T) {
	long, rsa := strings.Repeat("A", db.MaxCredentialIDChars), strings.Repeat("B", 364)
	for _, variant := range []string{"passkeyctl", "prisma"} {
		t.Run(variant, func(t *testing.T) {
			d := dbtest.Open(t, dbtest.New(t, "mysql"))
			if variant == "passkeyctl" {
				migRun(t, d, db.MigrateOptions{Core: true})
			} else {
				loadDDL(t, d, "prisma", true)
			}
			conn, err := d.X.Connx(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := conn.ExecContext(ctx, `SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'`); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.ExecContext(ctx, "INSERT INTO `User` (id, email, updatedAt) VALUES ('u1', 'a@example.com', NOW(3))"); err != nil {
				t.Fatal(err)
			}
			_, err = conn.ExecContext(ctx, "INSERT INTO `Authenticator` (credentialID, userId, providerAccountId, credentialPublicKey, counter, credentialDeviceType, credentialBackedUp, transports) VALUES (?, 'u1', ?, ?, 0, 'singleDevice', false, 'usb')", long, long, rsa)
			if variant == "prisma" {
				if err == nil || !strings.Contains(err.Error(), "Data too long") {
					t.Fatalf("the Prisma table took a 1364-character ID (strict mode off?): %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var gotID, gotKey string
			if err := conn.QueryRowContext(ctx, "SELECT credentialID, credentialPublicKey FROM `Authenticator` WHERE credentialID = ?", long).Scan(&gotID, &gotKey); err != nil {
				t.Fatal(err)
			}
			if gotID != long || gotKey != rsa {
				t.Errorf("read back %d/%d characters", len(gotID), len(gotKey))
			}
		})
	}
}

// userId repeats User.id's exact type, character set and collation, or
// MySQL refuses the foreign key.
func TestMigrate_mysqlUserIDCollation(t *testing.T) {
	for _, idType := range []string{
		"VARCHAR(64) CHARACTER SET latin1 COLLATE latin1_bin",
		"VARCHAR(191) CHARACTER SET utf8mb3 COLLATE utf8mb3_general_ci",
		"VARCHAR(36) CHARACTER SET ascii COLLATE ascii_general_ci",
	} {
		t.Run(strings.Fields(idType)[3], func(t *testing.T) {
			d := dbtest.Open(t, dbtest.New(t, "mysql"))
			dbtest.Exec(t, d,
				"CREATE TABLE `User` (`id` "+idType+" NOT NULL, `email` VARCHAR(191) NULL, PRIMARY KEY (`id`)) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
				"CREATE TABLE `Account` (`userId` "+idType+" NOT NULL, `type` VARCHAR(191) NOT NULL, `provider` VARCHAR(191) NOT NULL, `providerAccountId` VARCHAR(191) NOT NULL, PRIMARY KEY (`provider`, `providerAccountId`), CONSTRAINT `Account_userId_fkey` FOREIGN KEY (`userId`) REFERENCES `User`(`id`) ON DELETE CASCADE)",
			)
			migRun(t, d, db.MigrateOptions{})
			s := migDetect(t, d)
			uid, _ := s.User.Column("id")
			aid, _ := s.Authenticator.Column("userId")
			if aid.FullType != uid.FullType || aid.Charset != uid.Charset || aid.Collation != uid.Collation {
				t.Errorf("Authenticator.userId %s %s %s, User.id %s %s %s", aid.FullType, aid.Charset, aid.Collation, uid.FullType, uid.Charset, uid.Collation)
			}
			if len(s.Authenticator.ForeignKeys) != 1 {
				t.Errorf("foreign keys %+v", s.Authenticator.ForeignKeys)
			}
			dbtest.Exec(t, d, "INSERT INTO `User` (id) VALUES ('u1')")
			insertAuthenticator(t, d, "Authenticator", false, "u1", "Y3JlZA==", "cHVi")
			dbtest.Exec(t, d, "DELETE FROM `User`")
			var n int
			if err := d.X.GetContext(ctx, &n, "SELECT COUNT(*) FROM `Authenticator`"); err != nil || n != 0 {
				t.Errorf("ON DELETE CASCADE: %d rows left, %v", n, err)
			}
		})
	}
}

func TestMigrateDown(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		d := dbtest.Open(t, dsn)
		migRun(t, d, db.MigrateOptions{Core: true})
		dbtest.Exec(t, d, `INSERT INTO `+d.Q("User")+` (id, email, `+d.Q("updatedAt")+`) VALUES ('u1', 'a@example.com', CURRENT_TIMESTAMP)`)
		insertAuthenticator(t, d, "Authenticator", false, "u1", "Y3JlZA==", "cHVi")
		p, err := d.MigrateDownPlan(ctx)
		if err != nil || p.Table != "Authenticator" || p.Rows != 1 {
			t.Fatalf("plan %+v, %v", p, err)
		}
		// A plan made before a passkey was added or removed is refused.
		if err := d.MigrateDown(ctx, db.DownPlan{Table: p.Table, Rows: 0}); !errors.Is(err, passkey.ErrConflict) {
			t.Fatalf("stale plan: %v", err)
		}
		if !slices.Contains(migTables(t, d), tableName(d, "Authenticator")) {
			t.Fatal("a refused down dropped the table")
		}
		if err := d.MigrateDown(ctx, p); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(migTables(t, d), tableName(d, "Authenticator")) {
			t.Error("table still there")
		}
		if got := migHistoryKinds(migHistory(t, d)); !slices.Equal(got, []string{"core.sql=applied"}) {
			t.Errorf("history %v", got)
		}
		st := migStatus(t, d)
		if st.UpToDate() || st.Migrations[1].State != db.StatePending {
			t.Errorf("status %+v", st)
		}
		if _, err := d.MigrateDownPlan(ctx); !errors.Is(err, passkey.ErrNotFound) {
			t.Errorf("down without a table: %v", err)
		}
		// Up again.
		if res := migRun(t, d, db.MigrateOptions{}); !slices.Equal(res.Applied, []string{"0001_authenticator.sql"}) {
			t.Errorf("re-migrate %+v", res)
		}
	})
}

func tableName(d *db.DB, name string) string {
	if d.Dialect == db.Postgres {
		return "public." + name
	}
	return name
}

// The rows a real Auth.js (Prisma adapter) wrote at registration insert
// unchanged into the table `passkeyctl migrate` creates next to core tables
// made by Auth.js's own Prisma schema, and read back identical.
func TestMigrate_authjsFixtureRowsInsertUnchanged(t *testing.T) {
	b, err := os.ReadFile("testdata/authjs-registration-postgres.json")
	if err != nil {
		if b, err = os.ReadFile("/work/shared/fixtures/authjs-registration-postgres.json"); err != nil {
			t.Fatal(err)
		}
	}
	var f struct {
		Registration struct {
			RowsWritten map[string][]map[string]any `json:"rowsWritten"`
		} `json:"registration"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	rows := f.Registration.RowsWritten
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		d := dbtest.Open(t, dsn)
		loadDDL(t, d, "prisma", false)
		migRun(t, d, db.MigrateOptions{})
		s := migDetect(t, d)
		for _, table := range []string{"User", "Account", "Authenticator"} {
			row := rows[table][0]
			var cols, marks []string
			var args []any
			for k, v := range row {
				if n, ok := v.(float64); ok {
					v = int64(n)
				}
				cols, marks, args = append(cols, d.Q(k)), append(marks, "?"), append(args, v)
			}
			// What Prisma fills on the client, which the fixture leaves
			// out: the MySQL docs schema's Account.id, and updatedAt.
			tbl := map[string]*db.Table{"User": s.User, "Account": s.Account, "Authenticator": s.Authenticator}[table]
			for _, extra := range []string{"id", "updatedAt"} {
				if _, given := row[extra]; !given && tbl.NeedsValue(extra) {
					cols, marks = append(cols, d.Q(extra)), append(marks, "?")
					if extra == "id" {
						args = append(args, "cmwvgemvd0001l07dacc00001")
					} else {
						args = append(args, time.Now().UTC())
					}
				}
			}
			if table == "Authenticator" && len(cols) != 8 {
				t.Fatalf("the Authenticator row needed extra columns: %v", cols)
			}
			q := "INSERT INTO " + d.Q(table) + " (" + strings.Join(cols, ", ") + ") VALUES (" + strings.Join(marks, ", ") + ")"
			if _, err := d.X.ExecContext(ctx, d.Dialect.Rebind(q), args...); err != nil {
				t.Fatalf("insert the fixture's %s row: %v", table, err)
			}
		}
		want := rows["Authenticator"][0]
		var got struct {
			CredentialID, UserID, ProviderAccountID, PublicKey, DeviceType string
			Counter                                                        int64
			BackedUp                                                       bool
			Transports                                                     *string
		}
		err := d.X.QueryRowContext(ctx, `SELECT `+d.Q("credentialID")+`, `+d.Q("userId")+`, `+d.Q("providerAccountId")+`, `+d.Q("credentialPublicKey")+`, `+
			d.Q("credentialDeviceType")+`, `+d.Q("counter")+`, `+d.Q("credentialBackedUp")+`, `+d.Q("transports")+` FROM `+d.Q("Authenticator")).
			Scan(&got.CredentialID, &got.UserID, &got.ProviderAccountID, &got.PublicKey, &got.DeviceType, &got.Counter, &got.BackedUp, &got.Transports)
		if err != nil {
			t.Fatal(err)
		}
		if got.CredentialID != want["credentialID"] || got.UserID != want["userId"] || got.ProviderAccountID != want["providerAccountId"] ||
			got.PublicKey != want["credentialPublicKey"] || got.DeviceType != want["credentialDeviceType"] ||
			float64(got.Counter) != want["counter"] || got.BackedUp != want["credentialBackedUp"] || got.Transports == nil || *got.Transports != want["transports"] {
			t.Errorf("read back %+v, want %v", got, want)
		}
	})
}

// An expression index does not make its plain columns unique: a unique
// index on ("userId", lower("credentialID")) must not read as a unique
// userId (PostgreSQL and SQLite; MariaDB has no expression indexes).
func TestDetect_expressionIndexIsNotAUniqueKey(t *testing.T) {
	for _, dialect := range []string{"postgres", "sqlite"} {
		t.Run(dialect, func(t *testing.T) {
			d := dbtest.Open(t, dbtest.New(t, dialect))
			loadDDL(t, d, "prisma", false)
			dbtest.Exec(t, d,
				`CREATE TABLE "Authenticator" ("credentialID" TEXT NOT NULL, "userId" TEXT NOT NULL, "providerAccountId" TEXT NOT NULL, "credentialPublicKey" TEXT NOT NULL, "counter" INTEGER NOT NULL, "credentialDeviceType" TEXT NOT NULL, "credentialBackedUp" BOOLEAN NOT NULL, "transports" TEXT)`,
				`CREATE UNIQUE INDEX "Authenticator_expr" ON "Authenticator" ("userId", lower("credentialID"))`)
			a := migDetect(t, d).Authenticator
			if a.IsUnique("userId") || a.IsUnique("credentialID") || len(a.Keys) != 0 {
				t.Errorf("keys %+v", a.Keys)
			}
		})
	}
}

// TestMigrationStatus_emailFoldIndex: without an index on lower(email),
// FindUser's case-insensitive fallback reads the whole User table, and
// migrate status says so with the index's SQL; with that index (run as
// given) the warning goes and the lookup still finds the user. MySQL's
// case-insensitive collations need no such index: no warning there.
func TestMigrationStatus_emailFoldIndex(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		d := dbtest.Open(t, dsn)
		migRun(t, d, db.MigrateOptions{Core: true})
		find := func(st *db.Status) *store.Warning {
			for i, w := range st.Warnings {
				if strings.Contains(w.Message, "no index on lower(email)") {
					return &st.Warnings[i]
				}
			}
			return nil
		}
		w := find(migStatus(t, d))
		if d.Dialect == db.MySQL {
			if w != nil {
				t.Fatalf("MySQL: %+v", w)
			}
			return
		}
		if w == nil || !strings.Contains(w.FixSQL, "CREATE INDEX") || !strings.Contains(w.Message, "migration of the app") {
			t.Fatalf("no warning with its fix: %+v", migStatus(t, d).Warnings)
		}
		dbtest.Exec(t, d, strings.TrimSuffix(w.FixSQL, ";"))
		if w := find(migStatus(t, d)); w != nil {
			t.Fatalf("warning after its fix was applied: %+v", w)
		}
		dbtest.Exec(t, d, "INSERT INTO "+d.Q("User")+" ("+d.Q("id")+", "+d.Q("email")+", "+d.Q("updatedAt")+") VALUES ('u1', 'alice@example.com', CURRENT_TIMESTAMP)")
		s, err := d.Detect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if u, err := d.FindUser(ctx, s, "Alice@Example.COM"); err != nil || u.ID != "u1" {
			t.Fatalf("FindUser in another case: %+v %v", u, err)
		}
	})
}

// TestMigrate_movesLegacyHistory: a database whose history an earlier
// version kept in the app's namespace (_passkeyctl_migrations, MySQL and
// SQLite), where Prisma's migrate dev reports it as drift: status reads it,
// and the next migrate, with nothing to apply, moves it to passkeyctl's own
// place and drops the table.
func TestMigrate_movesLegacyHistory(t *testing.T) {
	for _, dialect := range []string{"mysql", "sqlite"} {
		t.Run(dialect, func(t *testing.T) {
			dsn := dbtest.New(t, dialect)
			d := dbtest.Open(t, dsn)
			migRun(t, d, db.MigrateOptions{Core: true})
			want := migHistory(t, d)
			if len(want) != 2 {
				t.Fatalf("history after migrate --core: %+v", want)
			}
			// What an earlier version left: the rows in the app's own table,
			// none in passkeyctl's place.
			legacy := []string{"CREATE TABLE `_passkeyctl_migrations` (`name` VARCHAR(191) NOT NULL PRIMARY KEY, `checksum` CHAR(64) NOT NULL, `kind` VARCHAR(16) NOT NULL, `applied_at` DATETIME(3) NOT NULL)"}
			for _, r := range want {
				legacy = append(legacy, "INSERT INTO `_passkeyctl_migrations` VALUES ('"+r.Name+"', '"+r.Checksum+"', '"+r.Kind+"', '2025-01-01 00:00:00')")
			}
			if dialect == "sqlite" {
				for i := range legacy {
					legacy[i] = strings.ReplaceAll(strings.ReplaceAll(legacy[i], "`", `"`), "DATETIME(3)", "TEXT")
				}
				if err := os.Remove(d.Target.SQLitePath + "-passkeyctl"); err != nil {
					t.Fatal(err)
				}
				d = dbtest.Open(t, dsn)
			} else {
				dbtest.Exec(t, d, "DELETE FROM `passkeyctl`.`schema_migrations` WHERE target_schema = DATABASE()")
			}
			dbtest.Exec(t, d, legacy...)
			if st := migStatus(t, d); !st.UpToDate() {
				t.Fatalf("status with the legacy history: %+v", st.Migrations)
			}
			res := migRun(t, d, db.MigrateOptions{})
			if len(res.Applied)+len(res.Adopted) != 0 {
				t.Errorf("migrate with the legacy history applied %v, adopted %v", res.Applied, res.Adopted)
			}
			got := migHistory(t, d) // fails if _passkeyctl_migrations is left
			if len(got) != len(want) {
				t.Fatalf("history moved: %+v, want %+v", got, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("history row %d moved as %+v, want %+v", i, got[i], want[i])
				}
			}
			if st := migStatus(t, d); !st.UpToDate() {
				t.Errorf("status after the move: %+v", st.Migrations)
			}
		})
	}
}
