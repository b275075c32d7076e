package db_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
)

// findUserCase is one FindUser call and what it must return: the user id,
// or an error matching wantErr whose text contains every wantText.
type findUserCase struct {
	name     string
	ref      string
	wantID   string
	wantErr  error
	wantText []string
}

func runFindUser(t *testing.T, d *db.DB, s *db.Schema, cases []findUserCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u, err := d.FindUser(context.Background(), s, c.ref)
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("FindUser(%q) = %+v, %v; want %v", c.ref, u, err, c.wantErr)
				}
				for _, w := range c.wantText {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("FindUser(%q) error %q does not mention %q", c.ref, err, w)
					}
				}
				return
			}
			if err != nil || u.ID != c.wantID {
				t.Fatalf("FindUser(%q) = %+v, %v; want user %s", c.ref, u, err, c.wantID)
			}
		})
	}
}

// TestFindUser_authjs pins how a user reference resolves in an Auth.js
// User table: the id or e-mail byte-exactly first, then the e-mail
// case-insensitively; several case-insensitive matches are an error that
// lists them.
func TestFindUser_authjs(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			_, d := dbtest.Migrated(t, dialect)
			s := detect(t, d)
			verified := time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)
			insert(t, d, s, "User", map[string]any{"id": "u_ann", "email": "ann@example.com", "name": "Ann", "emailVerified": verified})
			insert(t, d, s, "User", map[string]any{"id": "u_bob", "email": "Bob@Example.com"})
			// An id that is another user's e-mail: Auth.js ids are free
			// text, and the one exact query sees both.
			insert(t, d, s, "User", map[string]any{"id": "carol@example.com", "email": "carol2@example.com"})
			insert(t, d, s, "User", map[string]any{"id": "u_carol", "email": "carol@example.com"})
			cases := []findUserCase{
				{name: "id", ref: "u_ann", wantID: "u_ann"},
				{name: "email", ref: "ann@example.com", wantID: "u_ann"},
				{name: "email trimmed", ref: "  ann@example.com\n", wantID: "u_ann"},
				{name: "email other case", ref: "ANN@Example.COM", wantID: "u_ann"},
				{name: "stored mixed case, exact", ref: "Bob@Example.com", wantID: "u_bob"},
				{name: "stored mixed case, lower", ref: "bob@example.com", wantID: "u_bob"},
				{name: "id other case is not an id", ref: "U_ANN", wantErr: passkey.ErrNotFound, wantText: []string{"U_ANN"}},
				{name: "id of one, e-mail of another", ref: "carol@example.com", wantErr: passkey.ErrInvalid, wantText: []string{"matches 2 users", "carol@example.com <carol2@example.com>", "u_carol <carol@example.com>"}},
				{name: "unknown", ref: "nobody@example.com", wantErr: passkey.ErrNotFound, wantText: []string{"user not found: nobody@example.com"}},
				{name: "empty", ref: "  ", wantErr: passkey.ErrInvalid},
			}
			if dialect != "mysql" {
				// MySQL's case-insensitive unique index on email refuses
				// these two; elsewhere they coexist.
				insert(t, d, s, "User", map[string]any{"id": "u_dan", "email": "dan@example.com"})
				insert(t, d, s, "User", map[string]any{"id": "u_dan2", "email": "DAN@example.com"})
				cases = append(cases,
					findUserCase{name: "exact wins over case-insensitive", ref: "DAN@example.com", wantID: "u_dan2"},
					findUserCase{name: "exact wins, lower", ref: "dan@example.com", wantID: "u_dan"},
					findUserCase{name: "several case-insensitive", ref: "Dan@Example.com", wantErr: passkey.ErrInvalid, wantText: []string{"matches 2 users", "u_dan <dan@example.com>", "u_dan2 <DAN@example.com>", "give the user id instead"}},
				)
			}
			runFindUser(t, d, s, cases)

			u, err := d.FindUser(context.Background(), s, "ANN@example.com")
			if err != nil || u.Name == nil || *u.Name != "Ann" || !u.EmailVerified || u.Email == nil || *u.Email != "ann@example.com" {
				t.Errorf("FindUser fields: %+v %v; want name Ann, e-mail as stored, emailVerified", u, err)
			}
			if u, err := d.FindUser(context.Background(), s, "u_bob"); err != nil || u.Name != nil || u.EmailVerified {
				t.Errorf("FindUser u_bob: %+v %v; want no name, not verified", u, err)
			}
		})
	}
}

// TestFindUser_betterAuth pins the Better Auth lookup: the id (when the
// reference can be one in the table's id mode), else the e-mail exactly,
// else case-insensitively.
func TestFindUser_betterAuth(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		for _, shape := range baShapes {
			t.Run(dialect+"/"+shape.name, func(t *testing.T) {
				_, d := dbtest.BetterAuth(t, dialect, shape.opts)
				s := detect(t, d)
				baUser(t, d, s, "u_ann", "ann@example.com", "Ann")
				baUser(t, d, s, "carol@example.com", "carol2@example.com", "Carol Two")
				baUser(t, d, s, "u_carol", "carol@example.com", "Carol")
				cases := []findUserCase{
					{name: "id", ref: "u_ann", wantID: "u_ann"},
					{name: "email", ref: "ann@example.com", wantID: "u_ann"},
					{name: "email other case", ref: "Ann@EXAMPLE.com", wantID: "u_ann"},
					{name: "id wins over another's e-mail", ref: "carol@example.com", wantID: "carol@example.com"},
					{name: "unknown", ref: "nobody@example.com", wantErr: passkey.ErrNotFound},
					{name: "empty", ref: "", wantErr: passkey.ErrInvalid},
				}
				if dialect != "mysql" {
					baUser(t, d, s, "u_dan", "dan@example.com", "Dan")
					baUser(t, d, s, "u_dan2", "DAN@example.com", "Dan Two")
					cases = append(cases,
						findUserCase{name: "exact wins over case-insensitive", ref: "DAN@example.com", wantID: "u_dan2"},
						findUserCase{name: "several case-insensitive", ref: "dAn@example.com", wantErr: passkey.ErrInvalid, wantText: []string{"matches 2 users", "u_dan <dan@example.com>", "u_dan2 <DAN@example.com>"}},
					)
				}
				runFindUser(t, d, s, cases)
				u, err := d.FindUser(context.Background(), s, "ANN@example.com")
				if err != nil || u.Name == nil || *u.Name != "Ann" || !u.EmailVerified {
					t.Errorf("FindUser fields: %+v %v; want name Ann, emailVerified", u, err)
				}
			})
		}
	}
	t.Run("postgres/uuid", func(t *testing.T) {
		_, d := dbtest.BetterAuth(t, "postgres", dbtest.BetterAuthOptions{IDMode: "uuid"})
		s := detect(t, d)
		id := "0f8fad5b-d9cb-469f-a165-70867728950e"
		baUser(t, d, s, id, "ann@example.com", "Ann")
		// A reference that is not a UUID never reaches the uuid column,
		// which PostgreSQL would refuse to compare with it.
		runFindUser(t, d, s, []findUserCase{
			{name: "id", ref: id, wantID: id},
			{name: "id upper case", ref: strings.ToUpper(id), wantID: id},
			{name: "email", ref: "ANN@example.com", wantID: id},
			{name: "unknown", ref: "u_nobody", wantErr: passkey.ErrNotFound},
		})
	})
	t.Run("sqlite/integer", func(t *testing.T) {
		_, d := dbtest.BetterAuth(t, "sqlite", dbtest.BetterAuthOptions{IDMode: "integer"})
		s := detect(t, d)
		id := baUser(t, d, s, "", "ann@example.com", "Ann")
		runFindUser(t, d, s, []findUserCase{
			{name: "id", ref: id, wantID: id},
			{name: "email", ref: "Ann@example.com", wantID: id},
			{name: "unknown id", ref: "999", wantErr: passkey.ErrNotFound},
		})
	})
}

// TestFindUser_mysqlFoldUsesIndex checks that on MySQL/MariaDB, where the
// usual collations ignore case, an e-mail given in another case is found
// through the e-mail index instead of a read of the whole user table (the
// LOWER(email) test that PostgreSQL and SQLite need).
func TestFindUser_mysqlFoldUsesIndex(t *testing.T) {
	const users = 300
	check := func(t *testing.T, d *db.DB, s *db.Schema, ref, wantID string) {
		t.Helper()
		ctx := context.Background()
		// One connection, so that the session counters are the lookup's
		// own. Handler_read_rnd_next counts the rows table scans read;
		// FLUSH STATUS resets it.
		d.X.SetMaxOpenConns(1)
		if _, err := d.X.ExecContext(ctx, "FLUSH STATUS"); err != nil {
			t.Fatal(err)
		}
		u, err := d.FindUser(ctx, s, ref)
		if err != nil || u.ID != wantID {
			t.Fatalf("FindUser(%q) = %+v, %v; want %s", ref, u, err, wantID)
		}
		var name string
		var scanned int
		if err := d.X.QueryRowxContext(ctx, "SHOW SESSION STATUS LIKE 'Handler_read_rnd_next'").Scan(&name, &scanned); err != nil {
			t.Fatal(err)
		}
		if scanned >= users {
			t.Errorf("FindUser(%q) read %d rows by table scan (%d users): the e-mail index was not used", ref, scanned, users)
		}
	}
	t.Run("authjs", func(t *testing.T) {
		_, d := dbtest.Migrated(t, "mysql")
		s := detect(t, d)
		for i := range users {
			insert(t, d, s, "User", map[string]any{"id": fmt.Sprintf("u%03d", i), "email": fmt.Sprintf("user%03d@example.com", i)})
		}
		check(t, d, s, "USER123@Example.com", "u123")
	})
	t.Run("better-auth", func(t *testing.T) {
		_, d := dbtest.BetterAuth(t, "mysql", dbtest.BetterAuthOptions{})
		s := detect(t, d)
		for i := range users {
			baUser(t, d, s, fmt.Sprintf("u%03d", i), fmt.Sprintf("user%03d@example.com", i), "User")
		}
		check(t, d, s, "User123@EXAMPLE.com", "u123")
	})
}
