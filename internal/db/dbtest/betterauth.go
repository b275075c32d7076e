package dbtest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/passkeyctl/passkeyctl/internal/db"
)

// BetterAuthOptions chooses the shape of the Better Auth tables that
// BetterAuthSQL creates.
type BetterAuthOptions struct {
	// Snake names columns as Better Auth's Drizzle generator does
	// (public_key, credential_id...), and on SQLite stores dates as integer
	// milliseconds; otherwise camelCase as its own migrator and Prisma do.
	Snake bool
	// IDMode is "text" (default), "uuid" or "integer" (generateId).
	IDMode string
	// PasskeyTable and UserTable rename the tables (modelName); defaults
	// "passkey" and "user".
	PasskeyTable, UserTable string
	// NoPasskey leaves out the passkey table (an app without the plugin).
	NoPasskey bool
}

// BetterAuthSQL returns the CREATE statements of Better Auth's core tables
// (user, session, account, verification) and its passkey table for a
// dialect, following BETTERAUTH.md: text ids with no database default (or
// uuid / serial), a NOT NULL boolean emailVerified, a passkey table whose
// userId and credentialID indexes are not unique.
func BetterAuthSQL(dialect string, o BetterAuthOptions) []string {
	if o.PasskeyTable == "" {
		o.PasskeyTable = "passkey"
	}
	if o.UserTable == "" {
		o.UserTable = "user"
	}
	q := func(s string) string {
		if dialect == "mysql" {
			return "`" + s + "`"
		}
		return `"` + s + `"`
	}
	n := func(camel, snake string) string {
		if o.Snake {
			return q(snake)
		}
		return q(camel)
	}
	var pk, ref string
	switch {
	case o.IDMode == "integer" && dialect == "postgres":
		pk, ref = "SERIAL PRIMARY KEY", "INTEGER"
	case o.IDMode == "integer" && dialect == "mysql":
		pk, ref = "INT NOT NULL AUTO_INCREMENT PRIMARY KEY", "INT"
	case o.IDMode == "integer":
		pk, ref = "INTEGER PRIMARY KEY AUTOINCREMENT", "INTEGER"
	case o.IDMode == "uuid" && dialect == "postgres":
		pk, ref = "UUID NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY", "UUID"
	case dialect == "mysql":
		pk, ref = "VARCHAR(36) NOT NULL PRIMARY KEY", "VARCHAR(36)"
	default:
		pk, ref = "TEXT NOT NULL PRIMARY KEY", "TEXT"
	}
	text, boolean, ts := "TEXT", "BOOLEAN", "TIMESTAMPTZ"
	email, credID := "TEXT", "TEXT"
	switch dialect {
	case "postgres":
		if o.Snake {
			ts = "TIMESTAMP"
		}
	case "mysql":
		ts, email, credID = "TIMESTAMP(3)", "VARCHAR(255)", "VARCHAR(255)"
	case "sqlite":
		boolean, ts = "INTEGER", "DATE"
		if o.Snake {
			ts = "INTEGER"
		}
	}
	now := "CURRENT_TIMESTAMP"
	switch {
	case dialect == "mysql":
		now = "CURRENT_TIMESTAMP(3)"
	case dialect == "sqlite" && o.Snake:
		now = "(cast(unixepoch('subsecond') * 1000 as integer))"
	}
	fk := func(col string) string {
		return fmt.Sprintf("FOREIGN KEY (%s) REFERENCES %s (%s) ON DELETE CASCADE", col, q(o.UserTable), q("id"))
	}
	user, account, session, verification, passkey := q(o.UserTable), q("account"), q("session"), q("verification"), q(o.PasskeyTable)
	stmts := []string{
		fmt.Sprintf(`CREATE TABLE %s (%s %s, %s %s NOT NULL, %s %s NOT NULL UNIQUE, %s %s NOT NULL, %s %s, %s %s NOT NULL DEFAULT %s, %s %s NOT NULL)`,
			user, q("id"), pk, q("name"), text, q("email"), email, n("emailVerified", "email_verified"), boolean, q("image"), text,
			n("createdAt", "created_at"), ts, now, n("updatedAt", "updated_at"), ts),
		fmt.Sprintf(`CREATE TABLE %s (%s %s, %s %s NOT NULL, %s %s NOT NULL UNIQUE, %s %s NOT NULL DEFAULT %s, %s %s NOT NULL, %s %s, %s %s, %s %s NOT NULL, %s)`,
			session, q("id"), pk, n("expiresAt", "expires_at"), ts, q("token"), email, n("createdAt", "created_at"), ts, now,
			n("updatedAt", "updated_at"), ts, n("ipAddress", "ip_address"), text, n("userAgent", "user_agent"), text,
			n("userId", "user_id"), ref, fk(n("userId", "user_id"))),
		fmt.Sprintf(`CREATE TABLE %s (%s %s, %s %s NOT NULL, %s %s NOT NULL, %s %s NOT NULL, %s %s, %s %s, %s %s, %s %s, %s %s, %s %s, %s %s, %s %s NOT NULL DEFAULT %s, %s %s NOT NULL, %s)`,
			account, q("id"), pk, n("accountId", "account_id"), text, n("providerId", "provider_id"), text, n("userId", "user_id"), ref,
			n("accessToken", "access_token"), text, n("refreshToken", "refresh_token"), text, n("idToken", "id_token"), text,
			n("accessTokenExpiresAt", "access_token_expires_at"), ts, n("refreshTokenExpiresAt", "refresh_token_expires_at"), ts,
			q("scope"), text, q("password"), text, n("createdAt", "created_at"), ts, now, n("updatedAt", "updated_at"), ts,
			fk(n("userId", "user_id"))),
		fmt.Sprintf(`CREATE TABLE %s (%s %s, %s %s NOT NULL, %s %s NOT NULL, %s %s NOT NULL, %s %s NOT NULL DEFAULT %s, %s %s NOT NULL DEFAULT %s)`,
			verification, q("id"), pk, q("identifier"), text, q("value"), text, n("expiresAt", "expires_at"), ts,
			n("createdAt", "created_at"), ts, now, n("updatedAt", "updated_at"), ts, now),
	}
	if !o.NoPasskey {
		stmts = append(stmts,
			fmt.Sprintf(`CREATE TABLE %s (%s %s, %s %s, %s %s NOT NULL, %s %s NOT NULL, %s %s NOT NULL, %s INTEGER NOT NULL, %s %s NOT NULL, %s %s NOT NULL, %s %s, %s %s, %s %s, %s)`,
				passkey, q("id"), pk, q("name"), text, n("publicKey", "public_key"), text, n("userId", "user_id"), ref,
				n("credentialID", "credential_id"), credID, q("counter"), n("deviceType", "device_type"), text,
				n("backedUp", "backed_up"), boolean, q("transports"), text, n("createdAt", "created_at"), ts, q("aaguid"), text,
				fk(n("userId", "user_id"))),
			fmt.Sprintf(`CREATE INDEX %s ON %s (%s)`, q(o.PasskeyTable+"_userId_idx"), passkey, n("userId", "user_id")),
			fmt.Sprintf(`CREATE INDEX %s ON %s (%s)`, q(o.PasskeyTable+"_credentialID_idx"), passkey, n("credentialID", "credential_id")),
		)
	}
	if dialect == "mysql" {
		for i, s := range stmts {
			if strings.HasPrefix(s, "CREATE TABLE") {
				// MariaDB's default collation, like most MySQL installs:
				// case-insensitive, which is what passkeyctl must survive.
				stmts[i] = s + " DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
			}
		}
	}
	return stmts
}

// BetterAuth returns a fresh database of the dialect holding Better Auth's
// tables in the chosen shape, and the open handle to it.
func BetterAuth(t testing.TB, dialect string, o BetterAuthOptions) (string, *db.DB) {
	t.Helper()
	dsn := New(t, dialect)
	d := Open(t, dsn)
	Exec(t, d, BetterAuthSQL(dialect, o)...)
	return dsn, d
}
