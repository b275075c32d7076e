package db_test

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// baShape is one Better Auth table shape under test.
type baShape struct {
	name string
	opts dbtest.BetterAuthOptions
}

var baShapes = []baShape{
	{"camelCase", dbtest.BetterAuthOptions{}},
	{"snake_case", dbtest.BetterAuthOptions{Snake: true}},
}

// baUser inserts a Better Auth user row and returns its id (the
// database's in integer mode).
func baUser(t testing.TB, d *db.DB, s *db.Schema, id, email, name string) string {
	t.Helper()
	ba := s.BetterAuth
	cols := []string{ba.U.Name, ba.U.Email, ba.U.EmailVerified, ba.U.UpdatedAt}
	args := []any{name, email, true, baTime(d, ba.User, ba.U.UpdatedAt)}
	if ba.UserIDMode != db.IDInteger {
		cols, args = append(cols, ba.U.ID), append(args, id)
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = d.Q(c)
	}
	q := "INSERT INTO " + d.Q(ba.User.Name) + " (" + strings.Join(quoted, ", ") + ") VALUES (" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	if _, err := d.X.ExecContext(context.Background(), d.Dialect.Rebind(q), args...); err != nil {
		t.Fatalf("insert user: %v", err)
	}
	u, err := d.FindUser(context.Background(), s, email)
	if err != nil {
		t.Fatalf("find user %s: %v", email, err)
	}
	return u.ID
}

// baTime is a fixed time in the form the column stores.
func baTime(d *db.DB, t *db.Table, col string) any {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c, _ := t.Column(col)
	if d.Dialect == db.SQLite {
		if c.Type == "integer" {
			return ts.UnixMilli()
		}
		return ts.Format("2006-01-02T15:04:05.000Z")
	}
	return ts
}

func TestDetect_betterAuth(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		for _, sh := range baShapes {
			for _, mode := range []string{"text", "integer"} {
				t.Run(dialect+"/"+sh.name+"/"+mode, func(t *testing.T) {
					o := sh.opts
					o.IDMode = mode
					_, d := dbtest.BetterAuth(t, dialect, o)
					s := detect(t, d)
					if s.App != db.AppBetterAuth || !slices.Equal(s.Apps, []db.App{db.AppBetterAuth}) {
						t.Fatalf("app %q apps %v", s.App, s.Apps)
					}
					if s.User != nil || s.Authenticator != nil {
						t.Fatalf("Better Auth tables taken for Auth.js: naming %s user %v", s.Naming, s.User)
					}
					ba, err := s.PasskeyTableReady()
					if err != nil {
						t.Fatal(err)
					}
					wantNaming, wantCred, wantPub := db.BetterAuthCamel, "credentialID", "publicKey"
					if o.Snake {
						wantNaming, wantCred, wantPub = db.BetterAuthSnake, "credential_id", "public_key"
					}
					if ba.Naming != wantNaming || ba.P.CredentialID != wantCred || ba.P.PublicKey != wantPub || ba.P.AAGUID != "aaguid" {
						t.Fatalf("naming %s columns %+v", ba.Naming, ba.P)
					}
					if string(ba.IDMode) != mode || string(ba.UserIDMode) != mode {
						t.Fatalf("id modes %s/%s, want %s", ba.IDMode, ba.UserIDMode, mode)
					}
					wantForm := db.TimeNative
					if dialect == "sqlite" {
						wantForm = map[bool]db.TimeForm{false: db.TimeISO, true: db.TimeMillis}[o.Snake]
					}
					if ba.CreatedAt != wantForm {
						t.Fatalf("createdAt form %s, want %s", ba.CreatedAt, wantForm)
					}
					if !slices.ContainsFunc(ba.Warnings, func(w store.Warning) bool { return strings.Contains(w.Message, "no unique index") && w.FixSQL != "" }) {
						t.Fatalf("no warning about the non-unique credentialID: %+v", ba.Warnings)
					}
					if dialect == "mysql" && !slices.ContainsFunc(ba.Warnings, func(w store.Warning) bool { return strings.Contains(w.Message, "case-insensitive") }) {
						t.Fatalf("no warning about the case-insensitive collation: %+v", ba.Warnings)
					}
				})
			}
		}
	}
}

func TestDetect_betterAuthUUIDMode(t *testing.T) {
	t.Run("postgres uuid column", func(t *testing.T) {
		_, d := dbtest.BetterAuth(t, "postgres", dbtest.BetterAuthOptions{IDMode: "uuid"})
		s := detect(t, d)
		if s.BetterAuth.IDMode != db.IDUUID || s.BetterAuth.UserIDMode != db.IDUUID {
			t.Fatalf("modes %s %s", s.BetterAuth.IDMode, s.BetterAuth.UserIDMode)
		}
	})
	// MySQL and SQLite keep UUIDs in string columns: the ids already there
	// tell the mode.
	t.Run("mysql uuid values", func(t *testing.T) {
		_, d := dbtest.BetterAuth(t, "mysql", dbtest.BetterAuthOptions{})
		dbtest.Exec(t, d, "INSERT INTO `user` (id, name, email, emailVerified, updatedAt) VALUES ('0b0c8f4e-6a55-4d0e-9c39-1e7d7f6f2a10', 'a', 'a@example.com', 0, NOW())")
		s := detect(t, d)
		if s.BetterAuth.UserIDMode != db.IDUUID || s.BetterAuth.IDMode != db.IDText {
			t.Fatalf("modes passkey %s user %s", s.BetterAuth.IDMode, s.BetterAuth.UserIDMode)
		}
	})
}

func TestDetect_bothApps(t *testing.T) {
	// Prisma's "User" and Better Auth's "user" coexist on PostgreSQL and
	// on Linux MySQL/MariaDB (SQLite's names are case-insensitive).
	for _, dialect := range []string{"postgres", "mysql"} {
		t.Run(dialect, func(t *testing.T) {
			_, d := dbtest.Migrated(t, dialect)
			dbtest.Exec(t, d, dbtest.BetterAuthSQL(dialect, dbtest.BetterAuthOptions{})...)
			_, err := d.Detect(context.Background())
			if !errors.Is(err, passkey.ErrInvalid) || !strings.Contains(err.Error(), "--schema authjs or --schema better-auth") {
				t.Fatalf("want a usage error naming --schema, got %v", err)
			}
			d.SchemaOptions = db.SchemaOptions{App: db.AppAuthjs}
			s := detect(t, d)
			if s.App != db.AppAuthjs || s.Authenticator == nil || s.Naming != db.NamingPrisma {
				t.Fatalf("authjs: app %s naming %s", s.App, s.Naming)
			}
			d.SchemaOptions = db.SchemaOptions{App: db.AppBetterAuth}
			s = detect(t, d)
			if s.App != db.AppBetterAuth || s.BetterAuth == nil || s.BetterAuth.Passkey.Name != "passkey" {
				t.Fatalf("better-auth: app %s", s.App)
			}
		})
	}
}

func TestDetect_drizzleAuthjsIsNotBetterAuth(t *testing.T) {
	d := dbtest.Open(t, dbtest.New(t, "sqlite"))
	dbtest.Exec(t, d,
		`CREATE TABLE "user" ("id" TEXT NOT NULL PRIMARY KEY, "name" TEXT, "email" TEXT UNIQUE, "emailVerified" INTEGER, "image" TEXT)`,
		`CREATE TABLE "account" ("userId" TEXT NOT NULL REFERENCES "user"("id") ON DELETE CASCADE, "type" TEXT NOT NULL, "provider" TEXT NOT NULL, "providerAccountId" TEXT NOT NULL, PRIMARY KEY ("provider", "providerAccountId"))`,
	)
	s := detect(t, d)
	if s.Naming != db.NamingDrizzle || s.App != db.AppAuthjs || s.BetterAuth != nil || !slices.Equal(s.Apps, []db.App{db.AppAuthjs}) {
		t.Fatalf("naming %s app %s apps %v betterauth %v", s.Naming, s.App, s.Apps, s.BetterAuth)
	}
	// Better Auth's own account table (accountId/providerId) is not
	// Drizzle Auth.js.
	d2 := dbtest.Open(t, dbtest.New(t, "sqlite"))
	dbtest.Exec(t, d2, dbtest.BetterAuthSQL("sqlite", dbtest.BetterAuthOptions{NoPasskey: true})...)
	s = detect(t, d2)
	if s.User != nil || s.App != db.AppBetterAuth || s.BetterAuth == nil || s.BetterAuth.Passkey != nil {
		t.Fatalf("Better Auth without passkeys: naming %s app %s user %v", s.Naming, s.App, s.User)
	}
	if _, err := s.PasskeyTableReady(); !errors.Is(err, passkey.ErrSchemaNotReady) || !strings.Contains(err.Error(), "passkey plugin") {
		t.Fatalf("want schema-not-ready naming the plugin, got %v", err)
	}
}

func TestDetect_renamedBetterAuthTables(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			_, d := dbtest.BetterAuth(t, dialect, dbtest.BetterAuthOptions{Snake: true, PasskeyTable: "passkeys", UserTable: "users"})
			// Found by its columns, the user table by the foreign key.
			s := detect(t, d)
			if s.App != db.AppBetterAuth || s.BetterAuth.Passkey == nil || s.BetterAuth.Passkey.Name != "passkeys" || s.BetterAuth.User.Name != "users" {
				t.Fatalf("app %s betterauth %+v", s.App, s.BetterAuth)
			}
			// An explicit override naming a missing table is an error.
			d.SchemaOptions = db.SchemaOptions{PasskeyTable: "nope"}
			if _, err := d.Detect(context.Background()); !errors.Is(err, passkey.ErrSchemaNotReady) || !strings.Contains(err.Error(), "nope") {
				t.Fatalf("want schema-not-ready for a missing table, got %v", err)
			}
			d.SchemaOptions = db.SchemaOptions{PasskeyTable: "passkeys", UserTable: "users"}
			if s := detect(t, d); s.BetterAuth.Passkey.Name != "passkeys" {
				t.Fatal("override not applied")
			}
		})
	}
	// Two tables shaped like Better Auth's passkey table: the user must
	// choose.
	t.Run("ambiguous", func(t *testing.T) {
		_, d := dbtest.BetterAuth(t, "sqlite", dbtest.BetterAuthOptions{PasskeyTable: "passkeys"})
		dbtest.Exec(t, d, `CREATE TABLE "old_passkeys" ("id" TEXT PRIMARY KEY, "publicKey" TEXT NOT NULL, "userId" TEXT NOT NULL, "credentialID" TEXT NOT NULL, "counter" INTEGER NOT NULL, "deviceType" TEXT NOT NULL, "backedUp" INTEGER NOT NULL)`)
		if _, err := detect(t, d).PasskeyTableReady(); !errors.Is(err, passkey.ErrInvalid) || !strings.Contains(err.Error(), "--tables passkey=NAME") {
			t.Fatalf("want a usage error naming --tables, got %v", err)
		}
		d.SchemaOptions = db.SchemaOptions{PasskeyTable: "passkeys"}
		if s := detect(t, d); s.BetterAuth.Passkey.Name != "passkeys" {
			t.Fatal("override not applied")
		}
	})
}

func TestParseAppAndTables(t *testing.T) {
	for in, want := range map[string]db.App{"": "", "authjs": db.AppAuthjs, "better-auth": db.AppBetterAuth, "Better-Auth": db.AppBetterAuth} {
		if got, err := db.ParseApp(in); err != nil || got != want {
			t.Errorf("ParseApp(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := db.ParseApp("clerk"); !errors.Is(err, passkey.ErrInvalid) {
		t.Errorf("ParseApp(clerk) = %v", err)
	}
	var o db.SchemaOptions
	if err := db.ParseTables("passkey=pk, user=people", &o); err != nil || o.PasskeyTable != "pk" || o.UserTable != "people" {
		t.Errorf("ParseTables: %+v %v", o, err)
	}
	for _, bad := range []string{"passkey", "session=s", "user="} {
		if err := db.ParseTables(bad, &o); !errors.Is(err, passkey.ErrInvalid) {
			t.Errorf("ParseTables(%q) = %v", bad, err)
		}
	}
}

var (
	textID = regexp.MustCompile(`^[A-Za-z0-9]{32}$`)
	uuidID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
)

func TestNewBetterAuthID(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		id, err := db.NewBetterAuthID(db.IDText, nil)
		if err != nil || !textID.MatchString(id) || seen[id] {
			t.Fatalf("text id %q %v", id, err)
		}
		seen[id] = true
		u, err := db.NewBetterAuthID(db.IDUUID, nil)
		if err != nil || !uuidID.MatchString(u) {
			t.Fatalf("uuid %q %v", u, err)
		}
	}
}

// TestBetterAuthStore writes, reads, refuses, updates and deletes passkeys
// in every dialect and naming, checking the stored encodings with raw SQL.
func TestBetterAuthStore(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 1, 52, 45, 510_000_000, time.UTC)
	for _, dialect := range dbtest.Dialects {
		for _, sh := range baShapes {
			modes := []string{"text"}
			if sh.opts.Snake {
				modes = append(modes, "integer")
			} else if dialect == "postgres" {
				modes = append(modes, "uuid")
			}
			for _, mode := range modes {
				t.Run(dialect+"/"+sh.name+"/"+mode, func(t *testing.T) {
					o := sh.opts
					o.IDMode = mode
					_, d := dbtest.BetterAuth(t, dialect, o)
					s := detect(t, d)
					ba := s.BetterAuth
					var uid string
					if mode == "uuid" {
						uid = baUserUUID(t, d, s)
					} else {
						uid = baUser(t, d, s, "q24SsGdoIXwYPGrr6eHR7fyorwYoBf27", "fixture@example.com", "Fixture")
					}
					aaguid := "EA9B8D66-4D01-1D21-3CE4-B6B48CB575D4"
					p := db.BetterAuthPasskey{
						PublicKey:    "pQECAyYgASFYIO3adnofGqCN5eV16BrABmesLTYB5m98AGTRWommB26fIlggNZM8Au+ZzFNN5c6sntdGR9UJbuQrBjaIko/4xw5gr4c=",
						UserID:       uid,
						CredentialID: "-_-_DlocM6nS8Etsjhej2cKx8O4",
						DeviceType:   "multiDevice",
						BackedUp:     true,
						AAGUID:       &aaguid,
					}
					got, err := d.InsertBetterAuthPasskey(ctx, s, p, db.BetterAuthInsertOptions{Now: func() time.Time { return now }})
					if err != nil {
						t.Fatal(err)
					}
					switch mode {
					case "text":
						if !textID.MatchString(got.ID) {
							t.Errorf("id %q is not 32 [A-Za-z0-9]", got.ID)
						}
					case "uuid":
						if !uuidID.MatchString(got.ID) {
							t.Errorf("id %q is not a UUID", got.ID)
						}
					case "integer":
						if got.ID != "1" {
							t.Errorf("id %q, want the database's 1", got.ID)
						}
					}
					if got.CredentialID != p.CredentialID || got.PublicKey != p.PublicKey || got.UserID != uid || !got.BackedUp ||
						got.Transports == nil || *got.Transports != "" || got.AAGUID == nil || *got.AAGUID != strings.ToLower(aaguid) ||
						got.CreatedAt == nil || !got.CreatedAt.Equal(now) || got.Email == nil || *got.Email != "fixture@example.com" || got.Status() != passkey.StatusOK {
						t.Errorf("read back %+v (createdAt %v)", got, got.CreatedAt)
					}
					// The raw column values, as Better Auth reads them.
					var rawCreated any
					var rawBacked any
					var transports string
					q := "SELECT " + d.Q(ba.P.CreatedAt) + ", " + d.Q(ba.P.BackedUp) + ", " + d.Q(ba.P.Transports) + " FROM " + d.Q(ba.Passkey.Name)
					if err := d.X.QueryRowContext(ctx, q).Scan(&rawCreated, &rawBacked, &transports); err != nil {
						t.Fatal(err)
					}
					if transports != "" {
						t.Errorf("transports %q, want \"\"", transports)
					}
					switch {
					case dialect == "sqlite" && o.Snake:
						if v, ok := rawCreated.(int64); !ok || v != now.UnixMilli() {
							t.Errorf("createdAt stored as %T %v, want integer ms", rawCreated, rawCreated)
						}
					case dialect == "sqlite":
						if v, ok := rawCreated.(string); ok && v != "2026-11-25T01:52:45.510Z" {
							t.Errorf("createdAt stored as %q", v)
						}
					}
					if dialect != "postgres" {
						if v, ok := rawBacked.(int64); !ok || v != 1 {
							t.Errorf("backedUp stored as %T %v, want 1", rawBacked, rawBacked)
						}
					}

					// The same credential again: refused, whatever the case
					// of the stored form.
					if _, err := d.InsertBetterAuthPasskey(ctx, s, p, db.BetterAuthInsertOptions{}); !errors.Is(err, passkey.ErrConflict) {
						t.Fatalf("duplicate: want ErrConflict, got %v", err)
					}
					// Exact lookup: another case is another credential,
					// also on MySQL's case-insensitive collation.
					other := p
					other.CredentialID = "-_-_DLOCM6nS8Etsjhej2cKx8O4"
					if _, err := d.GetBetterAuthPasskey(ctx, s, other.CredentialID); !errors.Is(err, passkey.ErrNotFound) {
						t.Fatalf("case-insensitive match: %v", err)
					}
					if _, err := d.InsertBetterAuthPasskey(ctx, s, other, db.BetterAuthInsertOptions{}); err != nil {
						t.Fatalf("a credential differing only in case: %v", err)
					}
					// Not Better Auth's form, or an unknown user: refused.
					bad := p
					bad.CredentialID = "+/+/DlocM6nS8Etsjhej2cKx8O4="
					if _, err := d.InsertBetterAuthPasskey(ctx, s, bad, db.BetterAuthInsertOptions{}); !errors.Is(err, passkey.ErrInvalid) {
						t.Fatalf("standard base64 ID: want ErrInvalid, got %v", err)
					}
					bad = p
					bad.CredentialID, bad.UserID = "AAAA", "999999"
					if _, err := d.InsertBetterAuthPasskey(ctx, s, bad, db.BetterAuthInsertOptions{}); !errors.Is(err, passkey.ErrNotFound) {
						t.Fatalf("unknown user: want ErrNotFound, got %v", err)
					}

					if err := d.UpdateBetterAuthCounter(ctx, s, p.CredentialID, 7); err != nil {
						t.Fatal(err)
					}
					if r, _ := d.GetBetterAuthPasskey(ctx, s, p.CredentialID); r.Counter != 7 {
						t.Fatalf("counter %d after update", r.Counter)
					}
					if err := d.UpdateBetterAuthCounter(ctx, s, "nope", 1); dialect != "mysql" && !errors.Is(err, passkey.ErrNotFound) {
						t.Fatalf("update unknown: %v", err)
					}
					var n int
					err = d.BetterAuthPasskeys(ctx, s, db.BetterAuthListOptions{UserID: uid}, func(r db.BetterAuthPasskeyRow) error { n++; return nil })
					if err != nil || n != 2 {
						t.Fatalf("list: %d passkeys, %v", n, err)
					}
					del, err := d.DeleteBetterAuthPasskey(ctx, s, p.CredentialID)
					if err != nil || del.CredentialID != p.CredentialID {
						t.Fatalf("delete: %+v %v", del, err)
					}
					if _, err := d.DeleteBetterAuthPasskey(ctx, s, p.CredentialID); !errors.Is(err, passkey.ErrNotFound) {
						t.Fatalf("delete again: %v", err)
					}
					if r, err := d.GetBetterAuthPasskey(ctx, s, other.CredentialID); err != nil || r.CredentialID != other.CredentialID {
						t.Fatalf("the other credential must survive: %v", err)
					}
				})
			}
		}
	}
}

// baUserUUID inserts a user into a uuid-mode table, letting the database
// generate the id.
func baUserUUID(t testing.TB, d *db.DB, s *db.Schema) string {
	t.Helper()
	ba := s.BetterAuth
	q := "INSERT INTO " + d.Q(ba.User.Name) + " (" + d.Q(ba.U.Name) + ", " + d.Q(ba.U.Email) + ", " + d.Q(ba.U.EmailVerified) + ", " + d.Q(ba.U.UpdatedAt) + ") VALUES ('Fixture', 'fixture@example.com', true, now())"
	dbtest.Exec(t, d, q)
	u, err := d.FindUser(context.Background(), s, "fixture@example.com")
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func TestBetterAuthDuplicateRows(t *testing.T) {
	// The table has no unique index: a duplicate written by someone else
	// is reported, and delete refuses to pick one.
	_, d := dbtest.BetterAuth(t, "sqlite", dbtest.BetterAuthOptions{})
	s := detect(t, d)
	uid := baUser(t, d, s, "u1", "a@example.com", "A")
	for _, id := range []string{"p1", "p2"} {
		dbtest.Exec(t, d, `INSERT INTO "passkey" ("id", "publicKey", "userId", "credentialID", "counter", "deviceType", "backedUp", "transports") VALUES ('`+id+`', 'pQECAyYgASFYIO3adnofGqCN5eV16BrABmesLTYB5m98AGTRWommB26fIlggNZM8Au+ZzFNN5c6sntdGR9UJbuQrBjaIko/4xw5gr4c=', '`+uid+`', 'AAAA', 0, 'singleDevice', 0, '')`)
	}
	if _, err := d.GetBetterAuthPasskey(context.Background(), s, "AAAA"); !errors.Is(err, passkey.ErrConflict) || !strings.Contains(err.Error(), "p1, p2") {
		t.Fatalf("want a conflict listing both ids, got %v", err)
	}
	if _, err := d.DeleteBetterAuthPasskey(context.Background(), s, "AAAA"); !errors.Is(err, passkey.ErrConflict) {
		t.Fatalf("delete of a duplicated ID: %v", err)
	}
}
