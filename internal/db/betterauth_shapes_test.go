package db_test

import (
	"context"
	"encoding/base64"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// Better Auth tables from older generators, on every dialect:
//   - drizzle11: Better Auth's Drizzle generator from v1.1.4 to v1.3.7
//     named credentialID "credential_i_d" (better-auth/better-auth#4368);
//     on SQLite its dates are whole seconds;
//   - v10: tables first made by Better Auth 1.0 keep a NOT NULL
//     webauthnUserID, which 1.0 filled with a fresh generated id per
//     passkey (ctx.context.generateId: nanoid, 21 URL-safe characters).
//
// Each is detected, and a passkey enrolled or imported into it is stored
// as that Better Auth stored it and lists ok.
func TestBetterAuth_olderShapes(t *testing.T) {
	ctx := context.Background()
	created := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	for _, dialect := range dbtest.Dialects {
		for _, shape := range []string{"betterauth-drizzle11", "betterauth-v10"} {
			t.Run(dialect+"/"+shape, func(t *testing.T) {
				d := dbtest.Open(t, dbtest.New(t, dialect))
				loadDDL(t, d, shape, true)
				s := detect(t, d)
				if s.App != db.AppBetterAuth {
					t.Fatalf("app %q, want better-auth", s.App)
				}
				ba, err := s.PasskeyTableReady()
				if err != nil {
					t.Fatal(err)
				}
				wantCred, wantWebAuthnUserID := "credentialID", "webauthnUserID"
				if shape == "betterauth-drizzle11" {
					wantCred, wantWebAuthnUserID = "credential_i_d", ""
				}
				if ba.P.CredentialID != wantCred || ba.P.WebAuthnUserID != wantWebAuthnUserID {
					t.Fatalf("credential ID column %q, webauthnUserID column %q; want %q, %q", ba.P.CredentialID, ba.P.WebAuthnUserID, wantCred, wantWebAuthnUserID)
				}

				// A user as the app writes one.
				userCols := []string{ba.U.ID, ba.U.Name, ba.U.Email, ba.U.EmailVerified, ba.U.CreatedAt, ba.U.UpdatedAt}
				now := baTime(d, ba.User, ba.U.CreatedAt)
				args := []any{"u1", "One", "one@example.com", true, now, now}
				quoted := make([]string, len(userCols))
				for i, c := range userCols {
					quoted[i] = d.Q(c)
				}
				if _, err := d.X.ExecContext(ctx, d.Dialect.Rebind("INSERT INTO "+d.Q(ba.User.Name)+" ("+strings.Join(quoted, ", ")+") VALUES (?, ?, ?, ?, ?, ?)"), args...); err != nil {
					t.Fatal(err)
				}

				raw := []byte("older-shape-credential")
				row, err := d.InsertBetterAuthPasskey(ctx, s, db.BetterAuthPasskey{
					PublicKey: dbtest.BenchPublicKey, UserID: "u1", CredentialID: base64.RawURLEncoding.EncodeToString(raw),
					DeviceType: "multiDevice", BackedUp: true,
				}, db.BetterAuthInsertOptions{Now: func() time.Time { return created }})
				if err != nil {
					t.Fatal(err)
				}
				if row.CreatedAt == nil || !row.CreatedAt.Equal(created) {
					t.Fatalf("createdAt read back %v, want %v", row.CreatedAt, created)
				}
				rec := record(t, "u1", "one@example.com")
				if _, err := d.Import(ctx, s, strings.NewReader(lines(rec)), store.ImportOptions{}); err != nil {
					t.Fatalf("import: %v", err)
				}

				var stored []struct {
					Cred    string `db:"c"`
					Created any    `db:"t"`
					WUID    any    `db:"w"`
				}
				wuid := "NULL"
				if ba.P.WebAuthnUserID != "" {
					wuid = d.Q(ba.P.WebAuthnUserID)
				}
				q := "SELECT " + d.Q(ba.P.CredentialID) + " AS c, " + d.Q(ba.P.CreatedAt) + " AS t, " + wuid + " AS w FROM " + d.Q(ba.Passkey.Name) + " ORDER BY 1"
				if err := d.X.SelectContext(ctx, &stored, q); err != nil {
					t.Fatal(err)
				}
				if len(stored) != 2 {
					t.Fatalf("%d rows, want 2", len(stored))
				}
				nanoid := regexp.MustCompile(`^[A-Za-z0-9_-]{21}$`)
				seen := map[string]bool{}
				for _, r := range stored {
					if ba.P.WebAuthnUserID != "" {
						w := asString(r.WUID)
						if !nanoid.MatchString(w) || seen[w] {
							t.Fatalf("webauthnUserID %q: want a fresh 21-character id per passkey, as Better Auth 1.0 wrote", w)
						}
						seen[w] = true
					}
					if r.Cred == base64.RawURLEncoding.EncodeToString(raw) && dialect == "sqlite" && shape == "betterauth-drizzle11" {
						if got := asString(r.Created); got != "1772600767" {
							t.Fatalf("created_at stored as %q, want whole seconds 1772600767 (Drizzle mode 'timestamp')", got)
						}
					}
				}
				st := map[string]string{}
				err = d.ListPasskeys(ctx, s, store.ListOptions{}, func(p passkey.Passkey) error {
					st[p.CredentialID] = p.Status
					if p.CredentialID == base64.RawURLEncoding.EncodeToString(raw) && (p.CreatedAt == nil || !p.CreatedAt.Equal(created)) {
						t.Errorf("list createdAt %v, want %v", p.CreatedAt, created)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if len(st) != 2 || st[base64.RawURLEncoding.EncodeToString(raw)] != passkey.StatusOK || st[rec.CredentialID] != passkey.StatusOK {
					t.Fatalf("statuses %v", st)
				}
			})
		}
	}
}

func asString(v any) string {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	}
	return ""
}
