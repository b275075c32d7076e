package db_test

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

func TestParseDSN(t *testing.T) {
	cases := []struct {
		dsn        string
		dialect    *db.Dialect
		driver     string // exact driver DSN
		searchPath string
	}{
		// Every PostgreSQL connection sends parameterised statements in one
		// round trip (binary_parameters), for transaction poolers.
		{"postgres://app:pw@127.0.0.1:5432/app", db.Postgres, "postgres://app:pw@127.0.0.1:5432/app?binary_parameters=yes&sslmode=disable", ""},
		{"postgresql://app@db.example.com/app", db.Postgres, "postgres://app@db.example.com/app?binary_parameters=yes&sslmode=prefer", ""},
		{"postgresql://app@db.example.com/app?sslmode=verify-full&binary_parameters=no", db.Postgres, "postgres://app@db.example.com/app?binary_parameters=yes&sslmode=verify-full", ""},
		// Prisma's schema is kept for the statements, never sent as a
		// search_path startup parameter;
		// Prisma-only parameters are dropped; its sslcert is lib/pq's
		// sslrootcert.
		{"postgresql://app@localhost/app?schema=Tenant1&connection_limit=5&pool_timeout=10&pgbouncer=true&socket_timeout=3&application_name=x", db.Postgres,
			`postgres://app@localhost/app?application_name=x&binary_parameters=yes&sslmode=disable`, "Tenant1"},
		{"postgres://app@db.example.com/app?sslcert=/ca.pem&sslmode=verify-ca", db.Postgres, "postgres://app@db.example.com/app?binary_parameters=yes&sslmode=verify-ca&sslrootcert=%2Fca.pem", ""},
		{"mysql://app:pw@127.0.0.1:3306/app", db.MySQL, "app:pw@tcp(127.0.0.1:3306)/app?parseTime=true", ""},
		{"mysql://app@db.example.com/app?connection_limit=5&pool_timeout=2&socket_timeout=3&sslaccept=strict&connect_timeout=7", db.MySQL,
			"app@tcp(db.example.com:3306)/app?parseTime=true&tls=true", ""},
		{"mysql://app@localhost/app?socket=/run/mysqld/mysqld.sock", db.MySQL, "app@unix(/run/mysqld/mysqld.sock)/app?parseTime=true", ""},
		{"mariadb://app@host:3307/app?sslaccept=accept_invalid_certs", db.MySQL, "app@tcp(host:3307)/app?parseTime=true&tls=skip-verify", ""},
		// ?user= and ?password= are the login, never SET statements (SET
		// password=... would change the account's password).
		{"mysql://db.example.com/app?user=app&password=pw", db.MySQL, "app:pw@tcp(db.example.com:3306)/app?parseTime=true", ""},
		{"sqlite:auth.db", db.SQLite, "file:auth.db?_txlock=immediate&_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)", ""},
		{"file:./prisma/dev.db", db.SQLite, "file:./prisma/dev.db?_txlock=immediate&_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)", ""},
		{"sqlite:///var/lib/app/auth.db", db.SQLite, "file:/var/lib/app/auth.db?_txlock=immediate&_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)", ""},
		{"file:/tmp/a.db?_pragma=busy_timeout(50)", db.SQLite, "file:/tmp/a.db?_txlock=immediate&_pragma=busy_timeout(50)&_pragma=foreign_keys(1)", ""},
	}
	for _, c := range cases {
		t.Run(c.dsn, func(t *testing.T) {
			got, err := db.ParseDSN(c.dsn)
			if err != nil {
				t.Fatal(err)
			}
			if got.Dialect != c.dialect || got.DriverDSN != c.driver || got.SearchPath != c.searchPath {
				t.Errorf("got %s %q search_path %q\nwant %s %q search_path %q", got.Dialect.Name, got.DriverDSN, got.SearchPath, c.dialect.Name, c.driver, c.searchPath)
			}
			if strings.Contains(got.Redacted, "pw") {
				t.Errorf("redacted form %q shows the password", got.Redacted)
			}
		})
	}
}

// connect_timeout (seconds, as libpq and Prisma read it) is read on both
// servers; 0 and garbage mean "not set", never "wait for ever".
func TestParseDSN_connectTimeout(t *testing.T) {
	for dsn, want := range map[string]time.Duration{
		"postgres://app@db/app?connect_timeout=7": 7 * time.Second,
		"mysql://app@db/app?connect_timeout=7":    7 * time.Second,
		"postgres://app@db/app?connect_timeout=0": 0,
		"mysql://app@db/app?connect_timeout=x":    0,
		"postgres://app@db/app":                   0,
	} {
		got, err := db.ParseDSN(dsn)
		if err != nil || got.ConnectTimeout != want {
			t.Errorf("%s: connect timeout %s (%v), want %s", dsn, got.ConnectTimeout, err, want)
		}
	}
}

// With ?schema=, Q qualifies the app's tables, and only them: no statement
// depends on the session's search_path.
func TestQ_schemaQualifiesAppTables(t *testing.T) {
	d := dbtest.Open(t, dbtest.New(t, "postgres")+"&schema=auth")
	for ident, want := range map[string]string{
		"User": `"auth"."User"`, "Authenticator": `"auth"."Authenticator"`, "passkey": `"auth"."passkey"`,
		"userId": `"userId"`, "credentialID": `"credentialID"`, "_passkeyctl_migrations": `"_passkeyctl_migrations"`,
	} {
		if got := d.Q(ident); got != want {
			t.Errorf("Q(%q) = %s, want %s", ident, got, want)
		}
	}
	plain := dbtest.Open(t, dbtest.New(t, "postgres"))
	if got := plain.Q("User"); got != `"User"` {
		t.Errorf("without ?schema=: Q(User) = %s", got)
	}
}

func TestParseDSN_errors(t *testing.T) {
	for _, c := range []struct{ dsn, want string }{
		{"", "empty DSN"},
		{"redis://u:hunter2@host/0", `unsupported DSN scheme "redis"`},
		{"sqlserver://sa:hunter2@host", "accepted forms: postgres://"},
		{"hunter2", "has no scheme"},
		{"mysql://root:hunter2@127.0.0.1:3306", "names no database"},
		{"sqlite:", "names no file"},
		{"postgres://u:hunter2@host:port/db", "cannot parse PostgreSQL DSN postgres://...: use postgres://USER@HOST:PORT/DB (password after the user name) and percent-encode"},
		{"mysql://u:hunter2%zz@host/db", "cannot parse MySQL DSN mysql://..."},
		// A search_path startup parameter is what poolers refuse or drop.
		{"postgres://u:hunter2@host/db?search_path=auth", "name the schema with ?schema=NAME instead"},
		{"postgres://u:hunter2@host/db?options=-c%20search_path%3Dauth", "sets search_path as a startup parameter"},
	} {
		t.Run(c.dsn, func(t *testing.T) {
			_, err := db.ParseDSN(c.dsn)
			if !errors.Is(err, passkey.ErrInvalid) {
				t.Fatalf("err %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
			if c.dsn != "hunter2" && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://app:s3cret@host/db": "postgres://app:xxxxx@host/db",
		// When in doubt, more is hidden: the userinfo runs to the last "@".
		"postgres://app:p@ss@host/db?x=a@b":                               "postgres://app:xxxxx@b",
		"postgres://app:pa/ss@host/db":                                    "postgres://app:xxxxx@host/db",
		"postgres://app:p?ss@host/db":                                     "postgres://app:xxxxx@host/db",
		"postgres://app:p%40ss@host/db":                                   "postgres://app:xxxxx@host/db",
		"mysql://root@127.0.0.1:3306/test":                                "mysql://root@127.0.0.1:3306/test",
		"postgres://host/db?email=a@b.c":                                  "postgres://host/db?email=a@b.c",
		"cannot connect to postgres://u:pw@h/db: boom":                    "cannot connect to postgres://u:xxxxx@h/db: boom",
		"host=h user=u password='s e c' dbname=d":                         "host=h user=u password=xxxxx dbname=d",
		"postgres://h/db?password=s3cret&sslmode=x":                       "postgres://h/db?password=xxxxx&sslmode=x",
		"cannot connect to postgres://h/db?password=s3cret: pq: no":       "cannot connect to postgres://h/db?password=xxxxx: pq: no",
		"root:s3cret@tcp(127.0.0.1:3306)/test":                            "root:xxxxx@tcp(127.0.0.1:3306)/test",
		`open "app:p@ss@unix(/run/sock)/db": no`:                          `open "app:xxxxx@unix(/run/sock)/db": no`,
		"a://u:1@h b://v:2@h":                                             "a://u:xxxxx@h b://v:xxxxx@h",
		"Access denied for user 'root'@'localhost' (using password: YES)": "Access denied for user 'root'@'localhost' (using password: YES)",
	} {
		if got := db.Redact(in); got != want {
			t.Errorf("Redact(%q)\n = %q\nwant %q", in, got, want)
		}
	}
}

// Prisma's ?schema= selects the PostgreSQL schema: migrate --core creates
// the schema and every table in it, nothing in public, and the history is
// kept per target schema.
func TestMigrate_postgresPrismaSchemaParam(t *testing.T) {
	base := dbtest.New(t, "postgres")
	for _, schemaName := range []string{"Tenant_A", "tenant_b"} {
		d := dbtest.Open(t, base+"&schema="+schemaName+"&connection_limit=3&pool_timeout=5&pgbouncer=true&socket_timeout=10")
		// Without --core: the schema does not exist, and the message says so.
		if _, err := d.Migrate(ctx, migrations(t, d), dbtestMigrateOptions()); !errors.Is(err, passkey.ErrSchemaNotReady) || !strings.Contains(err.Error(), `schema "`+schemaName+`"`) {
			t.Fatalf("%s without --core: %v", schemaName, err)
		}
		res := migRun(t, d, withCore())
		if res.Variant != db.VariantCurrent || !slices.Equal(res.Applied, []string{"core.sql", "0001_authenticator.sql"}) {
			t.Errorf("%s: %+v", schemaName, res)
		}
		if !migStatus(t, d).UpToDate() {
			t.Errorf("%s: not up to date", schemaName)
		}
	}
	d := dbtest.Open(t, base)
	got := migTables(t, d)
	for _, want := range []string{"Tenant_A.Authenticator", "Tenant_A.User", "tenant_b.Authenticator", "passkeyctl.schema_migrations"} {
		if !slices.Contains(got, want) {
			t.Errorf("%s missing from %v", want, got)
		}
	}
	for _, tbl := range got {
		if strings.HasPrefix(tbl, "public.") {
			t.Errorf("table %s in public", tbl)
		}
	}
	var targets []string
	if err := d.X.SelectContext(ctx, &targets, `SELECT target_schema || ':' || name FROM passkeyctl.schema_migrations ORDER BY 1`); err != nil {
		t.Fatal(err)
	}
	want := []string{"Tenant_A:0001_authenticator.sql", "Tenant_A:core.sql", "tenant_b:0001_authenticator.sql", "tenant_b:core.sql"}
	if !slices.Equal(targets, want) {
		t.Errorf("history %v, want %v", targets, want)
	}
	// public has no Auth.js tables: its status says so.
	if st := migStatus(t, d); st.CoreTables || st.UpToDate() {
		t.Errorf("public: %+v", st)
	}
}

func dbtestMigrateOptions() db.MigrateOptions { return db.MigrateOptions{} }
func withCore() db.MigrateOptions             { return db.MigrateOptions{Core: true} }

// Prisma-only URL parameters are dropped, not sent to the server (which
// would refuse the connection), on both servers.
func TestOpen_prismaOnlyParamsDropped(t *testing.T) {
	for _, dialect := range []string{"postgres", "mysql"} {
		t.Run(dialect, func(t *testing.T) {
			dsn := dbtest.New(t, dialect)
			sep := "?"
			if strings.Contains(dsn, "?") {
				sep = "&"
			}
			d := dbtest.Open(t, dsn+sep+"connection_limit=5&pool_timeout=10&socket_timeout=5&pgbouncer=true&statement_cache_size=0")
			var one int
			if err := d.X.GetContext(ctx, &one, "SELECT 1"); err != nil || one != 1 {
				t.Fatalf("SELECT 1: %d %v", one, err)
			}
		})
	}
}

// No error ever shows a DSN's password: not from a refused login, an
// unknown role or database, nor a malformed DSN; not decoded, not
// percent-encoded.
func TestOpen_passwordNeverShown(t *testing.T) {
	// A password with every character that needs percent-encoding in a URL.
	const secret = "Pk-s3cr3t@:/?#%&="
	enc := url.UserPassword("x", secret).String()[2:] // as written in a URL
	forms := []string{secret, enc, url.QueryEscape(secret), url.PathEscape(secret), "Pk-s3cr3t"}

	pgBase := dbtest.New(t, "postgres")
	pgURL, _ := url.Parse(pgBase)
	myBase := dbtest.New(t, "mysql")
	myURL, _ := url.Parse(myBase)

	// A MySQL user whose password is secret: the right password logs in
	// (the URL encoding is decoded), a wrong one is refused.
	admin := dbtest.Open(t, myBase)
	user := "pk_pw_" + strings.TrimPrefix(myURL.Path, "/pk_")
	user = user[:min(len(user), 32)]
	dbtest.Exec(t, admin, "CREATE USER '"+user+"'@'%' IDENTIFIED BY '"+strings.ReplaceAll(secret, "%", "%")+"'",
		"GRANT ALL ON `"+strings.TrimPrefix(myURL.Path, "/")+"`.* TO '"+user+"'@'%'")
	t.Cleanup(func() { admin.X.ExecContext(ctx, "DROP USER '"+user+"'@'%'") })
	good := "mysql://" + user + ":" + enc + "@" + myURL.Host + myURL.Path
	d := dbtest.Open(t, good)
	d.Close()

	for name, dsn := range map[string]string{
		"mysql wrong password":        "mysql://" + user + ":" + url.PathEscape("wrong"+secret) + "@" + myURL.Host + myURL.Path,
		"mysql root wrong password":   "mysql://root:" + enc + "@" + myURL.Host + myURL.Path,
		"mysql unknown database":      "mysql://" + user + ":" + enc + "@" + myURL.Host + "/no_such_db_pk",
		"mysql unreachable":           "mysql://root:" + enc + "@127.0.0.1:1/db",
		"postgres unknown role":       "postgres://no_such_role_pk:" + enc + "@" + pgURL.Host + pgURL.Path + "?sslmode=disable",
		"postgres unknown database":   "postgresql://postgres:" + enc + "@" + pgURL.Host + "/no_such_db_pk",
		"postgres unreachable":        "postgres://postgres:" + enc + "@127.0.0.1:1/db",
		"postgres bad sslmode":        "postgres://postgres:" + enc + "@" + pgURL.Host + pgURL.Path + "?sslmode=bogus",
		"postgres password parameter": "postgres://postgres@" + pgURL.Host + "/no_such_db_pk?password=" + url.QueryEscape(secret),
		"postgres raw password":       "postgres://postgres:" + secret + "@" + pgURL.Host + "/db",
		"mysql raw password":          "mysql://root:" + secret + "@" + myURL.Host + "/db",
		"unsupported scheme":          "oracle://scott:" + enc + "@host/db",
		"sqlite missing folder":       "sqlite:" + filepath.Join(t.TempDir(), "no", "such", "dir", "a.db") + "?password=" + secret,
	} {
		t.Run(name, func(t *testing.T) {
			d, err := db.Open(ctx, dsn, db.OpenOptions{CreateSQLite: true})
			if err == nil {
				d.Close()
				t.Fatal("connected")
			}
			for _, f := range forms {
				if strings.Contains(err.Error(), f) {
					t.Fatalf("error shows the password (%q): %v", f, err)
				}
			}
			t.Log(err)
		})
	}
}

// TestSQLite_userPragmaOnEveryConnection: a _pragma in the DSN (the
// README's mmap_size for listing a large file faster) is set on every
// connection of the pool, beside passkeyctl's own, and a listing reads
// through it; a misspelt one, which SQLite would ignore without a word,
// is refused.
func TestSQLite_userPragmaOnEveryConnection(t *testing.T) {
	ctx := context.Background()
	dsn, d := dbtest.Migrated(t, "sqlite")
	if _, err := dbtest.GeneratePasskeys(ctx, d, 3, 2); err != nil {
		t.Fatal(err)
	}
	d.Close()
	d = dbtest.Open(t, dsn+"?_pragma=mmap_size(1048576)")
	// Two connections held at once: the second is a new one.
	var conns [2]*sql.Conn
	for i := range conns {
		c, err := d.X.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	for i, c := range conns {
		var mmap, fk int64
		if err := c.QueryRowContext(ctx, "PRAGMA mmap_size").Scan(&mmap); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if mmap != 1048576 || fk != 1 {
			t.Errorf("connection %d: mmap_size %d, foreign_keys %d; want 1048576 and 1", i, mmap, fk)
		}
	}
	n := 0
	if err := d.ListPasskeys(ctx, detect(t, d), store.ListOptions{ProviderID: "passkey"}, func(passkey.Passkey) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 6 {
		t.Errorf("listed %d passkeys through the mmap_size DSN, want 6", n)
	}

	for _, query := range []string{"_pragma=mmap_sise(1048576)", "_pragma=busy_timeout(50)&_pragma=main.Cache_Sise=5"} {
		_, err := db.Open(ctx, dsn+"?"+query, db.OpenOptions{})
		if !errors.Is(err, passkey.ErrInvalid) || !strings.Contains(err.Error(), "_sise") {
			t.Errorf("open with ?%s: %v; want ErrInvalid naming the misspelt pragma", query, err)
		}
	}
	// Malformed: the driver would run "PRAGMA " + it and fail as if the
	// file could not be opened (exit 1); it is bad input (exit 2).
	// Neither the value nor the query is quoted back: one cut short may
	// hold anything.
	for _, query := range []string{"_pragma=mmap_size(abc", "_pragma=", "_pragma=mmap_size(1)%3Bdrop", "_pragma=cache_size=-", "_pragma=%zz", "_pragma=key('S3cret", "_pragma=%zzS3cret"} {
		_, err := db.Open(ctx, dsn+"?"+query, db.OpenOptions{})
		if !errors.Is(err, passkey.ErrInvalid) || strings.Contains(err.Error(), "S3cret") || strings.Contains(err.Error(), "drop") {
			t.Errorf("open with ?%s: %v; want ErrInvalid, the value not shown", query, err)
		}
	}
	for _, query := range []string{"_pragma=MAIN.MMAP_SIZE=4096", "_pragma=journal_mode%3DWAL", "_pragma=cache_size(-2000)", "_pragma=busy_timeout%20%3D%2050", "_pragma=encoding='UTF-8'"} {
		if d, err := db.Open(ctx, dsn+"?"+query, db.OpenOptions{}); err != nil {
			t.Errorf("open with ?%s: %v", query, err)
		} else {
			d.Close()
		}
	}
}
