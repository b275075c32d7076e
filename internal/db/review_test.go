package db_test

import (
	"context"
	"errors"
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
