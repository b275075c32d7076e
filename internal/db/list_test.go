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
	"testing"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
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
			exp := db.Passkey{
				CredentialID:         id,
				UserID:               want["userId"].(string),
				Email:                &email,
				Counter:              0,
				CredentialDeviceType: "multiDevice",
				CredentialBackedUp:   true,
				Transports:           []string{"hybrid", "internal"},
				Algorithm:            "ES256",
				Status:               db.StatusOK,
				PublicKey:            want["credentialPublicKey"].(string),
				ProviderAccountID:    want["providerAccountId"].(string),
			}
			if !reflect.DeepEqual(p, exp) {
				t.Fatalf("GetPasskey:\n got %+v\nwant %+v", p, exp)
			}
			// Another provider id has no Account: Auth.js configured with
			// it could not sign in.
			p, err = d.GetPasskey(context.Background(), s, raw, "webauthn")
			if err != nil || p.Status != db.StatusNoAccount {
				t.Fatalf("other provider: %+v, %v", p, err)
			}
			// Byte-exact: the same ID with one letter's case flipped is a
			// different credential, even under MySQL's collations.
			flipped, _ := base64.StdEncoding.DecodeString(strings.Replace(id, "I", "i", 1))
			if _, err := d.GetPasskey(context.Background(), s, flipped, "passkey"); !errors.Is(err, db.ErrNotFound) {
				t.Fatalf("case-flipped ID: want ErrNotFound, got %v", err)
			}
		})
	}
}
