package db

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
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
	// ..., "unknown".
	Algorithm string `json:"algorithm"`
	// Status is "ok" or the problem found by reading the rows:
	// "no-account", "account-user-mismatch", "bad-public-key".
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

// User is an Auth.js User row, as far as passkeyctl needs it.
type User struct {
	ID            string  `json:"id"`
	Email         *string `json:"email"`
	Name          *string `json:"name"`
	EmailVerified bool    `json:"emailVerified"`
}

// FindUser resolves a user reference: a User.id, or an e-mail address
// matched exactly first and then case-insensitively (Auth.js keeps e-mails
// in whatever case they arrived). No match is ErrNotFound; several
// case-insensitive matches is ErrInvalid listing them.
func (d *DB) FindUser(ctx context.Context, s *Schema, ref string) (User, error) {
	return d.findUser(ctx, d.X, s, ref)
}

func (d *DB) findUser(ctx context.Context, q sqlx.QueryerContext, s *Schema, ref string) (User, error) {
	if s.App == AppBetterAuth {
		return d.baFindUser(ctx, q, s, ref)
	}
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return User{}, fmt.Errorf("%w: empty user", ErrInvalid)
	}
	if s.User == nil {
		return User{}, fmt.Errorf("%w: the Auth.js User table does not exist", ErrSchemaNotReady)
	}
	cols := []string{d.Q("id"), d.Q("email")}
	if s.User.Has("name") {
		cols = append(cols, d.Q("name"))
	} else {
		cols = append(cols, "NULL")
	}
	if s.User.Has("emailVerified") {
		cols = append(cols, d.Q("emailVerified")+" IS NOT NULL")
	} else {
		cols = append(cols, "1=0")
	}
	base := "SELECT " + strings.Join(cols, ", ") + " FROM " + d.Q(s.User.Name) + " WHERE "
	scan := func(query string, args ...any) ([]User, error) {
		rows, err := q.QueryContext(ctx, d.Dialect.Rebind(query), args...)
		if err != nil {
			return nil, d.Err("find user", err)
		}
		defer rows.Close()
		var out []User
		for rows.Next() {
			var u User
			var email, name sql.NullString
			if err := rows.Scan(&u.ID, &email, &name, &u.EmailVerified); err != nil {
				return nil, d.Err("find user", err)
			}
			u.Email, u.Name = nullable(email), nullable(name)
			out = append(out, u)
			if len(out) > 20 {
				break
			}
		}
		return out, d.Err("find user", rows.Err())
	}
	// Exact matches compare bytes: MySQL's default collations would also
	// match ids and e-mails that differ in case.
	exact := d.ExactEq(d.Q("id")) + " OR " + d.ExactEq(d.Q("email"))
	users, err := scan(base+exact, ref, ref, ref, ref)
	if err != nil {
		return User{}, err
	}
	if len(users) == 1 {
		return users[0], nil
	}
	if len(users) == 0 {
		users, err = scan(base+"LOWER("+d.Q("email")+") = LOWER(?)", ref)
		if err != nil {
			return User{}, err
		}
	}
	switch len(users) {
	case 0:
		return User{}, fmt.Errorf("user not found: %s: %w", ref, ErrNotFound)
	case 1:
		return users[0], nil
	}
	var ids []string
	for _, u := range users {
		e := ""
		if u.Email != nil {
			e = " <" + *u.Email + ">"
		}
		ids = append(ids, u.ID+e)
	}
	return User{}, fmt.Errorf("%w: %q matches %d users (%s); give the user id instead", ErrInvalid, ref, len(users), strings.Join(ids, ", "))
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
