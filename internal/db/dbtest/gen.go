package dbtest

import (
	"context"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/base64"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"modernc.org/sqlite"
)

// BenchPublicKey is the COSE ES256 key every generated passkey carries: the
// one in the Auth.js fixture, so that every row decodes as a real key
// would.
const BenchPublicKey = "pQECAyYgASFYIMAYEZESxZA8Oph6Bewn9vMntNwy+Ca7PZbKcHhUMANrIlggZLbNNdO6oJ/2NtR8/An2CHU8ASi/rqmwaztKfyYows4="

// BenchUsers is how many users a benchmark generates: def, or
// PASSKEYCTL_BENCH_USERS when set. A value that is not a positive number
// fails the benchmark (a typo ran the default size, silently).
func BenchUsers(tb testing.TB, def int) int {
	tb.Helper()
	v := os.Getenv("PASSKEYCTL_BENCH_USERS")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		tb.Fatalf("PASSKEYCTL_BENCH_USERS=%q: want a positive number of users", v)
	}
	return n
}

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

// GeneratePasskeys fills a database that already has the Auth.js core
// tables and the Authenticator table (dbtest.Migrated) with users users of
// perUser passkeys each, as Auth.js would have written them: a User, and
// per passkey an Authenticator row and its webauthn Account row. It runs
// three INSERT ... SELECT statements over a generated series of numbers
// (no row-by-row round trips), then on PostgreSQL and MySQL refreshes the
// planner's statistics as autovacuum and InnoDB would. 1,000,000 passkeys
// take about half a minute on each dialect on a 2-core machine. It
// returns how long the load took.
//
// The rows are the same on every dialect: IDs BenchUserID, e-mails
// BenchEmail, credential IDs BenchCredential in standard padded base64.
func GeneratePasskeys(ctx context.Context, d *db.DB, users, perUser int) (time.Duration, error) {
	start := time.Now()
	var err error
	switch d.Dialect {
	case db.Postgres:
		err = generatePostgres(ctx, d, users, perUser)
	case db.MySQL:
		err = generateMySQL(ctx, d, users, perUser)
	case db.SQLite:
		err = generateSQLite(ctx, d, users, perUser)
	default:
		err = fmt.Errorf("GeneratePasskeys: unknown dialect %s", d.Dialect.Name)
	}
	if err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// execAll runs stmts in one transaction on one connection, after the
// session statements (which may not be run inside a transaction); reset
// then undoes them, before the connection goes back to the pool.
func execAll(ctx context.Context, d *db.DB, session, reset, stmts []string) error {
	conn, err := d.X.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	defer func() {
		for _, s := range reset {
			conn.ExecContext(ctx, s)
		}
	}()
	for _, s := range session {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("generate: %q: %v", s, err)
		}
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("generate: %v", err)
		}
	}
	return tx.Commit()
}

func generatePostgres(ctx context.Context, d *db.DB, users, perUser int) error {
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
	if err := execAll(ctx, d, nil, nil, stmts); err != nil {
		return err
	}
	_, err := d.X.ExecContext(ctx, `VACUUM ANALYZE "User", "Account", "Authenticator"`)
	return err
}

// mysqlSeries is a derived table of the numbers 1..n, as column n: a cross
// join of digit tables, which every MySQL and MariaDB version runs without
// a recursion limit (a recursive CTE stops at 1,000 rows by default on
// MySQL) and without MariaDB's own seq_1_to_n tables.
func mysqlSeries(n int) string {
	const digits = "(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)"
	var from, sum []string
	for p := 1; p < n || len(from) == 0; p *= 10 {
		t := fmt.Sprintf("d%d", len(from))
		from = append(from, digits+" "+t)
		sum = append(sum, fmt.Sprintf("%d * %s.d", p, t))
	}
	return fmt.Sprintf("(SELECT n FROM (SELECT %s + 1 AS n FROM %s) AS s WHERE n <= %d)", strings.Join(sum, " + "), strings.Join(from, " CROSS JOIN "), n)
}

func generateMySQL(ctx context.Context, d *db.DB, users, perUser int) error {
	total := users * perUser
	// TO_BASE64 breaks lines after 76 characters; a 32-byte ID has 44.
	const cred = `TO_BASE64(UNHEX(SHA2(CONCAT('cred-', n), 256)))`
	owner := fmt.Sprintf("CONCAT('bench_user_', LPAD((n - 1) DIV %d + 1, 7, '0'))", perUser)
	// Each table is filled in its primary key's order, so that InnoDB
	// appends to the clustered index instead of splitting its pages at
	// random; the checks are off because every row is known good.
	stmts := []string{
		fmt.Sprintf("INSERT INTO `User` (`id`, `email`, `name`, `updatedAt`) SELECT CONCAT('bench_user_', LPAD(n, 7, '0')), CONCAT('user', n, '@example.com'), CONCAT('User ', n), NOW(3) FROM %s AS u ORDER BY n", mysqlSeries(users)),
		fmt.Sprintf("INSERT INTO `Authenticator` (`credentialID`, `userId`, `providerAccountId`, `credentialPublicKey`, `counter`, `credentialDeviceType`, `credentialBackedUp`, `transports`) SELECT c, o, c, '%s', n %% 1000, CASE WHEN n %% 3 = 0 THEN 'singleDevice' ELSE 'multiDevice' END, n %% 3 <> 0, CASE WHEN n %% 2 = 0 THEN 'hybrid,internal' ELSE 'usb' END FROM (SELECT n, %s AS c, %s AS o FROM %s AS s) AS g ORDER BY o, c", BenchPublicKey, cred, owner, mysqlSeries(total)),
		fmt.Sprintf("INSERT INTO `Account` (`userId`, `type`, `provider`, `providerAccountId`, `updatedAt`) SELECT o, 'webauthn', 'passkey', c, NOW(3) FROM (SELECT %s AS c, %s AS o FROM %s AS s) AS g ORDER BY c", cred, owner, mysqlSeries(total)),
	}
	session := []string{"SET SESSION foreign_key_checks = 0", "SET SESSION unique_checks = 0"}
	reset := []string{"SET SESSION foreign_key_checks = 1", "SET SESSION unique_checks = 1"}
	if err := execAll(ctx, d, session, reset, stmts); err != nil {
		return err
	}
	_, err := d.X.ExecContext(ctx, "ANALYZE TABLE `User`, `Account`, `Authenticator`")
	return err
}

// benchCredFunc names the SQLite function that returns BenchCredential(n)
// in standard padded base64, as Auth.js stores it: SQLite has no SHA-256 of
// its own. It is registered for every connection of the test binary.
const benchCredFunc = "passkeyctl_bench_cred"

func init() {
	sqlite.MustRegisterDeterministicScalarFunction(benchCredFunc, 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		n, ok := args[0].(int64)
		if !ok {
			return nil, fmt.Errorf("%s: not an integer: %v", benchCredFunc, args[0])
		}
		return base64.StdEncoding.EncodeToString(BenchCredential(int(n))), nil
	})
}

func generateSQLite(ctx context.Context, d *db.DB, users, perUser int) error {
	total := users * perUser
	series := func(n int) string {
		return fmt.Sprintf("WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < %d) ", n)
	}
	owner := fmt.Sprintf("printf('bench_user_%%07d', (n - 1) / %d + 1)", perUser)
	// Prisma writes DATETIME columns as integer milliseconds on SQLite.
	const now = "CAST(unixepoch('subsec') * 1000 AS INTEGER)"
	stmts := []string{
		series(users) + fmt.Sprintf(`INSERT INTO "User" ("id", "email", "name", "updatedAt") SELECT printf('bench_user_%%07d', n), 'user' || n || '@example.com', 'User ' || n, %s FROM s`, now),
		series(total) + fmt.Sprintf(`INSERT INTO "Authenticator" ("credentialID", "userId", "providerAccountId", "credentialPublicKey", "counter",
				"credentialDeviceType", "credentialBackedUp", "transports")
			SELECT c, o, c, '%s', n %% 1000, CASE WHEN n %% 3 = 0 THEN 'singleDevice' ELSE 'multiDevice' END, n %% 3 <> 0,
				CASE WHEN n %% 2 = 0 THEN 'hybrid,internal' ELSE 'usb' END
			FROM (SELECT n, %s(n) AS c, %s AS o FROM s)`, BenchPublicKey, benchCredFunc, owner),
		series(total) + fmt.Sprintf(`INSERT INTO "Account" ("userId", "type", "provider", "providerAccountId", "updatedAt")
			SELECT %s, 'webauthn', 'passkey', %s(n), %s FROM s`, owner, benchCredFunc, now),
	}
	// SQLite's default page cache: a bigger one saves a third of the time
	// but stays in the test process, whose peak RSS a benchmark's child
	// process inherits on Linux (512 MB of cache: 1 GB peak RSS, read as
	// list -o jsonl's by BenchmarkList1M). No ANALYZE: an app's
	// SQLite file has no statistics (neither Prisma nor Drizzle runs
	// it), so the planner works without.
	return execAll(ctx, d, nil, nil, stmts)
}
