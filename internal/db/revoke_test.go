package db_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
	"github.com/passkeyctl/passkeyctl/schema"
)

// snapshot returns every row of every Auth.js table, each formatted as one
// string, sorted: comparing two snapshots shows exactly which rows a
// command removed.
func snapshot(t testing.TB, d *db.DB, s *db.Schema) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, tbl := range []*db.Table{s.User, s.Account, s.Session, s.VerificationToken, s.Authenticator} {
		if tbl == nil {
			continue
		}
		rows, err := d.X.QueryContext(context.Background(), "SELECT * FROM "+d.Q(tbl.Name))
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		list := []string{}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for i, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, "%s=%v;", cols[i], v)
			}
			list = append(list, b.String())
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		sort.Strings(list)
		out[tbl.Name] = list
	}
	return out
}

// without returns snap with the rows of table that contain every one of
// the given column=value pairs removed.
func without(snap map[string][]string, table string, pairs ...string) map[string][]string {
	out := map[string][]string{}
	for k, v := range snap {
		out[k] = slices.Clone(v)
	}
	out[table] = slices.DeleteFunc(out[table], func(row string) bool {
		for _, p := range pairs {
			if !strings.Contains(row, p+";") {
				return false
			}
		}
		return true
	})
	return out
}

func sameSnapshot(t testing.TB, got, want map[string][]string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		for k := range want {
			if !reflect.DeepEqual(got[k], want[k]) {
				t.Errorf("table %s:\n got %q\nwant %q", k, got[k], want[k])
			}
		}
		t.FailNow()
	}
}

func TestResolveCredentials_everyForm(t *testing.T) {
	// Bytes whose standard base64 has "+" and "/" (and base64url "-" and
	// "_") and needs padding.
	raw := []byte{0xfb, 0xef, 0xbe, 0xff, 0xfe, 0x01, 0x02}
	stored := passkey.AuthjsCredentialID(raw) // "++++//4BAg=="
	forms := map[string]string{
		"stored":             stored,
		"std unpadded":       strings.TrimRight(stored, "="),
		"base64url":          base64.RawURLEncoding.EncodeToString(raw),
		"base64url padded":   base64.URLEncoding.EncodeToString(raw),
		"hex":                hex.EncodeToString(raw),
		"hex upper":          strings.ToUpper(hex.EncodeToString(raw)),
		"hex: prefix":        "hex:" + hex.EncodeToString(raw),
		"surrounding spaces": "  " + stored + "\t",
	}
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			_, d := dbtest.Migrated(t, dialect)
			s := detect(t, d)
			insertFixture(t, d, s, loadFixture(t))
			insert(t, d, s, "Authenticator", map[string]any{"credentialID": stored, "userId": "cmwvgemvd0000l07d4xrhgdsb", "providerAccountId": stored,
				"credentialPublicKey": coseKey(t, -8), "counter": 0, "credentialDeviceType": "multiDevice", "credentialBackedUp": true})
			for name, form := range forms {
				got, err := d.ResolveCredentials(context.Background(), s, []string{form}, "passkey")
				if err != nil {
					t.Fatalf("%s %q: %v", name, form, err)
				}
				if len(got) != 1 || got[0].CredentialID != stored {
					t.Fatalf("%s %q: got %+v", name, form, got)
				}
			}
			// The fixture's ID as the browser shows it (base64url, no
			// padding) finds the row Auth.js wrote.
			got, err := d.ResolveCredentials(context.Background(), s, []string{"INbbybromzQQ0aFYQlauAYFzl2U"}, "passkey")
			if err != nil || len(got) != 1 || got[0].CredentialID != "INbbybromzQQ0aFYQlauAYFzl2U=" || got[0].Status != passkey.StatusOK {
				t.Fatalf("fixture base64url: %+v, %v", got, err)
			}
			// One passkey named in several forms is returned once, in the
			// order first given.
			all := []string{forms["hex"], "INbbybromzQQ0aFYQlauAYFzl2U=", forms["base64url"], forms["stored"]}
			got, err = d.ResolveCredentials(context.Background(), s, all, "passkey")
			if err != nil || len(got) != 2 || got[0].CredentialID != stored || got[1].CredentialID != "INbbybromzQQ0aFYQlauAYFzl2U=" {
				t.Fatalf("duplicates: %+v, %v", got, err)
			}
			// Malformed.
			if _, err := d.ResolveCredentials(context.Background(), s, []string{"not base64!"}, "passkey"); !errors.Is(err, passkey.ErrInvalid) {
				t.Fatalf("malformed: want ErrInvalid, got %v", err)
			}
		})
	}
}

func TestResolveCredentials_ambiguous(t *testing.T) {
	_, d := dbtest.Migrated(t, "postgres")
	s := detect(t, d)
	sd := seedStatuses(t, d, s)
	// "deadbeef" is valid hex and valid base64: store both readings.
	asHex, _ := hex.DecodeString("deadbeef")
	asB64, _ := base64.RawStdEncoding.DecodeString("deadbeef")
	for _, raw := range [][]byte{asHex, asB64} {
		id := passkey.AuthjsCredentialID(raw)
		insert(t, d, s, "Authenticator", map[string]any{"credentialID": id, "userId": sd.alice, "providerAccountId": id,
			"credentialPublicKey": coseKey(t, -7), "counter": 0, "credentialDeviceType": "singleDevice", "credentialBackedUp": false})
	}
	_, err := d.ResolveCredentials(context.Background(), s, []string{"deadbeef"}, "passkey")
	if !errors.Is(err, passkey.ErrInvalid) || !strings.Contains(err.Error(), "ambiguous") {
		t.Fatalf("want ambiguous ErrInvalid, got %v", err)
	}
	got, err := d.ResolveCredentials(context.Background(), s, []string{"hex:deadbeef"}, "passkey")
	if err != nil || got[0].CredentialID != passkey.AuthjsCredentialID(asHex) {
		t.Fatalf("hex: prefix: %+v, %v", got, err)
	}
}

func TestRevoke_allOrNothing(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			_, d := dbtest.Migrated(t, dialect)
			s := detect(t, d)
			sd := seedStatuses(t, d, s)
			before := snapshot(t, d, s)
			unknown := base64.RawURLEncoding.EncodeToString([]byte("no such credential"))
			_, err := d.ResolveCredentials(context.Background(), s, []string{sd.ok, unknown, sd.eddsa}, "passkey")
			if !errors.Is(err, passkey.ErrNotFound) || !strings.Contains(err.Error(), unknown) || !strings.Contains(err.Error(), "nothing was revoked") {
				t.Fatalf("want ErrNotFound naming %s, got %v", unknown, err)
			}
			// The ID in another case is another credential, also on MySQL.
			if _, err := d.ResolveCredentials(context.Background(), s, []string{strings.ToLower(sd.ok)}, "passkey"); !errors.Is(err, passkey.ErrNotFound) {
				t.Fatalf("lower-cased ID: want ErrNotFound, got %v", err)
			}
			sameSnapshot(t, snapshot(t, d, s), before)
		})
	}
}

// revokePaths are the two ways revoke runs: the passkeys looked up
// first, shown, then revoked (Revoke); or, with --yes and --dry-run,
// looked up inside the revoke's transaction (RevokeCredentials). Both
// must remove exactly the same rows and report the same.
var revokePaths = []struct {
	name   string
	revoke func(ctx context.Context, d *db.DB, s *db.Schema, ids []string, opts store.RevokeOptions) (*store.RevokeResult, error)
}{
	{"looked-up-first", func(ctx context.Context, d *db.DB, s *db.Schema, ids []string, opts store.RevokeOptions) (*store.RevokeResult, error) {
		ps, err := d.ResolveCredentials(ctx, s, ids, opts.ProviderID)
		if err != nil {
			return nil, err
		}
		return d.Revoke(ctx, s, ps, opts)
	}},
	{"in-transaction", func(ctx context.Context, d *db.DB, s *db.Schema, ids []string, opts store.RevokeOptions) (*store.RevokeResult, error) {
		return d.RevokeCredentials(ctx, s, ids, opts)
	}},
}

func TestRevoke_rows(t *testing.T) {
	ctx := context.Background()
	for _, dialect := range dbtest.Dialects {
		for _, path := range revokePaths {
			t.Run(dialect+"/"+path.name, func(t *testing.T) { testRevokeRows(t, ctx, dialect, path.revoke) })
		}
	}
}

func testRevokeRows(t *testing.T, ctx context.Context, dialect string, revokeIDs func(ctx context.Context, d *db.DB, s *db.Schema, ids []string, opts store.RevokeOptions) (*store.RevokeResult, error)) {
	_, d := dbtest.Migrated(t, dialect)
	s := detect(t, d)
	sd := seedStatuses(t, d, s)
	revoke := func(opts store.RevokeOptions, ids ...string) *store.RevokeResult {
		t.Helper()
		opts.ProviderID = "passkey"
		res, err := revokeIDs(ctx, d, s, ids, opts)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	auth, acct, sess := s.Authenticator.Name, s.Account.Name, s.Session.Name

	// Dry run: exact counts, nothing changed.
	before := snapshot(t, d, s)
	res := revoke(store.RevokeOptions{DryRun: true, RevokeSessions: true}, sd.ok, sd.eddsa, sd.noAccount, sd.mismatch, sd.badKey)
	if !res.DryRun || len(res.Passkeys) != 5 || res.Accounts != 3 || res.Sessions != 2 || len(res.Stranded) != 1 || res.Stranded[0].ID != sd.alice {
		t.Fatalf("dry run result: %+v", res)
	}
	sameSnapshot(t, snapshot(t, d, s), before)

	// One passkey: its Authenticator and Account rows go, nothing
	// else; alice keeps her other passkey, so she is not stranded.
	res = revoke(store.RevokeOptions{}, sd.ok)
	if len(res.Passkeys) != 1 || res.Accounts != 1 || res.Sessions != 0 || len(res.Stranded) != 0 {
		t.Fatalf("revoke ok: %+v", res)
	}
	want := without(without(before, auth, "credentialID="+sd.ok), acct, "providerAccountId="+sd.ok, "userId="+sd.alice)
	sameSnapshot(t, snapshot(t, d, s), want)

	// Account of another user: bob's passkey goes, carol's Account
	// stays.
	before = snapshot(t, d, s)
	res = revoke(store.RevokeOptions{}, sd.mismatch)
	if res.Accounts != 0 {
		t.Fatalf("mismatch: deleted %d Account rows", res.Accounts)
	}
	sameSnapshot(t, snapshot(t, d, s), without(before, auth, "credentialID="+sd.mismatch))

	// --revoke-sessions: bob's sessions only. Bob keeps his GitHub
	// Account, so he is not stranded.
	before = snapshot(t, d, s)
	res = revoke(store.RevokeOptions{RevokeSessions: true}, sd.noAccount)
	if res.Accounts != 0 || res.Sessions != 1 || len(res.Stranded) != 0 {
		t.Fatalf("no-account with sessions: %+v", res)
	}
	sameSnapshot(t, snapshot(t, d, s), without(without(before, auth, "credentialID="+sd.noAccount), sess, "userId="+sd.bob))

	// Alice's last passkey: she is left with nothing to sign in.
	before = snapshot(t, d, s)
	res = revoke(store.RevokeOptions{}, sd.eddsa)
	if len(res.Stranded) != 1 || res.Stranded[0].ID != sd.alice || res.Stranded[0].Email == nil || *res.Stranded[0].Email != "Alice@Example.com" {
		t.Fatalf("stranded: %+v", res.Stranded)
	}
	sameSnapshot(t, snapshot(t, d, s), without(without(before, auth, "credentialID="+sd.eddsa), acct, "providerAccountId="+sd.eddsa))
}

// TestRevoke_strandedAcrossBatches: revoke deletes batch by batch in the
// stored IDs' byte order, and tells after each batch which of its users
// keep a passkey. A user whose revoked passkeys fall in several batches is
// stranded only when none is left, and one who keeps a passkey is not,
// whether the passkey kept sorts before or after the revoked ones, on
// either path.
func TestRevoke_strandedAcrossBatches(t *testing.T) {
	ctx := context.Background()
	for _, dialect := range dbtest.Dialects {
		for _, path := range revokePaths {
			t.Run(dialect+"/"+path.name, func(t *testing.T) {
				_, d := dbtest.Migrated(t, dialect)
				s := detect(t, d)
				// 1,100 passkeys: three batches of the lock order.
				const n = 1100
				type cred struct{ stored, given string }
				creds := make([]cred, n)
				for i := range creds {
					raw := make([]byte, 16)
					rand.Read(raw)
					creds[i] = cred{passkey.AuthjsCredentialID(raw), base64.RawURLEncoding.EncodeToString(raw)}
				}
				slices.SortFunc(creds, func(a, b cred) int { return strings.Compare(a.stored, b.stored) })
				owner := func(i int) string {
					switch i {
					case 0, 600: // both revoked, in batches 1 and 2
						return "both-revoked"
					case 1, 601: // 601 kept
						return "keeps-later"
					case 2, 602: // 2 kept
						return "keeps-earlier"
					}
					return fmt.Sprintf("rest-%d", i%7) // all revoked, in every batch
				}
				kept := map[int]bool{601: true, 2: true}
				var recs []passkey.ExportRecord
				var ids []string
				for i, c := range creds {
					r := record(t, owner(i), owner(i)+"@example.com")
					r.CredentialID = c.given
					recs = append(recs, r)
					if !kept[i] {
						ids = append(ids, c.given)
					}
				}
				if _, err := d.Import(ctx, s, strings.NewReader(lines(recs...)), store.ImportOptions{ProviderID: "passkey", CreateUsers: true}); err != nil {
					t.Fatal(err)
				}
				res, err := path.revoke(ctx, d, s, ids, store.RevokeOptions{ProviderID: "passkey"})
				if err != nil {
					t.Fatal(err)
				}
				var stranded []string
				for _, u := range res.Stranded {
					stranded = append(stranded, u.ID)
				}
				slices.Sort(stranded)
				want := []string{"both-revoked", "rest-0", "rest-1", "rest-2", "rest-3", "rest-4", "rest-5", "rest-6"}
				if !slices.Equal(stranded, want) {
					t.Errorf("stranded %q, want %q", stranded, want)
				}
				if len(res.Passkeys) != n-2 || res.Accounts != n-2 {
					t.Errorf("revoked %d passkeys and %d accounts, want %d", len(res.Passkeys), res.Accounts, n-2)
				}
				for i, p := range res.Passkeys {
					if p.CredentialID != passkey.AuthjsCredentialID(mustDecode(t, ids[i])) {
						t.Fatalf("passkey %d is %s, want %s: not in the order given", i, p.CredentialID, ids[i])
					}
				}
				if c := countRows(t, d, s.Authenticator.Name, s.Account.Name); c[0] != 2 || c[1] != 2 {
					t.Errorf("%v rows left, want the 2 kept passkeys and their accounts", c)
				}
			})
		}
	}
}

func TestRevoke_conflict(t *testing.T) {
	ctx := context.Background()
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			_, d := dbtest.Migrated(t, dialect)
			s := detect(t, d)
			sd := seedStatuses(t, d, s)
			ps, err := d.ResolveCredentials(ctx, s, []string{sd.ok, sd.eddsa}, "passkey")
			if err != nil {
				t.Fatal(err)
			}
			// Someone else revokes one of them between look-up and delete.
			if _, err := d.X.ExecContext(ctx, d.Dialect.Rebind("DELETE FROM "+d.Q(s.Authenticator.Name)+" WHERE "+d.Q("credentialID")+" = ?"), sd.eddsa); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, d, s)
			// The lost race is found before the backup: a revoke that
			// does not happen appends nothing to it.
			backedUp := 0
			backup := func(recs []passkey.ExportRecord) error { backedUp += len(recs); return nil }
			if _, err := d.Revoke(ctx, s, ps, store.RevokeOptions{ProviderID: "passkey", Backup: backup}); !errors.Is(err, passkey.ErrNotFound) {
				t.Fatalf("want ErrNotFound, got %v", err)
			}
			if backedUp != 0 {
				t.Fatalf("a revoke that lost the race backed up %d passkeys", backedUp)
			}
			sameSnapshot(t, snapshot(t, d, s), before)
			// The backup gets the rows as locked, with revokedAt.
			rest, err := d.ResolveCredentials(ctx, s, []string{sd.ok}, "passkey")
			if err != nil {
				t.Fatal(err)
			}
			var recs []passkey.ExportRecord
			backup = func(r []passkey.ExportRecord) error { recs = r; return nil }
			if _, err := d.Revoke(ctx, s, rest, store.RevokeOptions{ProviderID: "passkey", Backup: backup}); err != nil {
				t.Fatal(err)
			}
			if len(recs) != 1 || recs[0].RevokedAt == nil || recs[0].Counter != rest[0].Counter || recs[0].Status != passkey.StatusOK {
				t.Fatalf("backup records: %+v", recs)
			}
		})
	}
}

// TestRevoke_batches revokes more passkeys than one statement covers.
func TestRevoke_batches(t *testing.T) {
	const n = 1234
	ctx := context.Background()
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			_, d := dbtest.Migrated(t, dialect)
			s := detect(t, d)
			sd := seedStatuses(t, d, s)
			tx, err := d.X.BeginTxx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			key := coseKey(t, -7)
			ids := make([]string, n)
			for i := range ids {
				raw := []byte(fmt.Sprintf("bulk-%06d", i))
				id := passkey.AuthjsCredentialID(raw)
				ids[i] = base64.RawURLEncoding.EncodeToString(raw)
				if _, err := tx.ExecContext(ctx, d.Dialect.Rebind("INSERT INTO "+d.Q(s.Authenticator.Name)+" ("+d.Q("credentialID")+", "+d.Q("userId")+", "+d.Q("providerAccountId")+", "+d.Q("credentialPublicKey")+", "+d.Q("counter")+", "+d.Q("credentialDeviceType")+", "+d.Q("credentialBackedUp")+") VALUES (?, ?, ?, ?, 0, 'singleDevice', FALSE)"), id, sd.carol, id, key); err != nil {
					t.Fatal(err)
				}
				if _, err := tx.ExecContext(ctx, d.Dialect.Rebind("INSERT INTO "+d.Q(s.Account.Name)+" ("+d.Q("userId")+", "+d.Q("type")+", "+d.Q("provider")+", "+d.Q("providerAccountId")+", "+d.Q("updatedAt")+") VALUES (?, 'webauthn', 'passkey', ?, CURRENT_TIMESTAMP)"), sd.carol, id); err != nil {
					t.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, d, s)
			ps, err := d.ResolveCredentials(ctx, s, ids, "passkey")
			if err != nil || len(ps) != n {
				t.Fatalf("resolve: %d, %v", len(ps), err)
			}
			res, err := d.Revoke(ctx, s, ps, store.RevokeOptions{ProviderID: "passkey"})
			if err != nil || res.Accounts != n {
				t.Fatalf("revoke: %+v, %v", res, err)
			}
			after := snapshot(t, d, s)
			want := before
			for _, tbl := range []string{s.Authenticator.Name, s.Account.Name} {
				want[tbl] = slices.DeleteFunc(want[tbl], func(row string) bool { return strings.Contains(row, "=YnVsay0w") }) // base64 of "bulk-0"
			}
			sameSnapshot(t, after, want)
		})
	}
}

// variant is one real-world shape of the Auth.js tables.
type variant struct {
	name, dialect string
	ddl           []string
	// migrate creates the Authenticator table with passkeyctl's own
	// migration after ddl (an app adopting passkeys).
	migrate bool
	want    db.Variant
}

var variants = []variant{
	{
		// The Prisma schema of the Auth.js MySQL docs: VARCHAR(191)
		// everywhere under utf8mb4_unicode_ci (case-insensitive), Account
		// and Session with their own id, one Account per user, and the
		// legacy Authenticator with an id.
		name: "mysql prisma docs legacy", dialect: "mysql", want: db.VariantLegacy,
		ddl: []string{
			"CREATE TABLE `User` (`id` VARCHAR(191) NOT NULL, `name` VARCHAR(191) NULL, `email` VARCHAR(191) NULL, `emailVerified` DATETIME(3) NULL, `image` VARCHAR(191) NULL, `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), `updatedAt` DATETIME(3) NOT NULL, UNIQUE INDEX `User_email_key`(`email`), PRIMARY KEY (`id`)) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
			"CREATE TABLE `Account` (`id` VARCHAR(191) NOT NULL, `userId` VARCHAR(191) NOT NULL, `type` VARCHAR(191) NOT NULL, `provider` VARCHAR(191) NOT NULL, `providerAccountId` VARCHAR(191) NOT NULL, `refresh_token` TEXT NULL, `access_token` TEXT NULL, `expires_at` INTEGER NULL, `token_type` VARCHAR(191) NULL, `scope` VARCHAR(191) NULL, `id_token` TEXT NULL, `session_state` VARCHAR(191) NULL, `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), `updatedAt` DATETIME(3) NOT NULL, UNIQUE INDEX `Account_userId_key`(`userId`), UNIQUE INDEX `Account_provider_providerAccountId_key`(`provider`, `providerAccountId`), PRIMARY KEY (`id`), CONSTRAINT `Account_userId_fkey` FOREIGN KEY (`userId`) REFERENCES `User`(`id`) ON DELETE RESTRICT ON UPDATE CASCADE) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
			"CREATE TABLE `Session` (`id` VARCHAR(191) NOT NULL, `sessionToken` VARCHAR(191) NOT NULL, `userId` VARCHAR(191) NOT NULL, `expires` DATETIME(3) NOT NULL, `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), `updatedAt` DATETIME(3) NOT NULL, UNIQUE INDEX `Session_sessionToken_key`(`sessionToken`), PRIMARY KEY (`id`), CONSTRAINT `Session_userId_fkey` FOREIGN KEY (`userId`) REFERENCES `User`(`id`) ON DELETE RESTRICT ON UPDATE CASCADE) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
			"CREATE TABLE `VerificationToken` (`identifier` VARCHAR(191) NOT NULL, `token` VARCHAR(191) NOT NULL, `expires` DATETIME(3) NOT NULL, PRIMARY KEY (`identifier`, `token`)) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
			"CREATE TABLE `Authenticator` (`id` VARCHAR(191) NOT NULL, `credentialID` VARCHAR(191) NOT NULL, `userId` VARCHAR(191) NOT NULL, `providerAccountId` VARCHAR(191) NOT NULL, `credentialPublicKey` VARCHAR(191) NOT NULL, `counter` INTEGER NOT NULL, `credentialDeviceType` VARCHAR(191) NOT NULL, `credentialBackedUp` BOOLEAN NOT NULL, `transports` VARCHAR(191) NULL, UNIQUE INDEX `Authenticator_credentialID_key`(`credentialID`), PRIMARY KEY (`id`), CONSTRAINT `Authenticator_userId_fkey` FOREIGN KEY (`userId`) REFERENCES `User`(`id`) ON DELETE CASCADE ON UPDATE CASCADE) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
		},
	},
	{
		// Prisma's core tables (utf8mb4_unicode_ci) with passkeyctl's
		// Authenticator (ascii_bin ID columns): the JOIN mixes collations.
		name: "mysql prisma core + passkeyctl authenticator", dialect: "mysql", migrate: true, want: db.VariantCurrent,
		ddl: []string{
			"CREATE TABLE `User` (`id` VARCHAR(191) NOT NULL, `name` VARCHAR(191) NULL, `email` VARCHAR(191) NULL, `emailVerified` DATETIME(3) NULL, `image` VARCHAR(191) NULL, `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), `updatedAt` DATETIME(3) NOT NULL, UNIQUE INDEX `User_email_key`(`email`), PRIMARY KEY (`id`)) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
			"CREATE TABLE `Account` (`userId` VARCHAR(191) NOT NULL, `type` VARCHAR(191) NOT NULL, `provider` VARCHAR(191) NOT NULL, `providerAccountId` VARCHAR(191) NOT NULL, `refresh_token` TEXT NULL, `access_token` TEXT NULL, `expires_at` INTEGER NULL, `token_type` VARCHAR(191) NULL, `scope` VARCHAR(191) NULL, `id_token` TEXT NULL, `session_state` VARCHAR(191) NULL, `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), `updatedAt` DATETIME(3) NOT NULL, PRIMARY KEY (`provider`, `providerAccountId`), CONSTRAINT `Account_userId_fkey` FOREIGN KEY (`userId`) REFERENCES `User`(`id`) ON DELETE CASCADE ON UPDATE CASCADE) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
			"CREATE TABLE `Session` (`sessionToken` VARCHAR(191) NOT NULL, `userId` VARCHAR(191) NOT NULL, `expires` DATETIME(3) NOT NULL, `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), `updatedAt` DATETIME(3) NOT NULL, UNIQUE INDEX `Session_sessionToken_key`(`sessionToken`), CONSTRAINT `Session_userId_fkey` FOREIGN KEY (`userId`) REFERENCES `User`(`id`) ON DELETE CASCADE ON UPDATE CASCADE) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
			"CREATE TABLE `VerificationToken` (`identifier` VARCHAR(191) NOT NULL, `token` VARCHAR(191) NOT NULL, `expires` DATETIME(3) NOT NULL, PRIMARY KEY (`identifier`, `token`)) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
		},
	},
	{
		name: "postgres drizzle", dialect: "postgres", want: db.VariantDrizzle,
		ddl: []string{
			`CREATE TABLE "user" ("id" text PRIMARY KEY NOT NULL, "name" text, "email" text, "emailVerified" timestamp, "image" text, CONSTRAINT "user_email_unique" UNIQUE("email"))`,
			`CREATE TABLE "account" ("userId" text NOT NULL REFERENCES "user"("id") ON DELETE cascade, "type" text NOT NULL, "provider" text NOT NULL, "providerAccountId" text NOT NULL, "refresh_token" text, "access_token" text, "expires_at" integer, "token_type" text, "scope" text, "id_token" text, "session_state" text, CONSTRAINT "account_provider_providerAccountId_pk" PRIMARY KEY("provider","providerAccountId"))`,
			`CREATE TABLE "session" ("sessionToken" text PRIMARY KEY NOT NULL, "userId" text NOT NULL REFERENCES "user"("id") ON DELETE cascade, "expires" timestamp NOT NULL)`,
			`CREATE TABLE "verificationToken" ("identifier" text NOT NULL, "token" text NOT NULL, "expires" timestamp NOT NULL, CONSTRAINT "verificationToken_identifier_token_pk" PRIMARY KEY("identifier","token"))`,
			`CREATE TABLE "authenticator" ("credentialID" text NOT NULL, "userId" text NOT NULL REFERENCES "user"("id") ON DELETE cascade, "providerAccountId" text NOT NULL, "credentialPublicKey" text NOT NULL, "counter" integer NOT NULL, "credentialDeviceType" text NOT NULL, "credentialBackedUp" boolean NOT NULL, "transports" text, CONSTRAINT "authenticator_userId_credentialID_pk" PRIMARY KEY("userId","credentialID"), CONSTRAINT "authenticator_credentialID_unique" UNIQUE("credentialID"))`,
		},
	},
	{
		// Drizzle on SQLite stores booleans as integers.
		name: "sqlite drizzle", dialect: "sqlite", want: db.VariantDrizzle,
		ddl: []string{
			`CREATE TABLE "user" ("id" text PRIMARY KEY NOT NULL, "name" text, "email" text, "emailVerified" integer, "image" text)`,
			`CREATE UNIQUE INDEX "user_email_unique" ON "user" ("email")`,
			`CREATE TABLE "account" ("userId" text NOT NULL, "type" text NOT NULL, "provider" text NOT NULL, "providerAccountId" text NOT NULL, "refresh_token" text, "access_token" text, "expires_at" integer, "token_type" text, "scope" text, "id_token" text, "session_state" text, PRIMARY KEY("provider", "providerAccountId"), FOREIGN KEY ("userId") REFERENCES "user"("id") ON DELETE cascade)`,
			`CREATE TABLE "session" ("sessionToken" text PRIMARY KEY NOT NULL, "userId" text NOT NULL, "expires" integer NOT NULL, FOREIGN KEY ("userId") REFERENCES "user"("id") ON DELETE cascade)`,
			`CREATE TABLE "verificationToken" ("identifier" text NOT NULL, "token" text NOT NULL, "expires" integer NOT NULL, PRIMARY KEY("identifier", "token"))`,
			`CREATE TABLE "authenticator" ("credentialID" text NOT NULL, "userId" text NOT NULL, "providerAccountId" text NOT NULL, "credentialPublicKey" text NOT NULL, "counter" integer NOT NULL, "credentialDeviceType" text NOT NULL, "credentialBackedUp" integer NOT NULL, "transports" text, PRIMARY KEY("userId", "credentialID"), FOREIGN KEY ("userId") REFERENCES "user"("id") ON DELETE cascade)`,
			`CREATE UNIQUE INDEX "authenticator_credentialID_unique" ON "authenticator" ("credentialID")`,
		},
	},
	{
		name: "postgres legacy", dialect: "postgres", migrate: false, want: db.VariantLegacy,
		ddl: []string{
			`CREATE TABLE "User" ("id" TEXT NOT NULL PRIMARY KEY, "name" TEXT, "email" TEXT NOT NULL UNIQUE, "emailVerified" TIMESTAMP(3), "image" TEXT)`,
			`CREATE TABLE "Account" ("userId" TEXT NOT NULL REFERENCES "User"("id") ON DELETE CASCADE, "type" TEXT NOT NULL, "provider" TEXT NOT NULL, "providerAccountId" TEXT NOT NULL, "refresh_token" TEXT, "access_token" TEXT, "expires_at" INTEGER, "token_type" TEXT, "scope" TEXT, "id_token" TEXT, "session_state" TEXT, PRIMARY KEY ("provider", "providerAccountId"))`,
			`CREATE TABLE "Session" ("sessionToken" TEXT NOT NULL UNIQUE, "userId" TEXT NOT NULL REFERENCES "User"("id") ON DELETE CASCADE, "expires" TIMESTAMP(3) NOT NULL)`,
			`CREATE TABLE "VerificationToken" ("identifier" TEXT NOT NULL, "token" TEXT NOT NULL, "expires" TIMESTAMP(3) NOT NULL, PRIMARY KEY ("identifier", "token"))`,
			`CREATE TABLE "Authenticator" ("id" TEXT NOT NULL PRIMARY KEY, "credentialID" TEXT NOT NULL UNIQUE, "userId" TEXT NOT NULL REFERENCES "User"("id") ON DELETE CASCADE, "providerAccountId" TEXT NOT NULL, "credentialPublicKey" TEXT NOT NULL, "counter" INTEGER NOT NULL, "credentialDeviceType" TEXT NOT NULL, "credentialBackedUp" BOOLEAN NOT NULL, "transports" TEXT)`,
		},
	},
}

// TestStore_variants lists, looks up and revokes the Auth.js fixture rows in
// each real-world schema variant.
func TestStore_variants(t *testing.T) {
	ctx := context.Background()
	f := loadFixture(t)
	fx := f.Registration.RowsWritten
	id := fx.Authenticator[0]["credentialID"].(string)
	userID := fx.User[0]["id"].(string)
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			d := dbtest.Open(t, dbtest.New(t, v.dialect))
			dbtest.Exec(t, d, v.ddl...)
			if v.migrate {
				fsys, _ := schema.FS(d.Dialect.Name)
				if _, err := d.Migrate(ctx, fsys, db.MigrateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			s := detect(t, d)
			if s.Variant != v.want {
				t.Fatalf("variant %q, want %q (drift %v)", s.Variant, v.want, s.Drift)
			}
			insertFixture(t, d, s, f)
			// A second user, whose passkey has no Account.
			insert(t, d, s, "User", map[string]any{"id": "zz_other", "email": "Other@Example.com"})
			other := passkey.AuthjsCredentialID([]byte{0xfb, 0xff, 0x00, 0x10})
			insert(t, d, s, "Authenticator", map[string]any{"credentialID": other, "userId": "zz_other", "providerAccountId": other,
				"credentialPublicKey": coseKey(t, -8), "counter": 3, "credentialDeviceType": "singleDevice", "credentialBackedUp": false, "transports": "usb"})
			insert(t, d, s, "Account", map[string]any{"userId": "zz_other", "type": "webauthn", "provider": "passkey", "providerAccountId": "orphan-id"})

			got := listAll(t, d, s, store.ListOptions{ProviderID: "passkey"})
			if len(got) != 2 || got[0].CredentialID != id || got[0].Status != passkey.StatusOK || got[0].Algorithm != "ES256" ||
				got[1].CredentialID != other || got[1].Status != passkey.StatusNoAccount || got[1].Algorithm != "EdDSA" || got[1].Email == nil || *got[1].Email != "Other@Example.com" {
				t.Fatalf("list: %+v", got)
			}
			var orphans []store.Orphan
			if err := d.ListOrphans(ctx, s, store.ListOptions{ProviderID: "passkey"}, func(o store.Orphan) error { orphans = append(orphans, o); return nil }); err != nil {
				t.Fatal(err)
			}
			if len(orphans) != 1 || orphans[0].CredentialID != "orphan-id" {
				t.Fatalf("orphans: %+v", orphans)
			}
			// Case-flipped IDs are other credentials, under any collation.
			flipped, _ := base64.StdEncoding.DecodeString(strings.ToLower(id))
			if _, err := d.GetPasskey(ctx, s, flipped, "passkey"); !errors.Is(err, passkey.ErrNotFound) {
				t.Fatalf("case-flipped GetPasskey: %v", err)
			}
			if _, err := d.ResolveCredentials(ctx, s, []string{strings.ToLower(id)}, "passkey"); !errors.Is(err, passkey.ErrNotFound) {
				t.Fatalf("case-flipped resolve: %v", err)
			}
			u, err := d.FindUser(ctx, s, "FIXTURE@example.COM")
			if err != nil || u.ID != userID {
				t.Fatalf("FindUser by e-mail in other case: %+v, %v", u, err)
			}

			before := snapshot(t, d, s)
			ps, err := d.ResolveCredentials(ctx, s, []string{base64.RawURLEncoding.EncodeToString(mustStd(t, id))}, "passkey")
			if err != nil {
				t.Fatal(err)
			}
			res, err := d.Revoke(ctx, s, ps, store.RevokeOptions{ProviderID: "passkey", RevokeSessions: true})
			if err != nil {
				t.Fatal(err)
			}
			if res.Accounts != 1 || len(res.Stranded) != 1 || res.Stranded[0].ID != userID {
				t.Fatalf("revoke: %+v", res)
			}
			want := without(without(before, s.Authenticator.Name, "credentialID="+id), s.Account.Name, "providerAccountId="+id)
			sameSnapshot(t, snapshot(t, d, s), want)
		})
	}
}

func mustStd(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDeleteTuples_exact: the DELETEs of revoke match each tuple byte for
// byte, also under MySQL's case-insensitive, trailing-space-blind
// collations (an Account row of user "Carol" is not carol's passkey's),
// with one column (sessions by user) and with several.
func TestDeleteTuples_exact(t *testing.T) {
	ctx := context.Background()
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			d := dbtest.Open(t, dbtest.New(t, dialect))
			typ := "TEXT"
			if dialect == "mysql" {
				typ = "VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
			}
			if _, err := d.X.Exec("CREATE TABLE pairs (a " + typ + " NOT NULL, b " + typ + " NOT NULL)"); err != nil {
				t.Fatal(err)
			}
			rows := [][]string{{"u1", "Key"}, {"U1", "Key"}, {"u1", "key"}, {"u1 ", "Key"}, {"u1", "Key "}, {"u2", "K2"}, {"u3", "K3"}}
			for _, r := range rows {
				if _, err := d.X.Exec(d.Dialect.Rebind("INSERT INTO pairs (a, b) VALUES (?, ?)"), r[0], r[1]); err != nil {
					t.Fatal(err)
				}
			}
			left := func() []string {
				var got []string
				if err := d.X.Select(&got, "SELECT CONCAT(CONCAT(a, '|'), b) FROM pairs"); err != nil {
					t.Fatal(err)
				}
				slices.Sort(got)
				return got
			}
			n, err := d.DeleteTuples(ctx, "pairs", []string{"a", "b"}, [][]string{{"u1", "Key"}, {"u2", "K2"}, {"u3", "k3"}})
			if err != nil || n != 2 {
				t.Fatalf("two columns: deleted %d, %v; want 2", n, err)
			}
			want := []string{"U1|Key", "u1 |Key", "u1|Key ", "u1|key", "u3|K3"}
			if got := left(); !slices.Equal(got, want) {
				t.Fatalf("two columns: left %q, want %q", got, want)
			}
			n, err = d.DeleteTuples(ctx, "pairs", []string{"a"}, [][]string{{"u1"}, {"U3"}})
			if err != nil || n != 2 {
				t.Fatalf("one column: deleted %d, %v; want 2", n, err)
			}
			want = []string{"U1|Key", "u1 |Key", "u3|K3"}
			if got := left(); !slices.Equal(got, want) {
				t.Fatalf("one column: left %q, want %q", got, want)
			}
		})
	}
}

// TestMySQL_noDeprecatedSQL: no statement that list, orphans, stats,
// export and revoke send makes the server warn of deprecated SQL (MySQL
// 8.0.27 deprecated the BINARY operator, and MySQL 9.7 warned of it on
// every exact comparison passkeyctl made). Every statement is recorded as
// the code builds it (dbtest.Trace), then prepared with SQL's PREPARE on
// one connection and followed by SHOW WARNINGS, which lists what the
// parser deprecated without running the statement. It runs on the MySQL server of the run:
// MariaDB 10.11 by default, MySQL 9.7 in make test-matrix-mysql97.
func TestMySQL_noDeprecatedSQL(t *testing.T) {
	ctx := context.Background()
	_, d := dbtest.Migrated(t, "mysql")
	if err := d.EnsureAudit(ctx); err != nil {
		t.Fatal(err)
	}
	s := detect(t, d)
	sd := seedStatuses(t, d, s)
	rec := dbtest.Record(t, d)
	if err := d.ListPasskeys(ctx, s, store.ListOptions{ProviderID: "passkey"}, func(passkey.Passkey) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := d.ListOrphans(ctx, s, store.ListOptions{ProviderID: "passkey"}, func(store.Orphan) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Stats(ctx, s, "passkey"); err != nil {
		t.Fatal(err)
	}
	if err := d.ExportPasskeys(ctx, s, store.ExportOptions{ProviderID: "passkey"}, func(passkey.ExportRecord) error { return nil }); err != nil {
		t.Fatal(err)
	}
	ps, err := d.ResolveCredentials(ctx, s, []string{sd.ok, sd.mismatch, sd.noAccount}, "passkey")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Revoke(ctx, s, ps, store.RevokeOptions{ProviderID: "passkey", RevokeSessions: true, DryRun: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.RevokeCredentials(ctx, s, []string{sd.ok, sd.mismatch, sd.noAccount}, store.RevokeOptions{ProviderID: "passkey", RevokeSessions: true, DryRun: true}); err != nil {
		t.Fatal(err)
	}
	stmts := rec.Take()
	conn, err := d.X.Connx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	prepared := 0
	for _, st := range stmts {
		verb, _, _ := strings.Cut(strings.TrimSpace(st.Query), " ")
		switch strings.ToUpper(verb) {
		case "SELECT", "DELETE", "INSERT", "UPDATE":
		default:
			continue
		}
		// PREPARE in SQL, through the text protocol, so that SHOW WARNINGS
		// lists the parser's own (the driver's binary-protocol prepare
		// drops them); nothing is run.
		if _, err := conn.ExecContext(ctx, "SET @passkeyctl_stmt = ?", st.Query); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ExecContext(ctx, "PREPARE passkeyctl_stmt FROM @passkeyctl_stmt"); err != nil {
			t.Fatalf("PREPARE %.200s: %v", st.Query, err)
		}
		prepared++
		var warnings []struct {
			Level   string `db:"Level"`
			Code    int    `db:"Code"`
			Message string `db:"Message"`
		}
		if err := conn.SelectContext(ctx, &warnings, "SHOW WARNINGS"); err != nil {
			t.Fatal(err)
		}
		for _, w := range warnings {
			if w.Level == "Warning" {
				t.Errorf("%d %s, from %.200s", w.Code, w.Message, st.Query)
			}
		}
	}
	if prepared < 10 {
		t.Fatalf("prepared %d statements of %d traced, want the commands' own", prepared, len(stmts))
	}
}
