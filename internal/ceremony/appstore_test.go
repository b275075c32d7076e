package ceremony

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/ceremony/softauth"
	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
)

// sqlStore is the AppStore over a SQL database, with the database at hand
// for the tests' own reads and writes.
type sqlStore struct {
	*AppStore
	DB     *db.DB
	Schema *db.Schema
}

// newSQLStore is an AppStore over a fresh migrated database of the dialect.
func newSQLStore(t *testing.T, dialect string) *sqlStore {
	t.Helper()
	_, d := dbtest.Migrated(t, dialect)
	s, err := d.Detect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return &sqlStore{AppStore: &AppStore{Store: &db.Store{DB: d, Schema: s, ProviderID: "passkey"}, ProviderID: "passkey", Now: time.Now, Rand: rand.Reader}, DB: d, Schema: s}
}

// addUser inserts a User row as Prisma would.
func addUser(t *testing.T, st *sqlStore, id, email string) {
	t.Helper()
	d := st.DB
	q := d.Dialect.Rebind("INSERT INTO " + d.Q(st.Schema.User.Name) + " (" + d.Q("id") + ", " + d.Q("email") + ", " + d.Q("updatedAt") + ") VALUES (?, ?, ?)")
	if _, err := d.X.Exec(q, id, email, time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
}

// exec runs one statement with ? placeholders and "quoted" identifiers.
func exec(t *testing.T, st *sqlStore, query string, args ...any) {
	t.Helper()
	if st.DB.Dialect == db.MySQL {
		query = strings.ReplaceAll(query, `"`, "`")
	}
	if _, err := st.DB.X.Exec(st.DB.Dialect.Rebind(query), args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// authRow is an Authenticator row and its Account row, as stored.
type authRow struct {
	CredentialID, UserID, ProviderAccountID, PublicKey, DeviceType string
	Counter                                                        int64
	BackedUp                                                       bool
	Transports                                                     sql.NullString
	AccountUserID, AccountType, AccountProvider                    string
}

// readRow reads the rows of the credential whose stored ID is id.
func readRow(t *testing.T, st *sqlStore, id string) authRow {
	t.Helper()
	d := st.DB
	var r authRow
	q := d.Dialect.Rebind(`SELECT a.` + d.Q("credentialID") + `, a.` + d.Q("userId") + `, a.` + d.Q("providerAccountId") + `, a.` + d.Q("credentialPublicKey") +
		`, a.` + d.Q("credentialDeviceType") + `, a.` + d.Q("counter") + `, a.` + d.Q("credentialBackedUp") + `, a.` + d.Q("transports") +
		`, ac.` + d.Q("userId") + `, ac.` + d.Q("type") + `, ac.` + d.Q("provider") +
		` FROM ` + d.Q("Authenticator") + ` a JOIN ` + d.Q("Account") + ` ac ON ac.` + d.Q("providerAccountId") + ` = a.` + d.Q("providerAccountId") +
		` WHERE a.` + d.Q("credentialID") + ` = ?`)
	err := d.X.QueryRow(q, id).Scan(&r.CredentialID, &r.UserID, &r.ProviderAccountID, &r.PublicKey, &r.DeviceType, &r.Counter, &r.BackedUp, &r.Transports,
		&r.AccountUserID, &r.AccountType, &r.AccountProvider)
	if err != nil {
		t.Fatalf("read rows of %s: %v", id, err)
	}
	return r
}

func count(t *testing.T, st *sqlStore, table string) int {
	t.Helper()
	var n int
	if err := st.DB.X.Get(&n, "SELECT COUNT(*) FROM "+st.DB.Q(table)); err != nil {
		t.Fatal(err)
	}
	return n
}

func std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// forEachDialect runs fn with an AppStore over a fresh migrated database of
// each dialect.
func forEachDialect(t *testing.T, fn func(t *testing.T, st *sqlStore)) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) { fn(t, newSQLStore(t, dialect)) })
	}
}

// TestAppStore_ceremonies runs enrolments and tests end to end over the
// HTTP API with the database store, on every dialect: EdDSA, ES256 and
// RS256 keys, the counter rule, another user's passkey, BE drift, an
// altered key, a missing Account row, duplicates and --create-user.
func TestAppStore_ceremonies(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlStore) {
		ctx := context.Background()
		auths := map[int64]*softauth.Authenticator{}
		for _, alg := range []int64{softauth.EdDSA, softauth.ES256, softauth.RS256} {
			name := algName(alg)
			user := User{ID: "u-" + name, Email: strings.ToLower(name) + "@example.com"}
			addUser(t, st, user.ID, user.Email)
			a := newSoft(t, alg)
			auths[alg] = a
			if code, rep, err := enrolWith(t, st, user, a); err != nil || code != 200 {
				t.Fatalf("%s: enrol: %d %+v %v", name, code, rep, err)
			}
			id := std(a.CredID)
			got := readRow(t, st, id)
			want := authRow{CredentialID: id, UserID: user.ID, ProviderAccountID: id, PublicKey: std(a.COSEKey()), DeviceType: "multiDevice",
				Counter: 0, BackedUp: true, Transports: sql.NullString{String: "hybrid,internal", Valid: true},
				AccountUserID: user.ID, AccountType: "webauthn", AccountProvider: "passkey"}
			if got != want {
				t.Fatalf("%s: rows\n got %+v\nwant %+v", name, got, want)
			}
			p, err := st.DB.GetPasskey(ctx, st.Schema, a.CredID, "passkey")
			if err != nil || p.Algorithm != name || p.Status != passkey.StatusOK {
				t.Fatalf("%s: GetPasskey %+v %v", name, p, err)
			}
			code, rep, res, err := testWith(t, st, func(c *Config) { c.User = &User{ID: user.ID} }, a)
			if err != nil || code != 200 || res.Counter != 1 {
				t.Fatalf("%s: test: %d %+v %+v %v", name, code, rep, res, err)
			}
			if c := readRow(t, st, id).Counter; c != 1 {
				t.Fatalf("%s: counter %d after the test, want 1", name, c)
			}
		}
		ed, es, rs := auths[softauth.EdDSA], auths[softauth.ES256], auths[softauth.RS256]

		t.Run("by credential, discoverable", func(t *testing.T) {
			if _, rep, res, err := testWith(t, st, func(c *Config) { c.CredentialID = es.CredID }, es); err != nil || res.Counter != 2 {
				t.Fatalf("%+v %+v %v", rep, res, err)
			}
			if _, rep, res, err := testWith(t, st, nil, es); err != nil || res.Counter != 3 || res.UserID != "u-ES256" {
				t.Fatalf("%+v %+v %v", rep, res, err)
			}
		})

		t.Run("replay: counter not greater", func(t *testing.T) {
			ed.Counter = 0 // the next assertion says 1 again
			_, rep, _, err := testWith(t, st, nil, ed)
			if !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "signature counter 1 is not greater than the stored 1") {
				t.Fatalf("%v", err)
			}
			if !strings.Contains(rep.Message, "did not go up") {
				t.Errorf("page message %q", rep.Message)
			}
			if c := readRow(t, st, std(ed.CredID)).Counter; c != 1 {
				t.Fatalf("counter %d, want 1 unchanged", c)
			}
		})

		t.Run("both counters zero is fine", func(t *testing.T) {
			a := newSoft(t, softauth.EdDSA)
			a.Step = 0
			addUser(t, st, "u-synced", "synced@example.com")
			if _, rep, err := enrolWith(t, st, User{ID: "u-synced"}, a); err != nil {
				t.Fatalf("%+v %v", rep, err)
			}
			for range 2 {
				if _, rep, res, err := testWith(t, st, nil, a); err != nil || res.Counter != 0 {
					t.Fatalf("%+v %+v %v", rep, res, err)
				}
			}
		})

		t.Run("another user's passkey", func(t *testing.T) {
			ed.Counter = 10
			ed.IgnoreLists = true
			defer func() { ed.IgnoreLists = false }()
			_, rep, _, err := testWith(t, st, func(c *Config) { c.User = &User{ID: "u-ES256", Email: "es256@example.com"} }, ed)
			if !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "belongs to user u-EdDSA, not es256@example.com") {
				t.Fatalf("%v", err)
			}
			if rep.Message != "This passkey belongs to another user, not es256@example.com." {
				t.Errorf("page message %q", rep.Message)
			}
			if c := readRow(t, st, std(ed.CredID)).Counter; c != 1 {
				t.Fatalf("counter %d changed", c)
			}
		})

		t.Run("BE drift", func(t *testing.T) {
			id := std(es.CredID)
			exec(t, st, `UPDATE "Authenticator" SET "credentialDeviceType" = 'singleDevice' WHERE "credentialID" = ?`, id)
			defer exec(t, st, `UPDATE "Authenticator" SET "credentialDeviceType" = 'multiDevice' WHERE "credentialID" = ?`, id)
			_, rep, _, err := testWith(t, st, nil, es)
			if !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "Backup Eligible") || !strings.Contains(err.Error(), "credentialDeviceType singleDevice") {
				t.Fatalf("%v", err)
			}
			if !strings.Contains(rep.Message, "backup flags") {
				t.Errorf("page message %q", rep.Message)
			}
		})

		t.Run("altered public key", func(t *testing.T) {
			other := newSoft(t, softauth.RS256)
			exec(t, st, `UPDATE "Authenticator" SET "credentialPublicKey" = ? WHERE "credentialID" = ?`, std(other.COSEKey()), std(rs.CredID))
			_, rep, _, err := testWith(t, st, nil, rs)
			if !errors.Is(err, ErrFailed) || !strings.Contains(rep.Message, "signature does not match") {
				t.Fatalf("%+v %v", rep, err)
			}
		})

		t.Run("missing Account row", func(t *testing.T) {
			exec(t, st, `DELETE FROM "Account" WHERE "providerAccountId" = ?`, std(es.CredID))
			_, rep, _, err := testWith(t, st, nil, es)
			if !errors.Is(err, ErrFailed) || !errors.Is(err, ErrUnusable) || !strings.Contains(err.Error(), "no Account row") {
				t.Fatalf("%+v %v", rep, err)
			}
		})

		t.Run("unknown passkey", func(t *testing.T) {
			a := newSoft(t, softauth.ES256)
			a.UserHandle = []byte("x")
			_, rep, _, err := testWith(t, st, nil, a)
			if !errors.Is(err, ErrUnknownCredential) || rep.Message != "This passkey is not registered in the app's database, so the app would refuse it." {
				t.Fatalf("%+v %v", rep, err)
			}
		})

		t.Run("credential already stored for another user", func(t *testing.T) {
			before := count(t, st, "Authenticator")
			ed.IgnoreLists = true
			defer func() { ed.IgnoreLists = false }()
			code, rep, err := enrolWith(t, st, User{ID: "u-ES256"}, ed)
			if code != http.StatusConflict || !errors.Is(err, ErrDuplicate) || !errors.Is(err, passkey.ErrConflict) {
				t.Fatalf("%d %+v %v", code, rep, err)
			}
			if n := count(t, st, "Authenticator"); n != before {
				t.Fatalf("%d rows, want %d", n, before)
			}
		})

		t.Run("create user", func(t *testing.T) {
			users, accounts := count(t, st, "User"), count(t, st, "Account")
			// A failed ceremony leaves no user behind.
			bad := newSoft(t, softauth.EdDSA)
			bad.UV = false
			if _, _, err := enrolWith(t, st, User{ID: "cnew", Email: "new@example.com", Create: true}, bad); !errors.Is(err, ErrFailed) {
				t.Fatal(err)
			}
			if n := count(t, st, "User"); n != users {
				t.Fatalf("user created by a failed ceremony")
			}
			a := newSoft(t, softauth.EdDSA)
			if _, rep, err := enrolWith(t, st, User{ID: "cnew", Email: "new@example.com", Create: true}, a); err != nil {
				t.Fatalf("%+v %v", rep, err)
			}
			u, err := st.DB.FindUser(ctx, st.Schema, "new@example.com")
			if err != nil || u.ID != "cnew" {
				t.Fatalf("%+v %v", u, err)
			}
			if n := count(t, st, "Account"); n != accounts+1 {
				t.Fatalf("%d accounts", n)
			}
		})
	})
}

func enrolWith(t *testing.T, st *sqlStore, user User, a *softauth.Authenticator) (int, apiReply, error) {
	t.Helper()
	cfg := testConfig(ModeEnroll)
	cfg.User = &user
	r := start(t, cfg, st)
	code, rep := r.enrol(a)
	_, err := r.wait()
	return code, rep, err
}

func testWith(t *testing.T, st *sqlStore, setup func(*Config), a *softauth.Authenticator) (int, apiReply, Result, error) {
	t.Helper()
	cfg := testConfig(ModeTest)
	if setup != nil {
		setup(&cfg)
	}
	r := start(t, cfg, st)
	code, rep := r.test(a)
	res, err := r.wait()
	return code, rep, res, err
}
