package redis

import (
	"fmt"
	"strings"
)

// NormalizeKey is unstorage's normalizeKey (unstorage 1.17.6,
// src/utils.ts), which the storage applies to every key it is given
// before the driver sees it: the key is cut at its first "?", every "/"
// and "\" becomes ":", runs of ":" collapse into one, and one leading and
// one trailing ":" are dropped. It is not reversible: a credential ID in
// standard base64 ("+", "/", "=") loses its "/"s, and two IDs may map to
// the same key, so a key name is never read back as an ID.
func NormalizeKey(key string) string {
	if key == "" {
		return ""
	}
	if i := strings.IndexByte(key, '?'); i >= 0 {
		key = key[:i]
	}
	var b strings.Builder
	b.Grow(len(key))
	prevColon := false
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c == '/' || c == '\\' {
			c = ':'
		}
		if c == ':' {
			if prevColon {
				continue
			}
			prevColon = true
		} else {
			prevColon = false
		}
		b.WriteByte(c)
	}
	s := b.String()
	// JavaScript's /^:|:$/g: after the collapse at most one each.
	s = strings.TrimPrefix(s, ":")
	s = strings.TrimSuffix(s, ":")
	return s
}

// JoinKeys is unstorage's joinKeys: the parts joined with ":" and the
// result normalised.
func JoinKeys(keys ...string) string {
	return NormalizeKey(strings.Join(keys, ":"))
}

// DefaultProviderID is the Auth.js Passkey provider's default id, the
// "provider" of its webauthn accounts.
const DefaultProviderID = "passkey"

// Layout is where an app's adapter keeps each item: the unstorage Redis
// driver's base and the adapter's key prefixes, by the adapter's option
// names. A stored key is JoinKeys(driver base without its trailing ":",
// NormalizeKey(BaseKeyPrefix + item prefix + id)): the adapter
// concatenates baseKeyPrefix and the item prefix as plain strings, the
// storage normalises the whole, and the driver joins its base in front.
type Layout struct {
	// Base is the Redis driver's `base` option (unstorage/drivers/redis).
	Base string
	// BaseKeyPrefix and the rest are @auth/unstorage-adapter's options of
	// the same names.
	BaseKeyPrefix              string
	UserKeyPrefix              string
	EmailKeyPrefix             string
	AccountKeyPrefix           string
	AccountByUserIDPrefix      string
	SessionKeyPrefix           string
	SessionByUserIDKeyPrefix   string
	VerificationTokenKeyPrefix string
	AuthenticatorKeyPrefix     string
	AuthenticatorUserKeyPrefix string
}

// DefaultLayout is the adapter's defaultOptions and the driver's empty
// base, as @auth/unstorage-adapter 2.11.2 has them (the version the
// fixture was recorded with). AuthenticatorKeyPrefix "authenticator:" is
// 2.11.2's, confirmed by the fixture's keys; releases before the
// credential-ID list became a JSON array (2024) defaulted to
// "authenticator:id:" and kept a single bare ID under the by-user-id key —
// give authenticatorKeyPrefix=authenticator:id: for an app still on one.
// Every other default is unchanged since the adapter's first release.
func DefaultLayout() Layout {
	return Layout{
		UserKeyPrefix:              "user:",
		EmailKeyPrefix:             "user:email:",
		AccountKeyPrefix:           "user:account:",
		AccountByUserIDPrefix:      "user:account:by-user-id:",
		SessionKeyPrefix:           "user:session:",
		SessionByUserIDKeyPrefix:   "user:session:by-user-id:",
		VerificationTokenKeyPrefix: "user:token:",
		AuthenticatorKeyPrefix:     "authenticator:",
		AuthenticatorUserKeyPrefix: "authenticator:by-user-id:",
	}
}

// check refuses layouts whose keys cannot be told apart: a prefix holding
// "?" cuts every key at that point, so all items would share one key.
func (l Layout) check() error {
	for name, field := range layoutParams {
		if strings.Contains(*field(&l), "?") {
			return fmt.Errorf("parameter %s=%q contains \"?\", which unstorage cuts every key at; no app can use it", name, *field(&l))
		}
	}
	return nil
}

// storageKey is the Redis key the adapter's item key (prefixes included,
// as the adapter passes it to the storage) is stored under.
func (l Layout) storageKey(itemKey string) string {
	// The driver drops one trailing ":" of its base before joining.
	return JoinKeys(strings.TrimSuffix(l.Base, ":"), NormalizeKey(itemKey))
}

// UserKey is the key of user id's JSON.
func (l Layout) UserKey(id string) string {
	return l.storageKey(l.BaseKeyPrefix + l.UserKeyPrefix + id)
}

// EmailKey is the key holding the id of the user with this e-mail (the
// e-mail as the app stored it, byte for byte).
func (l Layout) EmailKey(email string) string {
	return l.storageKey(l.BaseKeyPrefix + l.EmailKeyPrefix + email)
}

// accountItem is the adapter's item key of an account, which is also the
// value of the account by-user-id pointer.
func (l Layout) accountItem(provider, providerAccountID string) string {
	return l.BaseKeyPrefix + l.AccountKeyPrefix + provider + ":" + providerAccountID
}

// AccountKey is the key of the account (provider, providerAccountId).
func (l Layout) AccountKey(provider, providerAccountID string) string {
	return l.storageKey(l.accountItem(provider, providerAccountID))
}

// AccountPointer is the value the adapter writes under
// AccountByUserIDKey when it links this account: the account's item key,
// with BaseKeyPrefix but neither normalised nor with the driver's base.
func (l Layout) AccountPointer(provider, providerAccountID string) string {
	return l.accountItem(provider, providerAccountID)
}

// AccountByUserIDKey is the key pointing at the user's last linked account.
func (l Layout) AccountByUserIDKey(userID string) string {
	return l.storageKey(l.BaseKeyPrefix + l.AccountByUserIDPrefix + userID)
}

// SessionKey is the key of a database session.
func (l Layout) SessionKey(token string) string {
	return l.storageKey(l.BaseKeyPrefix + l.SessionKeyPrefix + token)
}

// SessionByUserIDKey is the key pointing at the user's latest session.
func (l Layout) SessionByUserIDKey(userID string) string {
	return l.storageKey(l.BaseKeyPrefix + l.SessionByUserIDKeyPrefix + userID)
}

// AuthenticatorKey is the key of the passkey whose credential ID is
// credentialID (standard padded base64, as Auth.js stores it).
func (l Layout) AuthenticatorKey(credentialID string) string {
	return l.storageKey(l.BaseKeyPrefix + l.AuthenticatorKeyPrefix + credentialID)
}

// AuthenticatorListKey is the key of the user's JSON array of credential
// IDs.
func (l Layout) AuthenticatorListKey(userID string) string {
	return l.storageKey(l.BaseKeyPrefix + l.AuthenticatorUserKeyPrefix + userID)
}

// PointerKey is the Redis key a by-user-id pointer's value denotes: the
// value is an item key, which the storage normalises and the driver
// prefixes with its base when the adapter follows it.
func (l Layout) PointerKey(value string) string {
	return l.storageKey(value)
}

// matchPattern is a SCAN MATCH pattern that every key of the item prefix
// (BaseKeyPrefix + prefix + anything) matches: the stored form of the
// prefix alone, glob-escaped, then "*". Other items may match too (the
// default "authenticator:" also covers "authenticator:by-user-id:"), so
// the caller tells them apart by value.
func (l Layout) matchPattern(prefix string) string {
	return globEscape(l.storageKey(l.BaseKeyPrefix+prefix)) + "*"
}

// globEscape escapes Redis glob metacharacters.
func globEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
