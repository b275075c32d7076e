package redis

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
	goredis "github.com/redis/go-redis/v9"
)

// maxTxRetries is how often a write retries when a key it watches changed
// between the read and EXEC (a concurrent sign-in rewriting a counter).
const maxTxRetries = 10

// RevokeCredentials implements store.Store: ResolveCredentials, then
// Revoke, which reads every key again under WATCH, so that a passkey
// revoked or changed in between is found out as on SQL. Each passkey is
// a few small keys: reading them twice costs Redis no disk.
func (s *Store) RevokeCredentials(ctx context.Context, ids []string, opts store.RevokeOptions) (*store.RevokeResult, error) {
	passkeys, err := s.ResolveCredentials(ctx, ids)
	if err != nil {
		return nil, err
	}
	return s.Revoke(ctx, passkeys, opts)
}

// Revoke removes the passkeys atomically, with one MULTI/EXEC under WATCH
// of every key it reads: for each passkey its authenticator key, every
// occurrence of its ID in its user's credential-ID list (the list key is
// deleted when nothing is left, as for a user who never had a passkey),
// its webauthn account key when that account is this credential's and
// this user's, and the user's account by-user-id pointer when it points at
// that account. With opts.RevokeSessions it also deletes every session of
// those users (found by SCAN over the session keys, by the userId in the
// value) and each user's session pointer when it names one of them or a
// session already gone (the adapter's sign-out leaves it dangling). With
// opts.DryRun it reads and plans everything and writes nothing.
// opts.ProviderID, when set, overrides the store's.
//
// It is all or nothing: when a passkey's key is gone or names another
// credential or user since it was read (a concurrent revoke), nothing is
// written and the error is passkey.ErrNotFound, as a revoke that lost the
// race on SQL (exit 3); keys that keep changing through every retry are
// passkey.ErrConflict. A watched key changed by
// anything else (a sign-in updating a counter) makes it read again and
// retry, up to maxTxRetries times.
//
// What it cannot prevent: the adapter's own sign-in reads an authenticator
// and writes it back later without a transaction, so a sign-in that read
// the passkey before the revoke commits rewrites it afterwards.
func (s *Store) Revoke(ctx context.Context, passkeys []passkey.Passkey, opts store.RevokeOptions) (*store.RevokeResult, error) {
	provider := s.ProviderID
	if opts.ProviderID != "" {
		provider = opts.ProviderID
	}
	var todo []passkey.Passkey
	seen := map[string]bool{}
	var users []string
	for _, p := range passkeys {
		if seen[p.CredentialID] {
			continue
		}
		seen[p.CredentialID] = true
		todo = append(todo, p)
		if !slices.Contains(users, p.UserID) {
			users = append(users, p.UserID)
		}
	}
	res := &store.RevokeResult{Passkeys: []passkey.Passkey{}, Stranded: []passkey.User{}, DryRun: opts.DryRun}
	if len(todo) == 0 {
		return res, nil
	}
	// A wrong --provider-id: passkeys without an account under it whose
	// webauthn accounts sit under another provider. Deleting their
	// authenticators would leave those accounts behind as orphans, so
	// nothing is revoked and the error names the provider to use, as on
	// SQL.
	var check store.ProviderCheck
	for _, p := range todo {
		check.AddPasskey(p)
	}
	if hint, err := s.wrongProviderHint(ctx, &check, provider); err != nil {
		return nil, err
	} else if hint != "" {
		return nil, fmt.Errorf("%w: revoke: %s; nothing was revoked", passkey.ErrInvalid, hint)
	}
	var sessionKeys []string
	if opts.RevokeSessions {
		var err error
		if sessionKeys, err = s.sessionKeysOf(ctx, users); err != nil {
			return nil, err
		}
	}

	// The keys read, in this order: per passkey (authenticator, account);
	// per user (list, account pointer, session pointer); the sessions.
	var keys []string
	for _, p := range todo {
		keys = append(keys, s.L.AuthenticatorKey(p.CredentialID), s.L.AccountKey(provider, accountIDOf(p)))
	}
	for _, u := range users {
		keys = append(keys, s.L.AuthenticatorListKey(u), s.L.AccountByUserIDKey(u), s.L.SessionByUserIDKey(u))
	}
	keys = append(keys, sessionKeys...)
	watched := store.Distinct(keys)

	var plan *revokePlan
	var entry *store.AuditEntry
	err := s.watchRetry(ctx, "revoke", func(tx *goredis.Tx) error {
		vals, ok, err := mgetTx(ctx, tx, keys)
		if err != nil {
			return err
		}
		plan, err = s.planRevoke(todo, users, provider, keys, vals, ok, len(sessionKeys), opts.RevokeSessions)
		if err != nil {
			return err
		}
		for _, sp := range plan.sessionPtrs {
			n, err := tx.Exists(ctx, sp[1]).Result()
			if err != nil {
				return err
			}
			if n == 0 && !plan.deleted[sp[0]] {
				plan.deleted[sp[0]] = true
				plan.del = append(plan.del, sp[0])
			}
		}
		if opts.DryRun {
			return nil
		}
		entry = s.auditEntry(store.AuditRevoke, store.RevokeSummary(len(todo), opts.RevokeSessions))
		if opts.Backup != nil || entry != nil {
			// The records of the values just read under WATCH: if EXEC
			// then fails because one changed, the retry writes them
			// again as they are then (import merges such records).
			records, err := s.revokedRecords(ctx, todo, keys, vals, ok, opts.Now)
			if err != nil {
				return err
			}
			if opts.Backup != nil {
				if err := opts.Backup(records); err != nil {
					return err
				}
			}
			if entry != nil {
				entry.AddRemoved(records...)
				entry.Sessions = plan.sessions
			}
		}
		return s.execAudited(ctx, tx, plan.del, plan.set, entry)
	}, watched...)
	if err != nil {
		return nil, err
	}
	s.recorded(entry)
	res.Passkeys = append(res.Passkeys, todo...)
	res.Accounts, res.Sessions = plan.accounts, plan.sessions
	if res.Stranded, err = s.stranded(ctx, plan.emptied, opts.DryRun, plan.deleted); err != nil {
		return res, err
	}
	return res, nil
}

// revokedRecords are the export records of the passkeys about to be
// revoked (for --backup and the audit log), built from their authenticator
// values as read (keys[2i] is passkey i's authenticator key), with
// revokedAt set, before anything is deleted.
func (s *Store) revokedRecords(ctx context.Context, todo []passkey.Passkey, keys, vals []string, ok []bool, clock func() time.Time) ([]passkey.ExportRecord, error) {
	auths := make([]stored, 0, len(todo))
	for i := range todo {
		if a, isAuth := parseAuthenticator(vals[2*i]); ok[2*i] && isAuth {
			auths = append(auths, stored{key: keys[2*i], raw: vals[2*i], a: a})
		}
	}
	return s.recordsOf(ctx, auths, clock)
}

// revokePlan is what one revocation writes.
type revokePlan struct {
	del             []string
	set             [][2]string
	accounts        int64
	sessions        int64
	emptied         []string // users left with an empty credential list
	deletedAccounts map[string]bool
	deleted         map[string]bool // every key in del
	// sessionPtrs are session pointers (key, the key it names) that
	// name no session revoked now: removed too when what they name is
	// already gone (the adapter's sign-out leaves them dangling).
	sessionPtrs [][2]string
}

// planRevoke checks the values read under WATCH and computes the writes.
func (s *Store) planRevoke(todo []passkey.Passkey, users []string, provider string, keys, vals []string, ok []bool, nSessions int, revokeSessions bool) (*revokePlan, error) {
	plan := &revokePlan{deletedAccounts: map[string]bool{}, deleted: map[string]bool{}}
	del := plan.deleted
	remove := func(k string) {
		if !del[k] {
			del[k] = true
			plan.del = append(plan.del, k)
		}
	}
	revoked := map[string][]string{} // user → credential IDs revoked
	i := 0
	for _, p := range todo {
		authKey, acctKey := keys[i], keys[i+1]
		a, isAuth := parseAuthenticator(vals[i])
		if !ok[i] || !isAuth || a.CredentialID != p.CredentialID || a.UserID != p.UserID {
			return nil, fmt.Errorf("revoke %s: the passkey is gone or changed owner since it was read (revoked concurrently?); nothing was revoked: %w", p.CredentialID, passkey.ErrNotFound)
		}
		remove(authKey)
		revoked[p.UserID] = append(revoked[p.UserID], p.CredentialID)
		if acct, isAcct := parseAccount(vals[i+1]); ok[i+1] && isAcct &&
			acct.ProviderAccountID == accountIDOf(p) && acct.Provider == provider && acct.UserID == p.UserID && !del[acctKey] {
			remove(acctKey)
			plan.accounts++
			plan.deletedAccounts[acctKey] = true
		}
		i += 2
	}
	deletedSessions := map[string]bool{}
	sessionStart := 2*len(todo) + 3*len(users)
	for j := range nSessions {
		k := sessionStart + j
		if sv, isSession := parseSession(vals[k]); ok[k] && isSession && slices.Contains(users, sv.UserID) && s.L.SessionKey(sv.SessionToken) == keys[k] && !del[keys[k]] {
			remove(keys[k])
			plan.sessions++
			deletedSessions[keys[k]] = true
		}
	}
	for _, u := range users {
		listKey, acctPtr, sessPtr := keys[i], keys[i+1], keys[i+2]
		if ok[i] {
			var left []string
			for _, id := range parseList(vals[i]) {
				if !slices.Contains(revoked[u], id) {
					left = append(left, id)
				}
			}
			if len(left) == 0 {
				remove(listKey)
				plan.emptied = append(plan.emptied, u)
			} else {
				plan.set = append(plan.set, [2]string{listKey, jsStringArray(left)})
			}
		} else {
			plan.emptied = append(plan.emptied, u)
		}
		if ok[i+1] && plan.deletedAccounts[s.L.PointerKey(vals[i+1])] {
			remove(acctPtr)
		}
		if ok[i+2] {
			if target := s.L.PointerKey(vals[i+2]); deletedSessions[target] {
				remove(sessPtr)
			} else if revokeSessions {
				plan.sessionPtrs = append(plan.sessionPtrs, [2]string{sessPtr, target})
			}
		}
		i += 3
	}
	return plan, nil
}

// sessionKeysOf finds the session keys of users by SCAN over the session
// prefix, reading each value's userId.
func (s *Store) sessionKeysOf(ctx context.Context, users []string) ([]string, error) {
	var out []string
	err := s.scan(ctx, s.L.matchPattern(s.L.SessionKeyPrefix), func(keys []string) error {
		vals, ok, err := s.mget(ctx, keys)
		if err != nil {
			return err
		}
		for i, k := range keys {
			if sv, isSession := parseSession(vals[i]); ok[i] && isSession && slices.Contains(users, sv.UserID) && s.L.SessionKey(sv.SessionToken) == k {
				out = append(out, k)
			}
		}
		return nil
	})
	return store.Distinct(out), err
}

// stranded returns the users among cands (whose credential list is now
// empty) that have no passkey and no account left at all: a SCAN over the
// authenticator and the account keys, run only when there are candidates.
// A dry run counts the keys it would have deleted as gone.
func (s *Store) stranded(ctx context.Context, cands []string, dryRun bool, deleted map[string]bool) ([]passkey.User, error) {
	out := []passkey.User{}
	if len(cands) == 0 {
		return out, nil
	}
	left := map[string]bool{}
	for _, u := range cands {
		left[u] = true
	}
	check := func(prefix string, owner func(key, v string) (string, bool)) error {
		return s.scan(ctx, s.L.matchPattern(prefix), func(keys []string) error {
			vals, ok, err := s.mget(ctx, keys)
			if err != nil {
				return err
			}
			for i, k := range keys {
				if !ok[i] || (dryRun && deleted[k]) {
					continue
				}
				if u, has := owner(k, vals[i]); has {
					delete(left, u)
				}
			}
			return nil
		})
	}
	err := check(s.L.AuthenticatorKeyPrefix, func(k, v string) (string, bool) {
		a, isAuth := parseAuthenticator(v)
		if !isAuth || s.L.AuthenticatorKey(a.CredentialID) != k {
			return "", false
		}
		return a.UserID, true
	})
	if err != nil {
		return nil, err
	}
	err = check(s.L.AccountKeyPrefix, func(k, v string) (string, bool) {
		a, isAcct := parseAccount(v)
		if !isAcct || a.UserID == "" || s.L.AccountKey(a.Provider, a.ProviderAccountID) != k {
			return "", false
		}
		return a.UserID, true
	})
	if err != nil {
		return nil, err
	}
	for _, u := range cands {
		if !left[u] {
			continue
		}
		user, found, err := s.getUser(ctx, u)
		if err != nil {
			return nil, err
		}
		if !found {
			user = passkey.User{ID: u}
		}
		out = append(out, user)
	}
	return out, nil
}

// mgetTx is mget on a WATCH connection.
func mgetTx(ctx context.Context, tx *goredis.Tx, keys []string) ([]string, []bool, error) {
	vals := make([]string, len(keys))
	ok := make([]bool, len(keys))
	for start := 0; start < len(keys); start += batchSize {
		end := min(start+batchSize, len(keys))
		res, err := tx.MGet(ctx, keys[start:end]...).Result()
		if err != nil {
			return nil, nil, err
		}
		for i, v := range res {
			if str, isStr := v.(string); isStr {
				vals[start+i], ok[start+i] = str, true
			}
		}
	}
	return vals, ok, nil
}

// accountIDOf is the providerAccountId of p's account.
func accountIDOf(p passkey.Passkey) string {
	if p.ProviderAccountID != "" {
		return p.ProviderAccountID
	}
	return p.CredentialID
}
