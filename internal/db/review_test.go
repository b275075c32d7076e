package db_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
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
	if _, err := d.Revoke(ctx, s, ps, db.RevokeOptions{}); !errors.Is(err, db.ErrInvalid) {
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
	_, err := d.Import(ctx, s, strings.NewReader(lines(rec)), db.ImportOptions{ProviderID: "passkey"})
	if !errors.Is(err, db.ErrSchemaNotReady) {
		t.Fatalf("counter 2^31 into Auth.js: want ErrSchemaNotReady, got %v", err)
	}
	if after := countRows(t, d, tables...); !slices.Equal(after, before) {
		t.Fatalf("rows written: %v -> %v", before, after)
	}
}
