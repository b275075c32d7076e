package db_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// TestImport_concurrentSkip runs eight imports of one input at once, each
// on its own connection pool as eight processes would: with --on-conflict
// skip every one succeeds (the first writes, the others skip) and nothing
// is written twice — also on Better Auth, whose credentialID index is not
// unique.
func TestImport_concurrentSkip(t *testing.T) {
	cases := []struct {
		dialect string
		app     db.App
	}{{"postgres", db.AppAuthjs}, {"postgres", db.AppBetterAuth}, {"mysql", db.AppAuthjs}, {"mysql", db.AppBetterAuth}, {"sqlite", db.AppAuthjs}}
	for _, c := range cases {
		t.Run(c.dialect+"/"+string(c.app), func(t *testing.T) {
			var dsn string
			var d *db.DB
			passkeys := "Authenticator"
			if c.app == db.AppBetterAuth {
				dsn, d = dbtest.BetterAuth(t, c.dialect, dbtest.BetterAuthOptions{})
				passkeys = "passkey"
			} else {
				dsn, d = dbtest.Migrated(t, c.dialect)
			}
			const n, runs = 60, 8
			var recs []passkey.ExportRecord
			for i := range n {
				recs = append(recs, record(t, fmt.Sprintf("u%d", i%7), fmt.Sprintf("user%d@example.com", i%7)))
			}
			in := lines(recs...)
			dbs := make([]*db.DB, runs)
			schemas := make([]*db.Schema, runs)
			for i := range dbs {
				dbs[i] = dbtest.Open(t, dsn)
				schemas[i] = detect(t, dbs[i])
			}
			errs := make([]error, runs)
			results := make([]*store.ImportResult, runs)
			var wg sync.WaitGroup
			for i := range runs {
				wg.Go(func() {
					results[i], errs[i] = dbs[i].Import(context.Background(), schemas[i], strings.NewReader(in),
						store.ImportOptions{ProviderID: "passkey", CreateUsers: true, OnConflict: store.ConflictSkip})
				})
			}
			wg.Wait()
			inserted := 0
			for i, err := range errs {
				if err != nil {
					t.Errorf("import %d: %v", i, err)
					continue
				}
				inserted += results[i].Inserted
				if results[i].Inserted+results[i].Skipped != n {
					t.Errorf("import %d: %+v", i, results[i])
				}
			}
			if inserted != n {
				t.Errorf("%d passkeys inserted in all, want %d", inserted, n)
			}
			if got := countRows(t, d, passkeys)[0]; got != n {
				t.Errorf("%d passkey rows, want %d", got, n)
			}
		})
	}
}

// TestRevoke_concurrentOppositeOrder revokes one set of passkeys twice at
// once, the second run given them in the opposite order, several times,
// each run looking them up first or in its transaction (revokePaths): one
// run revokes them all, the other finds them gone (ErrNotFound, exit 3),
// never a deadlock or a half-done revoke.
func TestRevoke_concurrentOppositeOrder(t *testing.T) {
	for _, dialect := range []string{"postgres", "mysql", "sqlite"} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			dsn, d := dbtest.Migrated(t, dialect)
			s := detect(t, d)
			other := dbtest.Open(t, dsn)
			s2 := detect(t, other)
			const n = 700 // more than one batch
			for round := range 5 {
				var recs []passkey.ExportRecord
				var ids []string
				for i := range n {
					r := record(t, fmt.Sprintf("u%d", i%50), fmt.Sprintf("user%d@example.com", i%50))
					recs = append(recs, r)
					ids = append(ids, r.CredentialID)
				}
				if _, err := d.Import(ctx, s, strings.NewReader(lines(recs...)), store.ImportOptions{ProviderID: "passkey", CreateUsers: true, OnConflict: store.ConflictSkip}); err != nil {
					t.Fatal(err)
				}
				// Rounds 0 and 3 look the passkeys up first, 1 and 4 in the
				// transaction, 2 one of each.
				pathA, pathB := revokePaths[round%3%2], revokePaths[min(round%3, 1)]
				backward := slices.Clone(ids)
				slices.Reverse(backward)
				var errA, errB error
				var wg sync.WaitGroup
				opts := store.RevokeOptions{ProviderID: "passkey", RevokeSessions: true}
				wg.Go(func() { _, errA = pathA.revoke(ctx, d, s, ids, opts) })
				wg.Go(func() { _, errB = pathB.revoke(ctx, other, s2, backward, opts) })
				wg.Wait()
				won := 0
				for _, err := range []error{errA, errB} {
					switch {
					case err == nil:
						won++
					case !errors.Is(err, passkey.ErrNotFound):
						t.Errorf("round %d: the losing revoke: %v, want ErrNotFound", round, err)
					}
				}
				if won != 1 {
					t.Errorf("round %d: %d revokes succeeded (%v, %v), want 1", round, won, errA, errB)
				}
				if c := countRows(t, d, "Authenticator", "Account"); c[0] != 0 || c[1] != 0 {
					t.Errorf("round %d: %v rows left", round, c)
				}
			}
		})
	}
}
