package db

import (
	"database/sql"
	"strings"
	"time"

	"github.com/lib/pq"
)

// Passkey is one Authenticator row as `list` shows it. The JSON field names
// are a documented, stable interface (README "JSON output").
type Passkey struct {
	// CredentialID is the credentialID column exactly as stored.
	CredentialID         string   `json:"credentialID"`
	UserID               string   `json:"userId"`
	Email                *string  `json:"email"`
	Counter              int64    `json:"counter"`
	CredentialDeviceType string   `json:"credentialDeviceType"`
	CredentialBackedUp   bool     `json:"credentialBackedUp"`
	Transports           []string `json:"transports"`
	// Algorithm is decoded from the COSE key: "ES256", "EdDSA", "RS256",
	// ..., "unknown"; the declared one also when the key is unusable.
	Algorithm string `json:"algorithm"`
	// Status is "ok" or the first problem found by reading the rows, in
	// this order: "no-account", "account-user-mismatch", "no-user" (the
	// User row is gone), "bad-public-key" (the key cannot verify a
	// signature: CheckPublicKey).
	Status string `json:"status"`
	// Name, CreatedAt and AAGUID are Better Auth's passkey name, creation
	// time and authenticator AAGUID (lower-case UUID); Auth.js stores none
	// of them, and they are left out of its JSON.
	Name      *string    `json:"name,omitempty"`
	CreatedAt *time.Time `json:"createdAt,omitempty"`
	AAGUID    *string    `json:"aaguid,omitempty"`

	// PublicKey is credentialPublicKey as stored (standard base64 COSE key).
	PublicKey string `json:"-"`
	// ProviderAccountID is the Authenticator's providerAccountId column.
	ProviderAccountID string `json:"-"`
}

// Passkey statuses.
const (
	StatusOK                  = "ok"
	StatusNoAccount           = "no-account"
	StatusAccountUserMismatch = "account-user-mismatch"
	StatusBadPublicKey        = "bad-public-key"
)

// SplitTransports turns the stored comma-joined transports (or NULL) into a
// list; never nil, so JSON shows [].
func SplitTransports(s sql.NullString) []string {
	out := []string{}
	if !s.Valid {
		return out
	}
	for _, t := range strings.Split(s.String, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// JoinTransports is how Auth.js stores transports: joined with "," and no
// spaces, or NULL when there are none.
func JoinTransports(ts []string) sql.NullString {
	if len(ts) == 0 {
		return sql.NullString{}
	}
	return sql.NullString{String: strings.Join(ts, ","), Valid: true}
}

// exactEq returns a byte-exact equality test of col that takes two
// placeholders, to be given the same value twice. On MySQL "=" is
// case-insensitive under the usual collations: the plain test lets the
// index find the candidates and BINARY keeps the exact one. Elsewhere "=" is
// already exact; repeating it keeps the argument count the same everywhere.
func (d *DB) ExactEq(col string) string {
	if d.Dialect == MySQL {
		return "(" + col + " = ? AND BINARY " + col + " = ?)"
	}
	return "(" + col + " = ? AND " + col + " = ?)"
}

func nullable(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	v := s.String
	return &v
}

// inList returns "expr IN (?, ...)" and its arguments; on PostgreSQL
// "expr = ANY(?)" with one array argument, which the server parses and
// plans much faster for hundreds of values.
func (d *DB) inList(expr string, values []string) (string, []any) {
	if d.Dialect == Postgres {
		return expr + " = ANY(?)", []any{pq.StringArray(values)}
	}
	return expr + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(values)), ", ") + ")", anySlice(values)
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
