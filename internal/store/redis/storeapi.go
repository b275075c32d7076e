package redis

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// The rest of store.Store: what the commands ask of every backend, in the
// adapter's terms.

var _ store.Store = (*Store)(nil)

// Describe implements store.Store.
func (s *Store) Describe() store.Description {
	keys := s.L.storageKey(s.L.BaseKeyPrefix+s.L.AuthenticatorKeyPrefix) + "*"
	d := store.Description{
		ID: "authjs", Name: "Auth.js", Label: "Auth.js (Redis keys " + keys + ")", Where: "Redis keys " + keys, Record: "key " + keys,
		Location: s.target.Redacted(), Accounts: true, Account: "account key",
		DeviceTypeField: "credentialDeviceType", EncodeID: base64.StdEncoding.EncodeToString,
		Stranded: passkey.AuthjsStranded, RPIDSource: passkey.AuthjsRPIDSource, ExportWarning: passkey.AuthjsExportWarning,
	}
	if s.target.DB != 0 {
		d.Scope = fmt.Sprintf("Redis database %d", s.target.DB)
	}
	return d
}

// Ready implements store.Store: keys need no schema. An app that has
// written nothing yet is an empty listing, as an empty table is on SQL.
func (s *Store) Ready(store.Purpose) error { return nil }

// NewUser implements store.Store: the e-mail as Auth.js's e-mail sign-in
// normalises it, and a UUID, as @auth/core's createUser gives a new user
// (crypto.randomUUID()).
func (s *Store) NewUser(email string, _ time.Time, rand io.Reader) (passkey.User, error) {
	id, err := newUUIDv4(rand)
	if err != nil {
		return passkey.User{}, err
	}
	email = passkey.AuthjsEmail(email)
	return passkey.User{ID: id, Email: &email}, nil
}

// CheckEnroll implements store.Store. CreatePasskey checks everything
// again inside its transaction; here the user is looked for early, so that
// an operator hears of a missing user before the ceremony.
func (s *Store) CheckEnroll(ctx context.Context, userID string, newUser bool) error {
	if newUser || userID == "" {
		return nil
	}
	if _, found, err := s.getUser(ctx, userID); err != nil || found {
		return err
	}
	return fmt.Errorf("user not found: %s: %w", userID, passkey.ErrNotFound)
}

// WrongProviderHint implements store.Store: when the no-account passkeys
// c collected have webauthn accounts under other providers, the provider
// to use. The adapter keeps no index of a user's accounts (by-user-id
// points at the last one linked only), so this is one SCAN over the
// account keys, paid only when passkeys came out no-account.
func (s *Store) WrongProviderHint(ctx context.Context, c *store.ProviderCheck) (string, error) {
	return s.wrongProviderHint(ctx, c, s.ProviderID)
}

// wrongProviderHint is WrongProviderHint for the Passkey provider id
// provider (Revoke's may override the store's).
func (s *Store) wrongProviderHint(ctx context.Context, c *store.ProviderCheck, provider string) (string, error) {
	if len(c.Refs) == 0 {
		return "", nil
	}
	want := map[[2]string]bool{}
	for _, r := range c.Refs {
		want[[2]string{r[0], r[1]}] = true
	}
	var providers []string
	err := s.scan(ctx, s.L.matchPattern(s.L.AccountKeyPrefix), func(keys []string) error {
		vals, ok, err := s.mget(ctx, keys)
		if err != nil {
			return err
		}
		for i := range keys {
			a, isAcct := parseAccount(vals[i])
			if ok[i] && isAcct && a.Type == "webauthn" && a.Provider != provider && want[[2]string{a.UserID, a.ProviderAccountID}] && !slices.Contains(providers, a.Provider) {
				providers = append(providers, a.Provider)
			}
		}
		return nil
	})
	if err != nil || len(providers) == 0 {
		return "", err
	}
	slices.Sort(providers)
	return fmt.Sprintf("the accounts of these passkeys have provider %q, not %q: pass --provider-id %s (the app's Passkey provider id)",
		strings.Join(providers, `", "`), provider, providers[0]), nil
}

// ListOrphans implements store.Store: the webauthn accounts of the
// provider whose authenticator key is gone (a registration the adapter
// wrote half of, or a passkey deleted without its account), ordered by
// user then credential ID. The accounts are found with SCAN over the
// provider's account keys; orphans are few and are sorted in memory.
func (s *Store) ListOrphans(ctx context.Context, opts store.ListOptions, fn func(store.Orphan) error) error {
	var orphans []store.Orphan
	err := s.scan(ctx, s.L.matchPattern(s.L.AccountKeyPrefix+s.ProviderID+":"), func(keys []string) error {
		vals, ok, err := s.mget(ctx, keys)
		if err != nil {
			return err
		}
		var accts []accountValue
		var authKeys []string
		for i := range keys {
			a, isAcct := parseAccount(vals[i])
			if !ok[i] || !isAcct || a.Type != "webauthn" || a.Provider != s.ProviderID || opts.UserID != "" && a.UserID != opts.UserID {
				continue
			}
			accts = append(accts, a)
			authKeys = append(authKeys, s.L.AuthenticatorKey(a.ProviderAccountID))
		}
		if len(accts) == 0 {
			return nil
		}
		auths, have, err := s.mget(ctx, authKeys)
		if err != nil {
			return err
		}
		for i, a := range accts {
			if v, isAuth := parseAuthenticator(auths[i]); have[i] && isAuth && v.CredentialID == a.ProviderAccountID {
				continue
			}
			orphans = append(orphans, store.Orphan{CredentialID: a.ProviderAccountID, UserID: a.UserID, Provider: a.Provider, Status: passkey.StatusNoAuthenticator})
		}
		return nil
	})
	if err != nil {
		return err
	}
	slices.SortFunc(orphans, func(a, b store.Orphan) int {
		if c := strings.Compare(a.UserID, b.UserID); c != 0 {
			return c
		}
		return strings.Compare(a.CredentialID, b.CredentialID)
	})
	for i, o := range orphans {
		if opts.Limit > 0 && i == opts.Limit {
			break
		}
		u, found, err := s.getUser(ctx, o.UserID)
		if err != nil {
			return err
		}
		if found {
			o.Email = u.Email
		}
		if err := fn(o); err != nil {
			return err
		}
	}
	return nil
}

// CompleteUsers implements store.Store: user ids and e-mails starting with
// prefix, from the user keys (whose values are the users) and the e-mail
// keys (whose values are the users' ids), SCAN with MATCH on the prefix.
func (s *Store) CompleteUsers(ctx context.Context, prefix string, limit int) ([]string, error) {
	var out []string
	add := func(v string) {
		if strings.HasPrefix(v, prefix) && !slices.Contains(out, v) && len(out) < limit {
			out = append(out, v)
		}
	}
	// fromUserKeys adds the ids and e-mails of the users under keys; it
	// stops the scan once limit are found.
	fromUserKeys := func(keys []string) error {
		vals, ok, err := s.mget(ctx, keys)
		if err != nil {
			return err
		}
		for i := range vals {
			if u, isUser := parseUser(vals[i]); ok[i] && isUser {
				add(u.ID)
				if u.Email != nil {
					add(*u.Email)
				}
			}
		}
		if len(out) >= limit {
			return errEnough
		}
		return nil
	}
	// E-mail keys hold the users' ids: their users are read by id.
	err := s.scanPrefix(ctx, s.L.EmailKeyPrefix, prefix, func(keys []string) error {
		ids, ok, err := s.mget(ctx, keys)
		if err != nil {
			return err
		}
		var userKeys []string
		for i, id := range ids {
			if ok[i] {
				userKeys = append(userKeys, s.L.UserKey(id))
			}
		}
		return fromUserKeys(userKeys)
	})
	if err == nil {
		err = s.scanPrefix(ctx, s.L.UserKeyPrefix, prefix, fromUserKeys)
	}
	if err == errEnough {
		err = nil
	}
	return out, err
}

// CompleteCredentialIDs implements store.Store: credential IDs as Auth.js
// stores them (standard base64) starting with prefix.
func (s *Store) CompleteCredentialIDs(ctx context.Context, prefix string, limit int) ([]string, error) {
	var out []string
	err := s.scanPrefix(ctx, s.L.AuthenticatorKeyPrefix, prefix, func(keys []string) error {
		auths, err := s.readAuthenticators(ctx, keys)
		if err != nil {
			return err
		}
		for _, a := range auths {
			if id := a.a.CredentialID; strings.HasPrefix(id, prefix) && len(out) < limit && !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
		if len(out) >= limit {
			return errEnough
		}
		return nil
	})
	if err == errEnough {
		err = nil
	}
	return out, err
}

// errEnough stops a scan that has found what it looks for.
var errEnough = fmt.Errorf("enough")

// scanPrefix scans the keys of item whose id starts with idPrefix. Key
// names are normalised (":", "/" and "\" become ":"), so a prefix holding
// one of those is matched on the item alone and the caller filters.
func (s *Store) scanPrefix(ctx context.Context, item, idPrefix string, fn func(keys []string) error) error {
	pattern := s.L.matchPattern(item)
	if idPrefix != "" && !strings.ContainsAny(idPrefix, ":/\\") {
		pattern = s.L.matchPattern(item + idPrefix)
	}
	return s.scan(ctx, pattern, fn)
}

// Rename implements store.Store: Auth.js stores no passkey name.
func (s *Store) Rename(context.Context, []byte, string) (passkey.Passkey, passkey.Passkey, error) {
	return passkey.Passkey{}, passkey.Passkey{}, passkey.ErrNoPasskeyName
}
