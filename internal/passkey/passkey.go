package passkey

import (
	"fmt"
	"regexp"
	"strings"
	"time"
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
	// Authenticator is the name AuthenticatorName gives the AAGUID
	// ("Google Password Manager", ...); left out when there is no AAGUID
	// or the embedded map does not know it.
	Authenticator *string `json:"authenticator,omitempty"`

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

// SplitTransports turns the stored comma-joined transports into a list;
// never nil, so JSON shows [].
func SplitTransports(s string) []string {
	if s == "" {
		return []string{}
	}
	// One allocation: the parts are substrings of s.
	out := make([]string, 0, strings.Count(s, ",")+1)
	for rest := s; ; {
		t, after, more := strings.Cut(rest, ",")
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
		if !more {
			return out
		}
		rest = after
	}
}

// StatusNoUser is the status of a passkey whose user row is missing: no
// app can sign anyone in with it.
const StatusNoUser = "no-user"

// User is a user row of the schema's app (Auth.js's User, Better Auth's
// user), as far as passkeyctl needs it.
type User struct {
	ID            string  `json:"id"`
	Email         *string `json:"email"`
	Name          *string `json:"name"`
	EmailVerified bool    `json:"emailVerified"`
}

// JoinTransports is how both apps store transports: joined with "," and no
// spaces; nil (NULL) when there are none.
func JoinTransports(ts []string) *string {
	if len(ts) == 0 {
		return nil
	}
	j := strings.Join(ts, ",")
	return &j
}

// uuidPattern is a UUID in its text form, in either case.
var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// IsUUID reports whether s is a UUID in its text form.
func IsUUID(s string) bool { return uuidPattern.MatchString(s) }

// StatusNoAuthenticator is the status of an orphan: a webauthn account
// whose passkey is gone, which no sign-in can use.
const StatusNoAuthenticator = "no-authenticator"

// OneUser is the answer to a user lookup by ref (an id or an e-mail) that
// found users: the one, ErrNotFound for none, and ErrInvalid listing them
// (id <e-mail>) when ref is ambiguous, as every store reports it.
func OneUser(ref string, users []User) (User, error) {
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
