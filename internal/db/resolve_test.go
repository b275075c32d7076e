package db_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// resolveTarget is a database of one app holding passkeys of user u1, and
// how that app stores a raw credential ID.
type resolveTarget struct {
	d      *db.DB
	s      *db.Schema
	stored func([]byte) string
}

func newResolveTarget(t *testing.T, dialect string, app db.App, raws ...[]byte) resolveTarget {
	t.Helper()
	ctx := context.Background()
	if app == db.AppBetterAuth {
		_, d := dbtest.BetterAuth(t, dialect, dbtest.BetterAuthOptions{})
		s := detect(t, d)
		uid := baUser(t, d, s, "u1", "one@example.com", "One")
		for _, raw := range raws {
			if _, err := d.InsertBetterAuthPasskey(ctx, s, db.BetterAuthPasskey{UserID: uid, CredentialID: passkey.Base64URL(raw), PublicKey: coseKey(t, -7),
				DeviceType: "singleDevice"}, db.BetterAuthInsertOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		return resolveTarget{d, s, passkey.Base64URL}
	}
	_, d := dbtest.Migrated(t, dialect)
	s := detect(t, d)
	insert(t, d, s, "User", map[string]any{"id": "u1", "email": "one@example.com"})
	for _, raw := range raws {
		id := passkey.AuthjsCredentialID(raw)
		insert(t, d, s, "Account", map[string]any{"userId": "u1", "type": "webauthn", "provider": "passkey", "providerAccountId": id})
		insert(t, d, s, "Authenticator", map[string]any{"credentialID": id, "userId": "u1", "providerAccountId": id,
			"credentialPublicKey": coseKey(t, -7), "counter": 0, "credentialDeviceType": "singleDevice", "credentialBackedUp": false})
	}
	return resolveTarget{d, s, passkey.AuthjsCredentialID}
}

// TestResolveCredentials_apps pins what revoke's ID resolution does on
// either app, each with its own stored encoding: every accepted form finds
// the passkey, the result is in the order given and without repeats, an ID
// that reads two ways is ambiguous, unknown IDs are all named, and a
// match must be byte-exact even where the collation ignores case.
func TestResolveCredentials_apps(t *testing.T) {
	ctx := context.Background()
	// Standard base64 with "+", "/" and padding; base64url with "-", "_".
	raw := []byte{0xfb, 0xef, 0xbe, 0xff, 0xfe, 0x01, 0x02}
	// "deadbeef" is valid hex and valid base64: both readings are stored.
	asHex, _ := hex.DecodeString("deadbeef")
	asB64, _ := base64.RawStdEncoding.DecodeString("deadbeef")
	upper := []byte("UPPER-case-only")
	forms := []string{
		passkey.AuthjsCredentialID(raw),
		strings.TrimRight(passkey.AuthjsCredentialID(raw), "="),
		base64.RawURLEncoding.EncodeToString(raw),
		base64.URLEncoding.EncodeToString(raw),
		hex.EncodeToString(raw),
		strings.ToUpper(hex.EncodeToString(raw)),
		"hex:" + hex.EncodeToString(raw),
		"  " + passkey.AuthjsCredentialID(raw) + "\t",
	}
	for _, dialect := range dbtest.Dialects {
		for _, app := range []db.App{db.AppAuthjs, db.AppBetterAuth} {
			t.Run(dialect+"/"+string(app), func(t *testing.T) {
				rt := newResolveTarget(t, dialect, app, raw, asHex, asB64, upper)
				// Every answer is also RevokeCredentials' (a dry run), which
				// looks the IDs up in its transaction: the same passkeys in
				// the same order, or the same error.
				resolve := func(ids ...string) ([]passkey.Passkey, error) {
					t.Helper()
					got, err := rt.d.ResolveCredentials(ctx, rt.s, ids, "passkey")
					res, rerr := rt.d.RevokeCredentials(ctx, rt.s, ids, store.RevokeOptions{ProviderID: "passkey", DryRun: true})
					var revoked []passkey.Passkey
					if res != nil {
						revoked = res.Passkeys
					}
					if fmt.Sprint(rerr) != fmt.Sprint(err) || !samePasskeyIDs(revoked, got) {
						t.Fatalf("RevokeCredentials(%q) = %d passkeys, %v; ResolveCredentials = %d passkeys, %v", ids, len(revoked), rerr, len(got), err)
					}
					return got, err
				}
				for _, f := range forms {
					got, err := resolve(f)
					if err != nil || len(got) != 1 || got[0].CredentialID != rt.stored(raw) || got[0].UserID != "u1" {
						t.Fatalf("resolve %q: %+v, %v; want %s", f, got, err, rt.stored(raw))
					}
				}
				got, err := resolve(forms[4], "hex:deadbeef", forms[2], forms[0])
				if err != nil || len(got) != 2 || got[0].CredentialID != rt.stored(raw) || got[1].CredentialID != rt.stored(asHex) {
					t.Fatalf("repeats: %+v, %v; want %s then %s, once each", got, err, rt.stored(raw), rt.stored(asHex))
				}
				if _, err := resolve("deadbeef"); !errors.Is(err, passkey.ErrInvalid) || !strings.Contains(err.Error(), "ambiguous") {
					t.Fatalf("deadbeef: want ambiguous ErrInvalid, got %v", err)
				}
				if _, err := resolve("not base64!"); !errors.Is(err, passkey.ErrInvalid) {
					t.Fatalf("malformed: want ErrInvalid, got %v", err)
				}
				// Case matters: on MySQL the Better Auth column's collation
				// would match this with "=".
				lower := strings.ToLower(rt.stored(upper))
				if _, err := resolve(lower); !errors.Is(err, passkey.ErrNotFound) {
					t.Fatalf("%s (a stored ID in lower case): want ErrNotFound, got %v", lower, err)
				}
				if got, err := resolve(rt.stored(upper)); err != nil || len(got) != 1 {
					t.Fatalf("%s: %+v, %v", rt.stored(upper), got, err)
				}
				unknown := []string{"bm9uZTE", "bm9uZTI", "bm9uZTM", "bm9uZTQ", "bm9uZTU", "bm9uZTY"}
				_, err = resolve(append([]string{forms[0]}, unknown...)...)
				if !errors.Is(err, passkey.ErrNotFound) || !strings.Contains(err.Error(), "6 credential IDs not found: bm9uZTE, bm9uZTI, bm9uZTM, bm9uZTQ, bm9uZTU and 1 more; nothing was revoked") {
					t.Fatalf("unknown IDs: %v", err)
				}
			})
		}
	}
}

// TestResolveCredentials_betterAuthDuplicate: Better Auth's table has no
// unique index, so a credential stored twice is refused rather than one
// of its rows picked.
func TestResolveCredentials_betterAuthDuplicate(t *testing.T) {
	_, d := dbtest.BetterAuth(t, "sqlite", dbtest.BetterAuthOptions{})
	s := detect(t, d)
	baUser(t, d, s, "u1", "a@example.com", "A")
	baUser(t, d, s, "u2", "b@example.com", "B")
	for _, r := range [][2]string{{"p1", "u1"}, {"p2", "u2"}} {
		dbtest.Exec(t, d, `INSERT INTO "passkey" ("id", "publicKey", "userId", "credentialID", "counter", "deviceType", "backedUp", "transports") VALUES ('`+r[0]+`', '`+coseKey(t, -7)+`', '`+r[1]+`', 'AAAA', 0, 'singleDevice', 0, '')`)
	}
	_, err := d.ResolveCredentials(context.Background(), s, []string{"AAAA"}, "passkey")
	if !errors.Is(err, passkey.ErrConflict) || !strings.Contains(err.Error(), "stored twice") || !strings.Contains(err.Error(), "user u1 and user u2") {
		t.Fatalf("want ErrConflict naming both users, got %v", err)
	}
}

// TestRevoke_betterAuth pins revoke on Better Auth's table in every
// dialect: a passkey removed behind its back rolls everything back, and a
// user keeps counting as able to sign in while an account row (a
// password, an OAuth provider) is left.
func TestRevoke_betterAuth(t *testing.T) {
	ctx := context.Background()
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			a, b, c := []byte("cred-a"), []byte("cred-b"), []byte("cred-c")
			rt := newResolveTarget(t, dialect, db.AppBetterAuth, a, b)
			d, s := rt.d, rt.s
			ba := s.BetterAuth
			uid2 := baUser(t, d, s, "u2", "two@example.com", "Two")
			if _, err := d.InsertBetterAuthPasskey(ctx, s, db.BetterAuthPasskey{UserID: uid2, CredentialID: passkey.Base64URL(c), PublicKey: coseKey(t, -7),
				DeviceType: "singleDevice"}, db.BetterAuthInsertOptions{}); err != nil {
				t.Fatal(err)
			}
			// u2 also has a password.
			q := "INSERT INTO " + d.Q("account") + " (" + d.Q("id") + ", " + d.Q("accountId") + ", " + d.Q("providerId") + ", " + d.Q("userId") + ", " + d.Q("updatedAt") + ") VALUES (?, ?, ?, ?, ?)"
			if _, err := d.X.ExecContext(ctx, d.Dialect.Rebind(q), "acc1", "u2", "credential", uid2, baTime(d, ba.Account, "updatedAt")); err != nil {
				t.Fatal(err)
			}
			ps, err := d.ResolveCredentials(ctx, s, []string{passkey.Base64URL(a), passkey.Base64URL(b), passkey.Base64URL(c)}, "passkey")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.X.ExecContext(ctx, d.Dialect.Rebind("DELETE FROM "+d.Q(ba.Passkey.Name)+" WHERE "+d.Q(ba.P.CredentialID)+" = ?"), passkey.Base64URL(b)); err != nil {
				t.Fatal(err)
			}
			if _, err := d.Revoke(ctx, s, ps, store.RevokeOptions{}); !errors.Is(err, passkey.ErrNotFound) || !strings.Contains(err.Error(), "nothing was revoked") {
				t.Fatalf("want ErrNotFound, got %v", err)
			}
			if n := countRows(t, d, ba.Passkey.Name); n[0] != 2 {
				t.Fatalf("%d passkeys left after a refused revoke, want 2", n[0])
			}
			res, err := d.Revoke(ctx, s, []passkey.Passkey{ps[0], ps[2]}, store.RevokeOptions{})
			if err != nil || len(res.Passkeys) != 2 || len(res.Stranded) != 1 || res.Stranded[0].ID != "u1" || res.Stranded[0].Email == nil {
				t.Fatalf("revoke: %+v, %v; want u1 stranded, u2 kept by its account", res, err)
			}
			if n := countRows(t, d, ba.Passkey.Name, "account"); n[0] != 0 || n[1] != 1 {
				t.Fatalf("rows after revoke: %v", n)
			}
		})
	}
}

// TestConnectionLimit: passkeyctl reads on several connections at once
// (MySQL's credential lookup on Dialect.readers, stats' three queries on
// every server), but a login allowed one connection (MySQL's
// MAX_USER_CONNECTIONS, PostgreSQL's CONNECTION LIMIT, as managed
// databases set them) must still resolve and count: the refused extra
// connections give way to the one the pool has.
func TestConnectionLimit(t *testing.T) {
	for _, dialect := range []string{"mysql", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			if dialect == "postgres" && os.Getenv("PASSKEYCTL_TEST_PGBOUNCER") != "" && os.Getenv("PASSKEYCTL_TEST_POSTGRES") == os.Getenv("PASSKEYCTL_TEST_PGBOUNCER") {
				t.Skip("a role made here cannot log in through PgBouncer, which knows only its own users")
			}
			ctx := context.Background()
			dsn, root := dbtest.Migrated(t, dialect)
			if _, err := dbtest.GeneratePasskeys(ctx, root, 60, 10); err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(dsn)
			if err != nil {
				t.Fatal(err)
			}
			var b [4]byte
			rand.Read(b[:])
			user := "pk_" + hex.EncodeToString(b[:])
			database := strings.TrimPrefix(u.Path, "/")
			if dialect == "mysql" {
				dbtest.Exec(t, root, "CREATE USER '"+user+"'@'%' IDENTIFIED BY 'Sup3rS3cret' WITH MAX_USER_CONNECTIONS 1",
					"GRANT ALL ON `"+database+"`.* TO '"+user+"'@'%'", "GRANT ALL ON passkeyctl.* TO '"+user+"'@'%'")
				t.Cleanup(func() { root.X.Exec("DROP USER '" + user + "'@'%'") })
			} else {
				dbtest.Exec(t, root, `CREATE ROLE `+user+` LOGIN PASSWORD 'Sup3rS3cret' CONNECTION LIMIT 1`,
					`GRANT ALL ON ALL TABLES IN SCHEMA public TO `+user)
				t.Cleanup(func() {
					root.X.Exec(`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ` + user)
					root.X.Exec(`DROP ROLE ` + user)
				})
			}
			u.User = url.UserPassword(user, "Sup3rS3cret")
			d := dbtest.Open(t, u.String())
			s, err := d.DetectForStore(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// 600 IDs: two batches, which MySQL would read on two
			// connections.
			ids := benchCredentialIDs(600)
			found, err := d.ResolveCredentials(ctx, s, ids, "passkey")
			if err != nil {
				t.Fatalf("resolve as a login allowed one connection: %v", err)
			}
			if len(found) != len(ids) {
				t.Fatalf("found %d passkeys, want %d", len(found), len(ids))
			}
			// The revoke's read-ahead asks for more connections, which
			// are refused: the revoke goes on, on its own.
			res, err := d.RevokeCredentials(ctx, s, ids, store.RevokeOptions{ProviderID: "passkey", DryRun: true})
			if err != nil {
				t.Fatalf("revoke as a login allowed one connection: %v", err)
			}
			if len(res.Passkeys) != len(ids) {
				t.Fatalf("revoke: %d passkeys, want %d", len(res.Passkeys), len(ids))
			}
			stats, err := d.Stats(ctx, s, "passkey")
			if err != nil {
				t.Fatalf("stats as a login allowed one connection: %v", err)
			}
			if stats.UsersWithPasskeys != 60 {
				t.Fatalf("stats: %d users with passkeys, want 60", stats.UsersWithPasskeys)
			}
		})
	}
}

// samePasskeyIDs reports whether a and b are the same passkeys (credential
// ID and user) in the same order.
func samePasskeyIDs(a, b []passkey.Passkey) bool {
	return slices.EqualFunc(a, b, func(x, y passkey.Passkey) bool { return x.CredentialID == y.CredentialID && x.UserID == y.UserID })
}

// TestRevokeCredentials_onePass: RevokeCredentials reads the passkeys in
// its transaction, as it locks them, and not before: a revoke that looked
// them up first read each twice. On MySQL the read-ahead also reads them
// on other connections, without a lock, as the transaction comes to them;
// whether it got to a batch before the transaction was done with it
// depends on timing, so only what it sends is checked.
func TestRevokeCredentials_onePass(t *testing.T) {
	ctx := context.Background()
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			d, s := generated700(t, dialect)
			rec := dbtest.Record(t, d)
			ids := benchCredentialIDs(600)
			res, err := d.RevokeCredentials(ctx, s, ids, store.RevokeOptions{ProviderID: "passkey", DryRun: true})
			if err != nil || len(res.Passkeys) != len(ids) {
				t.Fatalf("RevokeCredentials: %v", err)
			}
			var outside, inside []string
			for _, st := range rec.Take() {
				switch {
				case !strings.Contains(st.Query, d.Q(s.Authenticator.Name)):
				case st.InTx:
					inside = append(inside, st.Query)
				default:
					outside = append(outside, st.Query)
				}
			}
			if len(inside) == 0 {
				t.Fatal("no statement of the transaction read the passkeys")
			}
			for _, q := range outside {
				if dialect != "mysql" {
					t.Errorf("read outside the revoke's transaction: %.120s", q)
				} else if strings.Contains(q, "FOR UPDATE") || !strings.HasPrefix(q, "SELECT") {
					t.Errorf("the read-ahead locks or writes: %.120s", q)
				}
			}
		})
	}
}

// TestRevokeCredentials_unknownStopsEarly: an ID that matches nothing
// stops the one pass as soon as its last stored form is looked up, before
// that batch deletes anything: a doomed transaction does not lock and
// delete every other passkey first. The IDs then go through the lookup,
// whose error names it, and nothing changes.
func TestRevokeCredentials_unknownStopsEarly(t *testing.T) {
	ctx := context.Background()
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			d, s := generated700(t, dialect)
			// Standard base64 of 16 zero bytes: one reading only, which
			// sorts before every generated ID.
			unknown := passkey.AuthjsCredentialID(make([]byte, 16))
			ids := append([]string{unknown}, benchCredentialIDs(700)...)
			rec := dbtest.Record(t, d)
			_, err := d.RevokeCredentials(ctx, s, ids, store.RevokeOptions{ProviderID: "passkey"})
			if !errors.Is(err, passkey.ErrNotFound) || !strings.Contains(err.Error(), unknown) {
				t.Fatalf("want ErrNotFound naming %s, got %v", unknown, err)
			}
			for _, st := range rec.Take() {
				if st.InTx && strings.HasPrefix(st.Query, "DELETE") {
					t.Errorf("the doomed transaction deleted: %.100s", st.Query)
				}
			}
			if c := countRows(t, d, s.Authenticator.Name, s.Account.Name); c[0] != 700 || c[1] != 700 {
				t.Errorf("%v rows left, want 700 and 700", c)
			}
		})
	}
}

// generated700 returns a fresh database of the dialect holding 700
// generated passkeys (dbtest.GeneratePasskeys: 70 users of 10), two
// batches' worth, and its schema.
func generated700(t *testing.T, dialect string) (*db.DB, *db.Schema) {
	t.Helper()
	_, d := dbtest.Migrated(t, dialect)
	if _, err := dbtest.GeneratePasskeys(context.Background(), d, 70, 10); err != nil {
		t.Fatal(err)
	}
	return d, detect(t, d)
}

// benchCredentialIDs returns the IDs of generated passkeys 1 to n as logs
// show them (base64url).
func benchCredentialIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = passkey.Base64URL(dbtest.BenchCredential(i + 1))
	}
	return ids
}
