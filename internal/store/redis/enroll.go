package redis

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
	goredis "github.com/redis/go-redis/v9"
)

// CreatePasskey stores p as the Auth.js Passkey provider does at a
// registration through the adapter, byte for byte and in the adapter's
// command order: with opts.CreateUser first the user (createUser: the
// user JSON {"email","id"} and the e-mail key holding the id), then the
// webauthn account (linkAccount: the account JSON and the account
// by-user-id pointer), then the passkey (createAuthenticator: the
// authenticator JSON and the user's credential-ID list, [credID, ...old]).
// Unlike the adapter it writes all of it in one MULTI/EXEC under WATCH,
// so a failure leaves nothing half-written.
//
// opts.CreateUser.ID, when empty, is a random UUID v4 from opts.Rand
// (crypto/rand when nil), as the adapter's crypto.randomUUID(). It
// refuses, writing nothing: a credential whose authenticator or account
// key is taken (passkey.ErrConflict; also when the key holds another
// credential whose key normalises alike), a user that does not exist
// (passkey.ErrNotFound), a user to create whose e-mail or id is taken
// (passkey.ErrConflict). opts.ProviderID, when set, overrides the store's;
// opts.Now is unused (the adapter stores no times for a passkey).
//
// Transports are written as @auth/core writes them: joined with ",", ""
// when the browser reported an empty list, and no field when it reported
// none.
func (s *Store) CreatePasskey(ctx context.Context, p store.NewPasskey, opts store.EnrollOptions) (passkey.Passkey, error) {
	if p.Name != nil {
		return passkey.Passkey{}, passkey.ErrNoPasskeyName
	}
	provider := s.ProviderID
	if opts.ProviderID != "" {
		provider = opts.ProviderID
	}
	if len(p.CredentialID) == 0 || len(p.PublicKey) == 0 {
		return passkey.Passkey{}, fmt.Errorf("%w: credential without an ID or public key", passkey.ErrInvalid)
	}
	userID, email := p.UserID, ""
	if opts.CreateUser != nil {
		email = opts.CreateUser.Email
		if email == "" {
			return passkey.Passkey{}, fmt.Errorf("%w: a new user needs an e-mail", passkey.ErrInvalid)
		}
		userID = opts.CreateUser.ID
		if userID == "" {
			id, err := newUUIDv4(opts.Rand)
			if err != nil {
				return passkey.Passkey{}, err
			}
			userID = id
		}
		if p.UserID != "" && p.UserID != userID {
			return passkey.Passkey{}, fmt.Errorf("%w: passkey user %s is not the user to create %s", passkey.ErrInvalid, p.UserID, userID)
		}
	}
	if userID == "" {
		return passkey.Passkey{}, fmt.Errorf("%w: no user for the passkey", passkey.ErrInvalid)
	}
	credID := passkey.AuthjsCredentialID(p.CredentialID)
	publicKey := passkey.AuthjsCredentialID(p.PublicKey)
	if _, err := passkey.KeyAlgorithm(publicKey); err != nil {
		return passkey.Passkey{}, fmt.Errorf("create passkey: %w", err)
	}
	deviceType := "singleDevice"
	if p.BackupEligible {
		deviceType = "multiDevice"
	}
	// @auth/core stores transports.join(","): "" for the empty list a
	// browser reports, and no field when it reports none.
	var transports *string
	if p.Transports != nil {
		t := strings.Join(p.Transports, ",")
		transports = &t
	}
	authVal := authenticatorJSON(credID, publicKey, int64(p.Counter), p.BackupState, deviceType, transports, userID)

	authKey := s.L.AuthenticatorKey(credID)
	acctKey := s.L.AccountKey(provider, credID)
	listKey := s.L.AuthenticatorListKey(userID)
	userKey := s.L.UserKey(userID)
	emailKey := s.L.EmailKey(email)
	acctPtrKey := s.L.AccountByUserIDKey(userID)
	watched := []string{authKey, acctKey, listKey, userKey, acctPtrKey}
	if opts.CreateUser != nil {
		watched = append(watched, emailKey)
	}
	var userVal string
	var entry *store.AuditEntry
	err := s.watchRetry(ctx, "create passkey", func(tx *goredis.Tx) error {
		vals, ok, err := mgetTx(ctx, tx, []string{authKey, acctKey, listKey, userKey, emailKey})
		if err != nil {
			return err
		}
		if ok[0] {
			other := credID
			if a, isAuth := parseAuthenticator(vals[0]); isAuth {
				other = a.CredentialID
			}
			if other == credID {
				return fmt.Errorf("credential %s is already stored: %w", credID, passkey.ErrConflict)
			}
			return fmt.Errorf("credential %s would be stored under the key of credential %s (%s: unstorage normalises keys alike), overwriting it: %w", credID, other, authKey, passkey.ErrConflict)
		}
		if ok[1] {
			return fmt.Errorf("credential %s already has an account (%s): %w", credID, acctKey, passkey.ErrConflict)
		}
		if opts.CreateUser != nil {
			if ok[3] {
				return fmt.Errorf("user %s already exists: %w", userID, passkey.ErrConflict)
			}
			if ok[4] {
				return fmt.Errorf("a user with the e-mail %s already exists (user %s): %w", email, vals[4], passkey.ErrConflict)
			}
			userVal = userJSON(userID, email)
		} else if u, isUser := parseUser(vals[3]); !ok[3] || !isUser || u.ID != userID {
			return fmt.Errorf("user not found: %s: %w", userID, passkey.ErrNotFound)
		} else {
			userVal = vals[3]
		}
		var old []string
		if ok[2] {
			old = parseList(vals[2])
		}
		list := jsStringArray(prependToList(old, credID))
		entry = s.auditEntry(store.AuditEnroll, "enrolled passkey "+passkey.Base64URL(p.CredentialID))
		if entry != nil {
			entry.Added = append(entry.Added, store.AuditPasskey{CredentialID: passkey.Base64URL(p.CredentialID), UserID: userID})
			u, _ := parseUser(userVal)
			entry.AddUser(userID, u.Email)
		}
		record, err := s.auditWrite(ctx, tx, entry)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(pipe goredis.Pipeliner) error {
			record(pipe)
			if opts.CreateUser != nil {
				pipe.Set(ctx, userKey, userVal, 0)
				pipe.Set(ctx, emailKey, userID, 0)
			}
			pipe.Set(ctx, acctKey, accountJSON(provider, credID, userID), 0)
			pipe.Set(ctx, acctPtrKey, s.L.AccountPointer(provider, credID), 0)
			pipe.Set(ctx, authKey, authVal, 0)
			pipe.Set(ctx, listKey, list, 0)
			return nil
		})
		return err
	}, watched...)
	if err != nil {
		return passkey.Passkey{}, err
	}
	s.recorded(entry)
	a, _ := parseAuthenticator(authVal)
	acct, _ := parseAccount(accountJSON(provider, credID, userID))
	u, _ := parseUser(userVal)
	saved := *s
	saved.ProviderID = provider
	return saved.passkey(a, &acct, &u), nil
}

// UpdateCounter records a sign-in's signature counter as the adapter's
// updateAuthenticatorCounter does: the authenticator value rewritten with
// counter set (every other field byte for byte, in its order), and the
// user's credential-ID list rewritten [credID, ...old] unless credID is
// already first (so a sign-in with an older passkey adds a duplicate, as
// the adapter does). Both in one MULTI/EXEC under WATCH. passkey.ErrNotFound
// when no authenticator of this credential is stored.
func (s *Store) UpdateCounter(ctx context.Context, raw []byte, counter uint32) error {
	credID := passkey.AuthjsCredentialID(raw)
	authKey := s.L.AuthenticatorKey(credID)
	return s.watchRetry(ctx, "update counter", func(tx *goredis.Tx) error {
		v, err := tx.Get(ctx, authKey).Result()
		if errors.Is(err, goredis.Nil) {
			return fmt.Errorf("credential %s: %w", credID, passkey.ErrNotFound)
		}
		if err != nil {
			return err
		}
		a, isAuth := parseAuthenticator(v)
		if !isAuth || a.CredentialID != credID {
			return fmt.Errorf("credential %s: %w", credID, passkey.ErrNotFound)
		}
		listKey := s.L.AuthenticatorListKey(a.UserID)
		if err := tx.Watch(ctx, listKey).Err(); err != nil {
			return err
		}
		var old []string
		lv, err := tx.Get(ctx, listKey).Result()
		switch {
		case err == nil:
			old = parseList(lv)
		case !errors.Is(err, goredis.Nil):
			return err
		}
		newVal, err := withCounter(v, int64(counter))
		if err != nil {
			return fmt.Errorf("credential %s: %w", credID, err)
		}
		_, err = tx.TxPipelined(ctx, func(pipe goredis.Pipeliner) error {
			pipe.Set(ctx, authKey, newVal, 0)
			pipe.Set(ctx, listKey, jsStringArray(prependToList(old, credID)), 0)
			return nil
		})
		return err
	}, authKey)
}

// watchRetry runs fn under WATCH of keys, again when a watched key changed
// before EXEC, up to maxTxRetries times. Errors of fn are returned as they
// are; Redis errors are wrapped with op, as is the conflict of keys that
// never stop changing.
func (s *Store) watchRetry(ctx context.Context, op string, fn func(*goredis.Tx) error, keys ...string) error {
	var err error
	for attempt := 0; attempt <= maxTxRetries; attempt++ {
		err = s.c.Watch(ctx, fn, keys...)
		if !errors.Is(err, goredis.TxFailedErr) {
			break
		}
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, goredis.TxFailedErr):
		return fmt.Errorf("%s: the keys kept changing (%d attempts); nothing was written, try again: %w", op, maxTxRetries+1, passkey.ErrConflict)
	case errors.Is(err, passkey.ErrConflict), errors.Is(err, passkey.ErrNotFound), errors.Is(err, passkey.ErrInvalid):
		return err
	}
	return s.err(op, err)
}

// newUUIDv4 is a random UUID v4 in crypto.randomUUID()'s form.
func newUUIDv4(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("generate user id: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}
