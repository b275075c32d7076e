package db_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// An empty provider id matches no Account row: revoking with it would
// delete the Authenticator rows and leave their Account rows behind as
// orphans, the half-deleted passkey Revoke exists to prevent.
func TestRevoke_emptyProviderIDRefused(t *testing.T) {
	ctx := context.Background()
	_, d := dbtest.Migrated(t, "sqlite")
	s := detect(t, d)
	sd := seedStatuses(t, d, s)
	ps, err := d.ResolveCredentials(ctx, s, []string{sd.ok}, "passkey")
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, d, s)
	if _, err := d.Revoke(ctx, s, ps, store.RevokeOptions{}); !errors.Is(err, passkey.ErrInvalid) {
		t.Fatalf("revoke with no provider id: want ErrInvalid, got %v", err)
	}
	sameSnapshot(t, snapshot(t, d, s), before)
}

// Auth.js's counter column is a signed 32-bit INT: enrolment refuses a
// larger counter (TestCreatePasskey_refusesAndWritesNothing), and so must
// import, where SQLite would store it and Prisma then fail to read the row.
func TestImport_counterOverAuthjsInt(t *testing.T) {
	ctx := context.Background()
	d, s, tables := importTarget(t, db.AppAuthjs, "sqlite")
	before := countRows(t, d, tables...)
	rec := record(t, "u1", "one@example.com")
	rec.Counter = 1 << 31
	_, err := d.Import(ctx, s, strings.NewReader(lines(rec)), store.ImportOptions{ProviderID: "passkey"})
	if !errors.Is(err, passkey.ErrSchemaNotReady) {
		t.Fatalf("counter 2^31 into Auth.js: want ErrSchemaNotReady, got %v", err)
	}
	if after := countRows(t, d, tables...); !slices.Equal(after, before) {
		t.Fatalf("rows written: %v -> %v", before, after)
	}
}

// An app that renamed its Passkey provider ("webauthn" here) keeps its
// passkeys' Account rows under that name. Revoking with the default
// --provider-id would delete the Authenticator rows and leave those
// Account rows as orphans: Revoke refuses, names the provider, and changes
// nothing; with the right provider id both rows go.
func TestRevoke_wrongProviderIDRefused(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			_, d := dbtest.Migrated(t, dialect)
			q := func(s string) string { return d.Dialect.Rebind(s) }
			const id = "INbbybromzQQ0aFYQlauAYFzl2U="
			for _, stmt := range []struct {
				sql  string
				args []any
			}{
				{`INSERT INTO ` + d.Q("User") + ` (id, email, ` + d.Q("updatedAt") + `) VALUES (?, ?, CURRENT_TIMESTAMP)`, []any{"u1", "a@example.com"}},
				{`INSERT INTO ` + d.Q("Account") + ` (` + d.Q("userId") + `, type, provider, ` + d.Q("providerAccountId") + `, ` + d.Q("updatedAt") + `) VALUES (?, 'webauthn', 'webauthn', ?, CURRENT_TIMESTAMP)`, []any{"u1", id}},
				{`INSERT INTO ` + d.Q("Authenticator") + ` (` + d.Q("credentialID") + `, ` + d.Q("userId") + `, ` + d.Q("providerAccountId") + `, ` + d.Q("credentialPublicKey") + `, counter, ` + d.Q("credentialDeviceType") + `, ` + d.Q("credentialBackedUp") + `) VALUES (?, ?, ?, ?, 0, 'multiDevice', ?)`,
					[]any{id, "u1", id, "pQECAyYgASFYIMAYEZESxZA8Oph6Bewn9vMntNwy+Ca7PZbKcHhUMANrIlggZLbNNdO6oJ/2NtR8/An2CHU8ASi/rqmwaztKfyYows4=", true}},
			} {
				if _, err := d.X.ExecContext(ctx, q(stmt.sql), stmt.args...); err != nil {
					t.Fatal(err)
				}
			}
			s := detect(t, d)
			ps, err := d.ResolveCredentials(ctx, s, []string{id}, "passkey")
			if err != nil || len(ps) != 1 || ps[0].Status != passkey.StatusNoAccount {
				t.Fatalf("resolve under the default provider: %+v %v", ps, err)
			}
			before := snapshot(t, d, s)
			_, err = d.Revoke(ctx, s, ps, store.RevokeOptions{ProviderID: "passkey"})
			if !errors.Is(err, passkey.ErrInvalid) || !strings.Contains(err.Error(), "--provider-id webauthn") {
				t.Fatalf("revoke with the wrong provider id: want ErrInvalid naming webauthn, got %v", err)
			}
			sameSnapshot(t, snapshot(t, d, s), before)

			ps, err = d.ResolveCredentials(ctx, s, []string{id}, "webauthn")
			if err != nil || ps[0].Status != passkey.StatusOK {
				t.Fatalf("resolve under the app's provider: %+v %v", ps, err)
			}
			res, err := d.Revoke(ctx, s, ps, store.RevokeOptions{ProviderID: "webauthn"})
			if err != nil || res.Accounts != 1 {
				t.Fatalf("revoke with the right provider id: %+v %v", res, err)
			}
		})
	}
}
