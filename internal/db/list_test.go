package db_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/passkeyctl/passkeyctl/internal/ceremony/softauth"
	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// fixture is the part of /work/shared/fixtures/authjs-registration-*.json
// the store tests use: the rows a real Auth.js wrote at registration.
type fixture struct {
	Registration struct {
		RowsWritten struct {
			Authenticator []map[string]any `json:"Authenticator"`
			Account       []map[string]any `json:"Account"`
			User          []map[string]any `json:"User"`
		} `json:"rowsWritten"`
	} `json:"registration"`
}

const fixturePath = "/work/shared/fixtures/authjs-registration-postgres.json"

// fixtureCopy is the same file vendored into testdata so the tests do not
// depend on the shared folder being mounted.
const fixtureCopy = "testdata/authjs-registration-postgres.json"

func loadFixture(t testing.TB) fixture {
	t.Helper()
	b, err := os.ReadFile(fixtureCopy)
	if err != nil {
		b, err = os.ReadFile(fixturePath)
	}
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	var f fixture
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("parse fixture: %v", err)
	}
	return f
}

// insert writes one row into the table of s named by its Prisma name,
// exactly as given, adding only the NOT NULL columns without a default that
// Prisma fills on the client (createdAt/updatedAt, a legacy id).
func insert(t testing.TB, d *db.DB, s *db.Schema, table string, row map[string]any) {
	t.Helper()
	tbl := tableOf(t, s, table)
	row = clone(row)
	for _, c := range tbl.Columns {
		if _, ok := row[c.Name]; ok || !tbl.NeedsValue(c.Name) {
			continue
		}
		switch c.Name {
		case "createdAt", "updatedAt", "expires":
			row[c.Name] = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
		case "id":
			row[c.Name] = "cid_" + randomHex(t, 8)
		default:
			t.Fatalf("insert %s: no value for NOT NULL column %s", table, c.Name)
		}
	}
	keys := make([]string, 0, len(row))
	for k := range row {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	cols := make([]string, len(keys))
	marks := make([]string, len(keys))
	args := make([]any, len(keys))
	for i, k := range keys {
		cols[i], marks[i], args[i] = d.Q(k), "?", row[k]
	}
	q := "INSERT INTO " + d.Q(tbl.Name) + " (" + strings.Join(cols, ", ") + ") VALUES (" + strings.Join(marks, ", ") + ")"
	if _, err := d.X.ExecContext(context.Background(), d.Dialect.Rebind(q), args...); err != nil {
		t.Fatalf("insert %s %v: %v", table, row, err)
	}
}

func tableOf(t testing.TB, s *db.Schema, prismaName string) *db.Table {
	t.Helper()
	var tbl *db.Table
	switch prismaName {
	case "User":
		tbl = s.User
	case "Account":
		tbl = s.Account
	case "Session":
		tbl = s.Session
	case "Authenticator":
		tbl = s.Authenticator
	case "VerificationToken":
		tbl = s.VerificationToken
	}
	if tbl == nil {
		t.Fatalf("no table %s in schema", prismaName)
	}
	return tbl
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func detect(t testing.TB, d *db.DB) *db.Schema {
	t.Helper()
	s, err := d.Detect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// insertFixture writes the fixture's User, Account and Authenticator rows
// unchanged.
func insertFixture(t testing.TB, d *db.DB, s *db.Schema, f fixture) {
	t.Helper()
	rw := f.Registration.RowsWritten
	for _, r := range rw.User {
		insert(t, d, s, "User", r)
	}
	for _, r := range rw.Account {
		insert(t, d, s, "Account", r)
	}
	for _, r := range rw.Authenticator {
		insert(t, d, s, "Authenticator", r)
	}
}

func TestGetPasskey_fixture(t *testing.T) {
	f := loadFixture(t)
	want := f.Registration.RowsWritten.Authenticator[0]
	id := want["credentialID"].(string)
	raw, err := base64.StdEncoding.DecodeString(id)
	if err != nil {
		t.Fatal(err)
	}
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			_, d := dbtest.Migrated(t, dialect)
			s := detect(t, d)
			insertFixture(t, d, s, f)
			p, err := d.GetPasskey(context.Background(), s, raw, "passkey")
			if err != nil {
				t.Fatal(err)
			}
			email := "fixture@example.com"
			exp := passkey.Passkey{
				CredentialID:         id,
				UserID:               want["userId"].(string),
				Email:                &email,
				Counter:              0,
				CredentialDeviceType: "multiDevice",
				CredentialBackedUp:   true,
				Transports:           []string{"hybrid", "internal"},
				Algorithm:            "ES256",
				Status:               passkey.StatusOK,
				PublicKey:            want["credentialPublicKey"].(string),
				ProviderAccountID:    want["providerAccountId"].(string),
			}
			if !reflect.DeepEqual(p, exp) {
				t.Fatalf("GetPasskey:\n got %+v\nwant %+v", p, exp)
			}
			// Another provider id has no Account: Auth.js configured with
			// it could not sign in.
			p, err = d.GetPasskey(context.Background(), s, raw, "webauthn")
			if err != nil || p.Status != passkey.StatusNoAccount {
				t.Fatalf("other provider: %+v, %v", p, err)
			}
			// Byte-exact: the same ID with one letter's case flipped is a
			// different credential, even under MySQL's collations.
			flipped, _ := base64.StdEncoding.DecodeString(strings.Replace(id, "I", "i", 1))
			if _, err := d.GetPasskey(context.Background(), s, flipped, "passkey"); !errors.Is(err, passkey.ErrNotFound) {
				t.Fatalf("case-flipped ID: want ErrNotFound, got %v", err)
			}
		})
	}
}

// coseKey returns a base64 COSE_Key of the given COSE algorithm: a real
// key (softauth's, made once per algorithm), since list's "ok" means the
// key can verify a signature. Other algorithms get a bare header, which
// lists as bad-public-key.
func coseKey(t testing.TB, alg int) string {
	t.Helper()
	switch alg {
	case -8, -7, -257:
		testKeysOnce.Do(func() {
			for _, a := range []int64{softauth.EdDSA, softauth.ES256, softauth.RS256} {
				k, err := softauth.New(a)
				if err != nil {
					panic(err)
				}
				testKeys[int(a)] = base64.StdEncoding.EncodeToString(k.COSEKey())
			}
		})
		return testKeys[alg]
	}
	b, err := cbor.Marshal(map[int]any{1: 2, 3: alg})
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

var (
	testKeysOnce sync.Once
	testKeys     = map[int]string{}
)

// seed is a small, known population of passkeys, one per status.
type seed struct {
	alice, bob, carol                      string // user ids
	ok, noAccount, mismatch, badKey, eddsa string
}

// seedStatuses writes three users and five passkeys covering every status
// and algorithm listing must report, plus an OAuth Account and a session
// for bob, an orphan webauthn Account for carol and a verification token.
func seedStatuses(t testing.TB, d *db.DB, s *db.Schema) seed {
	t.Helper()
	sd := seed{
		alice: "user_alice", bob: "user_bob", carol: "user_carol",
		ok:        passkey.AuthjsCredentialID([]byte("alice-ok-credential")),
		eddsa:     passkey.AuthjsCredentialID([]byte("alice-eddsa-credential")),
		noAccount: passkey.AuthjsCredentialID([]byte("bob-no-account")),
		mismatch:  passkey.AuthjsCredentialID([]byte("bob-mismatch")),
		badKey:    passkey.AuthjsCredentialID([]byte("carol-bad-key")),
	}
	insert(t, d, s, "User", map[string]any{"id": sd.alice, "email": "Alice@Example.com"})
	insert(t, d, s, "User", map[string]any{"id": sd.bob, "email": "bob@example.com"})
	insert(t, d, s, "User", map[string]any{"id": sd.carol, "email": "carol@example.com"})
	pk := func(user, id, key string, transports any) {
		insert(t, d, s, "Authenticator", map[string]any{"credentialID": id, "userId": user, "providerAccountId": id,
			"credentialPublicKey": key, "counter": 7, "credentialDeviceType": "singleDevice", "credentialBackedUp": false, "transports": transports})
	}
	acct := func(user, id, typ, provider string) {
		insert(t, d, s, "Account", map[string]any{"userId": user, "type": typ, "provider": provider, "providerAccountId": id})
	}
	pk(sd.alice, sd.ok, coseKey(t, -7), "usb")
	acct(sd.alice, sd.ok, "webauthn", "passkey")
	pk(sd.alice, sd.eddsa, coseKey(t, -8), nil)
	acct(sd.alice, sd.eddsa, "webauthn", "passkey")
	pk(sd.bob, sd.noAccount, coseKey(t, -7), "internal,hybrid")
	pk(sd.bob, sd.mismatch, coseKey(t, -7), "internal")
	acct(sd.carol, sd.mismatch, "webauthn", "passkey") // carol's Account for bob's passkey
	acct(sd.bob, "github-12345", "oauth", "github")
	pk(sd.carol, sd.badKey, base64.StdEncoding.EncodeToString([]byte("not a COSE key")), nil)
	acct(sd.carol, sd.badKey, "webauthn", "passkey")
	acct(sd.carol, passkey.AuthjsCredentialID([]byte("carol-orphan")), "webauthn", "passkey")
	insert(t, d, s, "Session", map[string]any{"sessionToken": "tok-bob", "userId": sd.bob})
	insert(t, d, s, "Session", map[string]any{"sessionToken": "tok-alice", "userId": sd.alice})
	insert(t, d, s, "VerificationToken", map[string]any{"identifier": "bob@example.com", "token": "vt1"})
	return sd
}

func listAll(t testing.TB, d *db.DB, s *db.Schema, opts store.ListOptions) []passkey.Passkey {
	t.Helper()
	var out []passkey.Passkey
	if err := d.ListPasskeys(context.Background(), s, opts, func(p passkey.Passkey) error {
		out = append(out, p)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestListPasskeys_statuses(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			_, d := dbtest.Migrated(t, dialect)
			s := detect(t, d)
			sd := seedStatuses(t, d, s)
			got := listAll(t, d, s, store.ListOptions{ProviderID: "passkey"})
			type row struct{ user, id, alg, status string }
			want := []row{
				{sd.alice, sd.ok, "ES256", passkey.StatusOK},
				{sd.alice, sd.eddsa, "EdDSA", passkey.StatusOK},
				{sd.bob, sd.mismatch, "ES256", passkey.StatusAccountUserMismatch},
				{sd.bob, sd.noAccount, "ES256", passkey.StatusNoAccount},
				{sd.carol, sd.badKey, "unknown", passkey.StatusBadPublicKey},
			}
			// Ordered by user, then credential ID.
			sort.SliceStable(want, func(i, j int) bool {
				if want[i].user != want[j].user {
					return want[i].user < want[j].user
				}
				return want[i].id < want[j].id
			})
			var have []row
			for _, p := range got {
				have = append(have, row{p.UserID, p.CredentialID, p.Algorithm, p.Status})
			}
			if !reflect.DeepEqual(have, want) {
				t.Fatalf("list:\n got %v\nwant %v", have, want)
			}
			if p := got[0]; p.Email == nil || *p.Email != "Alice@Example.com" || p.Counter != 7 || p.CredentialDeviceType != "singleDevice" || p.CredentialBackedUp {
				t.Fatalf("alice's first passkey: %+v", p)
			}
			for _, p := range got {
				if p.Transports == nil {
					t.Fatalf("%s: transports nil, want a list", p.CredentialID)
				}
			}

			// --user, byte-exact.
			bobs := listAll(t, d, s, store.ListOptions{ProviderID: "passkey", UserID: sd.bob})
			if len(bobs) != 2 || bobs[0].UserID != sd.bob || bobs[1].UserID != sd.bob {
				t.Fatalf("bob's passkeys: %+v", bobs)
			}
			if n := len(listAll(t, d, s, store.ListOptions{ProviderID: "passkey", UserID: strings.ToUpper(sd.bob)})); n != 0 {
				t.Fatalf("user id in other case matched %d passkeys", n)
			}
			// --limit.
			if n := len(listAll(t, d, s, store.ListOptions{ProviderID: "passkey", Limit: 2})); n != 2 {
				t.Fatalf("limit 2: %d rows", n)
			}
			// Another provider id: no passkey has an Account.
			for _, p := range listAll(t, d, s, store.ListOptions{ProviderID: "webauthn"}) {
				if p.Status != passkey.StatusNoAccount {
					t.Fatalf("provider webauthn: %s has status %s", p.CredentialID, p.Status)
				}
			}
			// The callback's error stops the listing and comes back as is.
			stop := errors.New("stop")
			calls := 0
			err := d.ListPasskeys(context.Background(), s, store.ListOptions{ProviderID: "passkey"}, func(passkey.Passkey) error { calls++; return stop })
			if !errors.Is(err, stop) || calls != 1 {
				t.Fatalf("callback error: err %v after %d calls", err, calls)
			}
		})
	}
}

func TestListOrphans(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			_, d := dbtest.Migrated(t, dialect)
			s := detect(t, d)
			sd := seedStatuses(t, d, s)
			list := func(opts store.ListOptions) []store.Orphan {
				var out []store.Orphan
				if err := d.ListOrphans(context.Background(), s, opts, func(o store.Orphan) error { out = append(out, o); return nil }); err != nil {
					t.Fatal(err)
				}
				return out
			}
			got := list(store.ListOptions{ProviderID: "passkey"})
			email := "carol@example.com"
			want := []store.Orphan{{CredentialID: passkey.AuthjsCredentialID([]byte("carol-orphan")), UserID: sd.carol, Email: &email, Provider: "passkey", Status: db.StatusNoAuthenticator}}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("orphans:\n got %+v\nwant %+v", got, want)
			}
			if n := len(list(store.ListOptions{ProviderID: "passkey", UserID: sd.alice})); n != 0 {
				t.Fatalf("alice has %d orphans", n)
			}
			// The OAuth Account is never an orphan, whatever the provider.
			if n := len(list(store.ListOptions{ProviderID: "github"})); n != 0 {
				t.Fatalf("github: %d orphans", n)
			}
		})
	}
}

func TestPasskey_JSONFieldNames(t *testing.T) {
	email := "a@example.com"
	b, err := json.Marshal(passkey.Passkey{CredentialID: "x", Email: &email, Transports: []string{}, PublicKey: "secret?", ProviderAccountID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := []string{"algorithm", "counter", "credentialBackedUp", "credentialDeviceType", "credentialID", "email", "status", "transports", "userId"}
	if !reflect.DeepEqual(keys, want) {
		t.Fatalf("Passkey JSON fields %v, want %v", keys, want)
	}
	b, _ = json.Marshal(store.Orphan{})
	m = nil
	json.Unmarshal(b, &m)
	keys = nil
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if want := []string{"credentialID", "email", "provider", "status", "userId"}; !reflect.DeepEqual(keys, want) {
		t.Fatalf("Orphan JSON fields %v, want %v", keys, want)
	}
}

func TestListPasskeys_schemaNotReady(t *testing.T) {
	d := dbtest.Open(t, dbtest.New(t, "sqlite"))
	dbtest.Exec(t, d, `CREATE TABLE "User" ("id" TEXT PRIMARY KEY, "email" TEXT)`)
	s := detect(t, d)
	err := d.ListPasskeys(context.Background(), s, store.ListOptions{ProviderID: "passkey"}, func(passkey.Passkey) error { return nil })
	if !errors.Is(err, passkey.ErrSchemaNotReady) {
		t.Fatalf("no Authenticator table: want ErrSchemaNotReady, got %v", err)
	}
	// A drifted table without a column passkeyctl reads is ErrDrift.
	dbtest.Exec(t, d, `CREATE TABLE "Authenticator" ("credentialID" TEXT PRIMARY KEY, "userId" TEXT NOT NULL)`)
	s = detect(t, d)
	if _, err := d.GetPasskey(context.Background(), s, []byte("x"), "passkey"); !errors.Is(err, passkey.ErrDrift) {
		t.Fatalf("drifted table: want ErrDrift, got %v", err)
	}
}

func TestKeyAlgorithm(t *testing.T) {
	enc := func(v any) string {
		b, err := cbor.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(b)
	}
	for _, tc := range []struct {
		name, key, want string
		err             bool
	}{
		{"fixture ES256", loadFixture(t).Registration.RowsWritten.Authenticator[0]["credentialPublicKey"].(string), "ES256", false},
		{"EdDSA", coseKey(t, -8), "EdDSA", false},
		{"RS256", coseKey(t, -257), "RS256", false},
		{"base64url", strings.TrimRight(strings.NewReplacer("+", "-", "/", "_").Replace(coseKey(t, -8)), "="), "EdDSA", false},
		{"unlisted alg", enc(map[int]any{1: 2, 3: -999}), "unknown", false},
		{"no alg", enc(map[int]any{1: 2, -1: 1}), "", true},
		{"no kty", enc(map[int]any{3: -7}), "", true},
		{"text alg", enc(map[int]any{1: 2, 3: "ES256"}), "", true},
		{"array", enc([]int{1, 2, 3}), "", true},
		{"trailing bytes", base64.StdEncoding.EncodeToString(append(mustStd(t, coseKey(t, -7)), 0)), "", true},
		{"not CBOR", base64.StdEncoding.EncodeToString([]byte("not a COSE key")), "", true},
		{"not base64", "%%%", "", true},
		{"empty", "", "", true},
	} {
		got, err := passkey.KeyAlgorithm(tc.key)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("%s: got %q, %v; want %q, error %v", tc.name, got, err, tc.want, tc.err)
		}
	}
}

// TestListPasskeys_emptyAndNull: the text columns are read as the bytes
// the driver received (no string per value), and an empty value is still
// not NULL: transports ” lists as [] and exports as "", NULL as [] and
// null; an e-mail or a user's name ” is "", NULL is null (each on its
// own: export makes both strings of one allocation); a drifted table with a NULL in
// a column a passkey cannot do without stops the listing with an error
// that names it, on every dialect.
func TestListPasskeys_emptyAndNull(t *testing.T) {
	f := loadFixture(t)
	key := f.Registration.RowsWritten.Authenticator[0]["credentialPublicKey"].(string)
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			d := dbtest.Open(t, dbtest.New(t, dialect))
			q, id := d.Dialect.Quote, " VARCHAR(191)"
			dbtest.Exec(t, d,
				"CREATE TABLE "+q("User")+" ("+q("id")+id+" PRIMARY KEY, "+q("email")+id+", "+q("name")+id+")",
				"CREATE TABLE "+q("Account")+" ("+q("userId")+id+", "+q("type")+id+", "+q("provider")+id+", "+q("providerAccountId")+id+")",
				"CREATE TABLE "+q("Authenticator")+" ("+q("credentialID")+id+" PRIMARY KEY, "+q("userId")+id+", "+q("providerAccountId")+id+", "+
					q("credentialPublicKey")+" TEXT, "+q("counter")+" INT, "+q("credentialDeviceType")+id+", "+q("credentialBackedUp")+" BOOLEAN, "+q("transports")+id+")")
			s := detect(t, d)
			exec := func(q string, args ...any) {
				t.Helper()
				if _, err := d.X.Exec(d.Dialect.Rebind(q), args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			exec(`INSERT INTO ` + d.Q("User") + ` VALUES ('u1', '', NULL), ('u2', NULL, 'Zoë')`)
			for _, c := range []string{"AAAA", "AAAB"} {
				exec(`INSERT INTO `+d.Q("Account")+` VALUES (?, 'webauthn', 'passkey', ?)`, map[string]string{"AAAA": "u1", "AAAB": "u2"}[c], c)
			}
			exec(`INSERT INTO `+d.Q("Authenticator")+` VALUES ('AAAA', 'u1', 'AAAA', ?, 300, 'singleDevice', TRUE, ''), ('AAAB', 'u2', 'AAAB', ?, 0, NULL, NULL, NULL)`, key, key)
			got := listAll(t, d, s, store.ListOptions{ProviderID: "passkey"})
			if len(got) != 2 {
				t.Fatalf("listed %d passkeys, want 2", len(got))
			}
			a, b := got[0], got[1]
			if a.Email == nil || *a.Email != "" || b.Email != nil {
				t.Errorf("e-mails: %v and %v, want \"\" and nil", a.Email, b.Email)
			}
			if a.Transports == nil || len(a.Transports) != 0 || b.Transports == nil || len(b.Transports) != 0 {
				t.Errorf("transports: %#v and %#v, want empty lists", a.Transports, b.Transports)
			}
			if a.Counter != 300 || !a.CredentialBackedUp || a.CredentialDeviceType != "singleDevice" || b.CredentialDeviceType != "" {
				t.Errorf("first passkey %+v, second %+v", a, b)
			}
			if a.Status != passkey.StatusOK || b.Status != passkey.StatusOK {
				t.Errorf("statuses %s and %s, want ok", a.Status, b.Status)
			}
			var lines []string
			if err := d.ExportPasskeys(context.Background(), s, store.ExportOptions{ProviderID: "passkey"}, func(r passkey.ExportRecord) error {
				line, err := json.Marshal(r)
				lines = append(lines, string(line))
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if len(lines) != 2 || !strings.Contains(lines[0], `"transports":[]`) || !strings.Contains(lines[1], `"transports":null`) ||
				!strings.Contains(lines[0], `"user":{"id":"u1","email":"","name":null,`) || !strings.Contains(lines[1], `"user":{"id":"u2","email":null,"name":"Zoë",`) {
				t.Errorf("export:\n%s", strings.Join(lines, "\n"))
			}

			exec(`INSERT INTO ` + d.Q("Authenticator") + ` VALUES ('AAAC', NULL, 'AAAC', '', 0, '', FALSE, '')`)
			err := d.ListPasskeys(context.Background(), s, store.ListOptions{ProviderID: "passkey"}, func(passkey.Passkey) error { return nil })
			if err == nil || !strings.Contains(err.Error(), "column userId of a passkey is NULL") {
				t.Fatalf("a NULL userId: want an error naming it, got %v", err)
			}
		})
	}
}
