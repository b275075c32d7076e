package dbtest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/db"
)

// BenchPublicKey is the COSE ES256 key every generated passkey carries: the
// one in the Auth.js fixture, so that every row decodes as a real key
// would.
const BenchPublicKey = "pQECAyYgASFYIMAYEZESxZA8Oph6Bewn9vMntNwy+Ca7PZbKcHhUMANrIlggZLbNNdO6oJ/2NtR8/An2CHU8ASi/rqmwaztKfyYows4="

// BenchUserID is the User.id of generated user u (1-based).
func BenchUserID(u int) string { return fmt.Sprintf("bench_user_%07d", u) }

// BenchEmail is the e-mail of generated user u.
func BenchEmail(u int) string { return fmt.Sprintf("user%d@example.com", u) }

// BenchCredential is the raw credential ID of generated passkey n
// (1-based): SHA-256 of "cred-n", 32 bytes like a platform authenticator's.
// Passkey n belongs to user (n-1)/perUser+1.
func BenchCredential(n int) []byte {
	sum := sha256.Sum256([]byte(fmt.Sprintf("cred-%d", n)))
	return sum[:]
}

// GeneratePasskeys fills a PostgreSQL database that already has the Auth.js
// core tables and the Authenticator table (dbtest.Migrated) with users users
// of perUser passkeys each, as Auth.js would have written them: a User, and
// per passkey an Authenticator row and its webauthn Account row. It runs
// three INSERT ... SELECT FROM generate_series statements (no row-by-row
// round trips) and then ANALYZE, so 1,000,000 passkeys take well under a
// minute. It returns how long the load took.
func GeneratePasskeys(ctx context.Context, d *db.DB, users, perUser int) (time.Duration, error) {
	if d.Dialect != db.Postgres {
		return 0, fmt.Errorf("GeneratePasskeys: PostgreSQL only, not %s", d.Dialect.Name)
	}
	start := time.Now()
	total := users * perUser
	// cred(n) and uid(u) match BenchCredential and BenchUserID.
	const cred = `encode(sha256(convert_to('cred-' || n, 'UTF8')), 'base64')`
	const uid = `'bench_user_' || lpad(u::text, 7, '0')`
	owner := fmt.Sprintf("(((n - 1) / %d) + 1)", perUser)
	stmts := []string{
		`SET LOCAL synchronous_commit = off`,
		fmt.Sprintf(`INSERT INTO "User" ("id", "email", "name", "updatedAt")
			SELECT %s, 'user' || u || '@example.com', 'User ' || u, now() FROM generate_series(1, %d) AS u`, uid, users),
		fmt.Sprintf(`INSERT INTO "Authenticator" ("credentialID", "userId", "providerAccountId", "credentialPublicKey", "counter",
				"credentialDeviceType", "credentialBackedUp", "transports")
			SELECT %[1]s, 'bench_user_' || lpad(%[2]s::text, 7, '0'), %[1]s, '%[3]s', n %% 1000,
				CASE WHEN n %% 3 = 0 THEN 'singleDevice' ELSE 'multiDevice' END, n %% 3 <> 0,
				CASE WHEN n %% 2 = 0 THEN 'hybrid,internal' ELSE 'usb' END
			FROM generate_series(1, %[4]d) AS n`, cred, owner, BenchPublicKey, total),
		fmt.Sprintf(`INSERT INTO "Account" ("userId", "type", "provider", "providerAccountId", "updatedAt")
			SELECT 'bench_user_' || lpad(%[2]s::text, 7, '0'), 'webauthn', 'passkey', %[1]s, now()
			FROM generate_series(1, %[3]d) AS n`, cred, owner, total),
	}
	tx, err := d.X.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return 0, fmt.Errorf("generate: %v", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	if _, err := d.X.ExecContext(ctx, `VACUUM ANALYZE "User", "Account", "Authenticator"`); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}
