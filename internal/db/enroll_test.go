package db_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// A COSE ES256 key (77 bytes, 104 base64 characters) and an RSA-2048 one
// (272 bytes, 364 characters), as authenticators send them.
var (
	enrolES256Key = enrolB64("pQECAyYgASFYIMAYEZESxZA8Oph6Bewn9vMntNwy+Ca7PZbKcHhUMANrIlggZLbNNdO6oJ/2NtR8/An2CHU8ASi/rqmwaztKfyYows4=")
	enrolRS256Key = append(append([]byte{0xa4, 0x01, 0x03, 0x03, 0x39, 0x01, 0x00, 0x20, 0x59, 0x01, 0x00}, bytes.Repeat([]byte{0xc3}, 256)...), 0x21, 0x43, 0x01, 0x00, 0x01)
)

func enrolB64(s string) []byte {
	b, err := passkey.DecodeBase64(s)
	if err != nil {
		panic(err)
	}
	return b
}

var enrolNow = time.Date(2026, 5, 6, 7, 8, 9, 123_000_000, time.UTC)

func enrolOpts() store.EnrollOptions {
	return store.EnrollOptions{ProviderID: "passkey", Now: func() time.Time { return enrolNow }, Rand: rand.Reader}
}

func enrolDetect(t *testing.T, d *db.DB) *db.Schema {
	t.Helper()
	s, err := d.Detect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// q quotes "identifiers" for MySQL.
func enrolQ(d *db.DB, query string) string {
	if d.Dialect == db.MySQL {
		query = strings.ReplaceAll(query, `"`, "`")
	}
	return d.Dialect.Rebind(query)
}

func enrolSeedUser(t *testing.T, d *db.DB, id, email string) {
	t.Helper()
	if _, err := d.X.Exec(enrolQ(d, `INSERT INTO "User" ("id", "email", "updatedAt") VALUES (?, ?, ?)`), id, email, time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
}

func enrolCount(t *testing.T, d *db.DB, table string) int {
	t.Helper()
	var n int
	if err := d.X.Get(&n, enrolQ(d, `SELECT COUNT(*) FROM "`+table+`"`)); err != nil {
		t.Fatal(err)
	}
	return n
}

func enrolPasskey(userID string, id byte, key []byte) store.NewPasskey {
	return store.NewPasskey{UserID: userID, CredentialID: bytes.Repeat([]byte{id}, 16), PublicKey: key, BackupEligible: true, BackupState: true, Transports: []string{"hybrid", "internal"}}
}

func TestCreatePasskey_authjsRows(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			_, d := dbtest.Migrated(t, dialect)
			s := enrolDetect(t, d)
			enrolSeedUser(t, d, "u1", "alice@example.com")
			if err := d.CheckEnroll(ctx, s, "u1", false); err != nil {
				t.Fatal(err)
			}
			np := enrolPasskey("u1", 0xfb, enrolES256Key)
			np.Counter = 7
			p, err := d.CreatePasskey(ctx, s, np, enrolOpts())
			if err != nil {
				t.Fatal(err)
			}
			id := passkey.AuthjsCredentialID(np.CredentialID) // "+/v7..." exercises the standard alphabet
			want := passkey.Passkey{CredentialID: id, UserID: "u1", Email: p.Email, Counter: 7, CredentialDeviceType: "multiDevice", CredentialBackedUp: true,
				Transports: []string{"hybrid", "internal"}, Algorithm: "ES256", Status: passkey.StatusOK, PublicKey: passkey.AuthjsCredentialID(enrolES256Key), ProviderAccountID: id}
			if p.Email == nil || *p.Email != "alice@example.com" || !enrolEqual(p, want) {
				t.Fatalf("stored %+v\nwant %+v", p, want)
			}
			var typ, provider string
			if err := d.X.QueryRow(enrolQ(d, `SELECT "type", "provider" FROM "Account" WHERE "providerAccountId" = ? AND "userId" = ?`), id, "u1").Scan(&typ, &provider); err != nil || typ != "webauthn" || provider != "passkey" {
				t.Fatalf("Account: %q %q %v", typ, provider, err)
			}

			// Single-device, not backed up, no transports: NULL, as Auth.js.
			np2 := store.NewPasskey{UserID: "u1", CredentialID: []byte{1, 2, 3}, PublicKey: enrolES256Key}
			p2, err := d.CreatePasskey(ctx, s, np2, enrolOpts())
			if err != nil || p2.CredentialDeviceType != "singleDevice" || p2.CredentialBackedUp || len(p2.Transports) != 0 {
				t.Fatalf("%+v %v", p2, err)
			}
			var tr sql.NullString
			d.X.QueryRow(enrolQ(d, `SELECT "transports" FROM "Authenticator" WHERE "credentialID" = ?`), "AQID").Scan(&tr)
			if tr.Valid {
				t.Errorf("transports %q, want NULL", tr.String)
			}

			ids, err := d.UserCredentialIDs(ctx, s, "u1")
			if err != nil || len(ids) != 2 {
				t.Fatalf("UserCredentialIDs: %d %v", len(ids), err)
			}

			if err := d.UpdateCounter(ctx, s, np.CredentialID, 8); err != nil {
				t.Fatal(err)
			}
			if p, _ := d.GetPasskey(ctx, s, np.CredentialID, "passkey"); p.Counter != 8 {
				t.Fatalf("counter %d", p.Counter)
			}
			if err := d.UpdateCounter(ctx, s, []byte("nope"), 1); dialect != "mysql" && !errors.Is(err, passkey.ErrNotFound) {
				t.Fatalf("update a missing credential: %v", err)
			}
		})
	}
}

func enrolEqual(a, b passkey.Passkey) bool {
	a.Email, b.Email = nil, nil
	return a.CredentialID == b.CredentialID && a.UserID == b.UserID && a.Counter == b.Counter && a.CredentialDeviceType == b.CredentialDeviceType &&
		a.CredentialBackedUp == b.CredentialBackedUp && strings.Join(a.Transports, ",") == strings.Join(b.Transports, ",") &&
		a.Algorithm == b.Algorithm && a.Status == b.Status && a.PublicKey == b.PublicKey && a.ProviderAccountID == b.ProviderAccountID
}

func TestCreatePasskey_refusesAndWritesNothing(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			_, d := dbtest.Migrated(t, dialect)
			s := enrolDetect(t, d)
			enrolSeedUser(t, d, "u1", "alice@example.com")
			enrolSeedUser(t, d, "u2", "bob@example.com")
			np := enrolPasskey("u1", 0x11, enrolES256Key)
			if _, err := d.CreatePasskey(ctx, s, np, enrolOpts()); err != nil {
				t.Fatal(err)
			}
			auth, acct := enrolCount(t, d, "Authenticator"), enrolCount(t, d, "Account")

			np.UserID = "u2"
			if _, err := d.CreatePasskey(ctx, s, np, enrolOpts()); !errors.Is(err, passkey.ErrConflict) || !strings.Contains(err.Error(), "already registered") {
				t.Fatalf("duplicate: %v", err)
			}
			// An orphan Account row (a half-failed Auth.js registration)
			// with the ID also refuses.
			orphan := enrolPasskey("u2", 0x22, enrolES256Key)
			if _, err := d.X.Exec(enrolQ(d, `INSERT INTO "Account" ("userId", "type", "provider", "providerAccountId", "updatedAt") VALUES (?, 'webauthn', 'passkey', ?, ?)`), "u2", passkey.AuthjsCredentialID(orphan.CredentialID), time.Now().UTC()); err != nil {
				t.Fatal(err)
			}
			acct++
			if _, err := d.CreatePasskey(ctx, s, orphan, enrolOpts()); !errors.Is(err, passkey.ErrConflict) || !strings.Contains(err.Error(), "without an Authenticator row") {
				t.Fatalf("orphan: %v", err)
			}
			if _, err := d.CreatePasskey(ctx, s, enrolPasskey("nobody", 0x33, enrolES256Key), enrolOpts()); !errors.Is(err, passkey.ErrNotFound) {
				t.Fatalf("unknown user: %v", err)
			}
			if _, err := d.CreatePasskey(ctx, s, enrolPasskey("u1", 0x44, []byte("not cbor")), enrolOpts()); !errors.Is(err, passkey.ErrInvalid) {
				t.Fatalf("bad key: %v", err)
			}
			big := enrolPasskey("u1", 0x55, enrolES256Key)
			big.Counter = 1 << 31
			if _, err := d.CreatePasskey(ctx, s, big, enrolOpts()); !errors.Is(err, passkey.ErrSchemaNotReady) {
				t.Fatalf("counter over INT: %v", err)
			}
			if a, c := enrolCount(t, d, "Authenticator"), enrolCount(t, d, "Account"); a != auth || c != acct {
				t.Fatalf("rows written: Authenticator %d (want %d), Account %d (want %d)", a, auth, c, acct)
			}
		})
	}
}

func TestCreatePasskey_createUser(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			_, d := dbtest.Migrated(t, dialect)
			s := enrolDetect(t, d)
			id, err := db.NewUserID(s, enrolNow, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			if err := d.CheckEnroll(ctx, s, id, true); err != nil {
				t.Fatal(err)
			}
			opts := enrolOpts()
			opts.CreateUser = &store.NewUser{ID: id, Email: "new@example.com"}
			p, err := d.CreatePasskey(ctx, s, enrolPasskey("", 0x66, enrolES256Key), opts)
			if err != nil || p.UserID != id || p.Email == nil || *p.Email != "new@example.com" {
				t.Fatalf("%+v %v", p, err)
			}
			var updated any
			if err := d.X.QueryRow(enrolQ(d, `SELECT "updatedAt" FROM "User" WHERE "id" = ?`), id).Scan(&updated); err != nil {
				t.Fatal(err)
			}
			switch v := updated.(type) {
			case time.Time:
				if !v.Equal(enrolNow) {
					t.Errorf("updatedAt %v, want %v", v, enrolNow)
				}
			case int64: // SQLite: Prisma's integer milliseconds
				if v != enrolNow.UnixMilli() {
					t.Errorf("updatedAt %d, want %d", v, enrolNow.UnixMilli())
				}
			default:
				t.Errorf("updatedAt %T %v", v, v)
			}
			// The user exists now: creating it again is a conflict, with
			// nothing written.
			if _, err := d.CreatePasskey(ctx, s, enrolPasskey("", 0x77, enrolES256Key), opts); !errors.Is(err, passkey.ErrConflict) {
				t.Fatalf("second create: %v", err)
			}
			if n := enrolCount(t, d, "Authenticator"); n != 1 {
				t.Fatalf("%d passkeys", n)
			}
		})
	}
}

// The Auth.js Prisma docs' MySQL schema: VARCHAR(191) everywhere, its own
// Account.id (a client-side cuid) and UNIQUE Account.userId.
const enrolMySQLDocsSchema = "CREATE TABLE `User` (`id` VARCHAR(191) NOT NULL, `name` VARCHAR(191) NULL, `email` VARCHAR(191) NULL, `emailVerified` DATETIME(3) NULL, `image` VARCHAR(191) NULL, " +
	"`createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), `updatedAt` DATETIME(3) NOT NULL, UNIQUE INDEX `User_email_key`(`email`), PRIMARY KEY (`id`)) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;\n" +
	"CREATE TABLE `Account` (`id` VARCHAR(191) NOT NULL, `userId` VARCHAR(191) NOT NULL, `type` VARCHAR(191) NOT NULL, `provider` VARCHAR(191) NOT NULL, `providerAccountId` VARCHAR(191) NOT NULL, " +
	"`refresh_token` TEXT NULL, `access_token` TEXT NULL, `expires_at` INTEGER NULL, `token_type` VARCHAR(191) NULL, `scope` VARCHAR(191) NULL, `id_token` TEXT NULL, `session_state` VARCHAR(191) NULL, " +
	"`createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), `updatedAt` DATETIME(3) NOT NULL, UNIQUE INDEX `Account_userId_key`(`userId`), %s" +
	"UNIQUE INDEX `Account_provider_providerAccountId_key`(`provider`, `providerAccountId`), PRIMARY KEY (`id`), " +
	"CONSTRAINT `Account_userId_fkey` FOREIGN KEY (`userId`) REFERENCES `User`(`id`) ON DELETE RESTRICT ON UPDATE CASCADE) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;\n" +
	"CREATE TABLE `Authenticator` (`credentialID` VARCHAR(191) NOT NULL, `userId` VARCHAR(191) NOT NULL, `providerAccountId` VARCHAR(191) NOT NULL, `credentialPublicKey` VARCHAR(191) NOT NULL, " +
	"`counter` INTEGER NOT NULL, `credentialDeviceType` VARCHAR(191) NOT NULL, `credentialBackedUp` BOOLEAN NOT NULL, `transports` VARCHAR(191) NULL, " +
	"UNIQUE INDEX `Authenticator_credentialID_key`(`credentialID`), PRIMARY KEY (`userId`, `credentialID`), " +
	"CONSTRAINT `Authenticator_userId_fkey` FOREIGN KEY (`userId`) REFERENCES `User`(`id`) ON DELETE CASCADE ON UPDATE CASCADE) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"

// fixOf returns the SQL after "Fix: " in err, without the Prisma note.
func enrolFix(t *testing.T, err error) []string {
	t.Helper()
	_, fix, ok := strings.Cut(err.Error(), "Fix: ")
	if !ok {
		t.Fatalf("no fix in %v", err)
	}
	fix, _, _ = strings.Cut(fix, " (and remove")
	var stmts []string
	for _, s := range strings.Split(fix, ";") {
		if s = strings.TrimSpace(s); s != "" {
			stmts = append(stmts, s)
		}
	}
	return stmts
}

// On the MySQL docs schema a second Account for a user, and an RSA key in
// VARCHAR(191), are refused before writing, with SQL that fixes them; the
// fixes work.
func TestCreatePasskey_mysqlDocsSchema(t *testing.T) {
	for _, tc := range []struct{ name, plainIndex, wantFix string }{
		{"with a plain userId index", "INDEX `Account_userId_idx`(`userId`), ", "ALTER TABLE `Account` DROP INDEX `Account_userId_key`"},
		{"unique index only", "", "ALTER TABLE `Account` ADD INDEX `Account_userId_idx` (`userId`), DROP INDEX `Account_userId_key`"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			d := dbtest.Open(t, dbtest.New(t, "mysql"))
			for _, stmt := range strings.Split(strings.Replace(enrolMySQLDocsSchema, "%s", tc.plainIndex, 1), ";\n") {
				dbtest.Exec(t, d, stmt)
			}
			s := enrolDetect(t, d)
			enrolSeedUser(t, d, "u1", "alice@example.com")
			dbtest.Exec(t, d, "INSERT INTO `Account` (`id`, `userId`, `type`, `provider`, `providerAccountId`, `updatedAt`) VALUES ('a1', 'u1', 'oauth', 'github', '42', NOW(3))")

			err := d.CheckEnroll(ctx, s, "u1", false)
			if !errors.Is(err, passkey.ErrSchemaNotReady) || !strings.Contains(err.Error(), "Account.userId is UNIQUE") {
				t.Fatalf("CheckEnroll: %v", err)
			}
			if _, err2 := d.CreatePasskey(ctx, s, enrolPasskey("u1", 0x01, enrolES256Key), enrolOpts()); !errors.Is(err2, passkey.ErrSchemaNotReady) {
				t.Fatalf("CreatePasskey: %v", err2)
			}
			fix := enrolFix(t, err)
			if strings.Join(fix, "; ") != tc.wantFix {
				t.Fatalf("fix %q, want %q", fix, tc.wantFix)
			}
			dbtest.Exec(t, d, fix...)
			s = enrolDetect(t, d)
			if err := d.CheckEnroll(ctx, s, "u1", false); err != nil {
				t.Fatalf("after the fix: %v", err)
			}

			// An RSA key does not fit VARCHAR(191).
			_, err = d.CreatePasskey(ctx, s, enrolPasskey("u1", 0x02, enrolRS256Key), enrolOpts())
			if !errors.Is(err, passkey.ErrSchemaNotReady) || !strings.Contains(err.Error(), "Authenticator.credentialPublicKey holds 191 characters, this RS256 public key takes 364") {
				t.Fatalf("RSA key: %v", err)
			}
			if n := enrolCount(t, d, "Authenticator"); n != 0 {
				t.Fatal("written")
			}
			dbtest.Exec(t, d, enrolFix(t, err)...)
			s = enrolDetect(t, d)
			p, err := d.CreatePasskey(ctx, s, enrolPasskey("u1", 0x02, enrolRS256Key), enrolOpts())
			if err != nil || p.Algorithm != "RS256" || p.Status != passkey.StatusOK {
				t.Fatalf("after the fix: %+v %v", p, err)
			}
			var id string
			var created, updated time.Time
			if err := d.X.QueryRow("SELECT `id`, `createdAt`, `updatedAt` FROM `Account` WHERE `provider` = 'passkey'").Scan(&id, &created, &updated); err != nil {
				t.Fatal(err)
			}
			if !regexp.MustCompile(`^c[0-9a-z]{24}$`).MatchString(id) || !updated.Equal(enrolNow) {
				t.Errorf("Account id %q updatedAt %v", id, updated)
			}
		})
	}
}

// A long credential ID does not fit a narrow PostgreSQL column either; the
// fix widens it.
func TestCreatePasskey_narrowPostgres(t *testing.T) {
	ctx := context.Background()
	_, d := dbtest.Migrated(t, "postgres")
	dbtest.Exec(t, d, `ALTER TABLE "Authenticator" ALTER COLUMN "credentialID" TYPE VARCHAR(191)`)
	s := enrolDetect(t, d)
	enrolSeedUser(t, d, "u1", "alice@example.com")
	np := enrolPasskey("u1", 0x03, enrolES256Key)
	np.CredentialID = bytes.Repeat([]byte{7}, 298)
	_, err := d.CreatePasskey(ctx, s, np, enrolOpts())
	if !errors.Is(err, passkey.ErrSchemaNotReady) || !strings.Contains(err.Error(), `ALTER TABLE "Authenticator" ALTER COLUMN "credentialID" TYPE TEXT;`) {
		t.Fatalf("%v", err)
	}
	dbtest.Exec(t, d, enrolFix(t, err)...)
	if _, err := d.CreatePasskey(ctx, enrolDetect(t, d), np, enrolOpts()); err != nil {
		t.Fatal(err)
	}
}

// The legacy schema's Authenticator.id (a Prisma cuid, no default) is
// filled; SQLite timestamps are Prisma's integer milliseconds.
func TestCreatePasskey_legacyID(t *testing.T) {
	for _, dialect := range []string{"postgres", "sqlite"} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			_, d := dbtest.Migrated(t, dialect)
			dbtest.Exec(t, d, `DROP TABLE "Authenticator"`,
				`CREATE TABLE "Authenticator" ("id" TEXT NOT NULL PRIMARY KEY, "credentialID" TEXT NOT NULL, "userId" TEXT NOT NULL, "providerAccountId" TEXT NOT NULL,
				"credentialPublicKey" TEXT NOT NULL, "counter" INTEGER NOT NULL, "credentialDeviceType" TEXT NOT NULL, "credentialBackedUp" BOOLEAN NOT NULL, "transports" TEXT,
				CONSTRAINT "Authenticator_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE)`,
				`CREATE UNIQUE INDEX "Authenticator_credentialID_key" ON "Authenticator"("credentialID")`)
			s := enrolDetect(t, d)
			if s.Variant != db.VariantLegacy {
				t.Fatalf("variant %s %v", s.Variant, s.Drift)
			}
			enrolSeedUser(t, d, "u1", "alice@example.com")
			np := enrolPasskey("u1", 0x04, enrolES256Key)
			if _, err := d.CreatePasskey(ctx, s, np, enrolOpts()); err != nil {
				t.Fatal(err)
			}
			var id string
			if err := d.X.QueryRow(enrolQ(d, `SELECT "id" FROM "Authenticator"`)).Scan(&id); err != nil || !regexp.MustCompile(`^c[0-9a-z]{24}$`).MatchString(id) {
				t.Fatalf("id %q %v", id, err)
			}
			if dialect == "sqlite" {
				var typ string
				var ms int64
				d.X.QueryRow(`SELECT typeof("updatedAt"), "updatedAt" FROM "Account"`).Scan(&typ, &ms)
				if typ != "integer" || ms != enrolNow.UnixMilli() {
					t.Errorf("Account.updatedAt %s %d, want integer %d", typ, ms, enrolNow.UnixMilli())
				}
			}
		})
	}
}

func TestCheckEnroll_refusals(t *testing.T) {
	ctx := context.Background()
	_, d := dbtest.Migrated(t, "sqlite")
	enrolSeedUser(t, d, "u1", "alice@example.com")
	dbtest.Exec(t, d, `ALTER TABLE "Account" ADD COLUMN "tenantId" TEXT NOT NULL DEFAULT 'x'`)
	if err := d.CheckEnroll(ctx, enrolDetect(t, d), "u1", false); err != nil {
		t.Fatalf("a NOT NULL column with a default is fine: %v", err)
	}
	dbtest.Exec(t, d, `ALTER TABLE "User" ADD COLUMN "role" TEXT NOT NULL DEFAULT 'user'`)
	s := enrolDetect(t, d)
	// A column without a default that only the app knows how to fill.
	for i := range s.Account.Columns {
		if s.Account.Columns[i].Name == "tenantId" {
			s.Account.Columns[i].HasDefault = false
		}
	}
	if err := d.CheckEnroll(ctx, s, "u1", false); !errors.Is(err, passkey.ErrSchemaNotReady) || !strings.Contains(err.Error(), "Account.tenantId is NOT NULL without a default") {
		t.Fatalf("%v", err)
	}
	dbtest.Exec(t, d, `DROP TABLE "Authenticator"`)
	if err := d.CheckEnroll(ctx, enrolDetect(t, d), "u1", false); !errors.Is(err, passkey.ErrSchemaNotReady) || !strings.Contains(err.Error(), "passkeyctl migrate") {
		t.Fatalf("no Authenticator: %v", err)
	}
	dbtest.Exec(t, d, `CREATE TABLE "Authenticator" ("credentialID" TEXT NOT NULL, "userId" TEXT NOT NULL, "providerAccountId" TEXT NOT NULL, "credentialPublicKey" TEXT NOT NULL,
		"counter" TEXT NOT NULL, "credentialDeviceType" TEXT NOT NULL, "credentialBackedUp" BOOLEAN NOT NULL, "transports" TEXT)`)
	if err := d.CheckEnroll(ctx, enrolDetect(t, d), "u1", false); !errors.Is(err, passkey.ErrDrift) || !strings.Contains(err.Error(), "counter") {
		t.Fatalf("drift: %v", err)
	}
}

func TestNewUserID(t *testing.T) {
	cuid := regexp.MustCompile(`^c[0-9a-z]{24}$`)
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 100 {
		id, err := db.NewUserID(&db.Schema{Naming: db.NamingPrisma}, enrolNow, rand.Reader)
		if err != nil || !cuid.MatchString(id) || seen[id] {
			t.Fatalf("cuid %q %v", id, err)
		}
		seen[id] = true
	}
	id, err := db.NewUserID(&db.Schema{Naming: db.NamingDrizzle}, enrolNow, rand.Reader)
	if err != nil || !uuid.MatchString(id) {
		t.Fatalf("uuid %q %v", id, err)
	}
	// Later ids sort after earlier ones, like Prisma's.
	a, _ := db.NewCUID(enrolNow, rand.Reader)
	b, _ := db.NewCUID(enrolNow.Add(time.Second), rand.Reader)
	if a[:9] >= b[:9] {
		t.Errorf("%s then %s", a, b)
	}
}
