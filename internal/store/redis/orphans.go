package redis

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
	goredis "github.com/redis/go-redis/v9"
)

// orphanCands are the keys RemoveOrphans looks at: authenticator keys,
// account keys, and per user (key, user id) the credential-ID list and
// the account pointer.
type orphanCands struct {
	auths, accounts []string
	lists, pointers [][2]string
}

func (c orphanCands) keys() []string {
	keys := slices.Concat(c.auths, c.accounts)
	for _, kv := range slices.Concat(c.lists, c.pointers) {
		keys = append(keys, kv[0])
	}
	return store.Distinct(keys)
}

func (c orphanCands) empty() bool {
	return len(c.auths)+len(c.accounts)+len(c.lists)+len(c.pointers) == 0
}

// orphanWrites is what one clean-up deletes and rewrites, and what it
// reports.
type orphanWrites struct {
	del     []string
	deleted map[string]bool
	set     [][2]string
	// gone are keys to count as absent besides deleted: at discovery, what
	// other batches will delete.
	gone    map[string]bool
	auths   []stored
	res     store.OrphanResult
	removed map[string]bool // accounts reported, by key
}

func (w *orphanWrites) remove(k string) {
	if !w.deleted[k] {
		w.deleted[k] = true
		w.del = append(w.del, k)
	}
}

func (w *orphanWrites) isGone(k string) bool { return w.deleted[k] || w.gone[k] }

// getter reads a value read before (ok false when the key is absent).
type getter func(key string) (string, bool)

// orphanDeps are the keys whose values decide whether c's keys are
// orphans: each authenticator's user and account, each account's
// authenticator and user, each listed credential's authenticator, each
// pointer's target.
func (s *Store) orphanDeps(c orphanCands, get getter, provider string) []string {
	var deps []string
	for _, k := range c.auths {
		if v, ok := get(k); ok {
			if a, isAuth := parseAuthenticator(v); isAuth {
				deps = append(deps, s.L.UserKey(a.UserID), s.L.AccountKey(provider, a.accountID()))
			}
		}
	}
	for _, k := range c.accounts {
		if v, ok := get(k); ok {
			if a, isAcct := parseAccount(v); isAcct {
				deps = append(deps, s.L.AuthenticatorKey(a.ProviderAccountID), s.L.UserKey(a.UserID))
			}
		}
	}
	for _, kv := range c.lists {
		if v, ok := get(kv[0]); ok {
			for _, id := range parseList(v) {
				deps = append(deps, s.L.AuthenticatorKey(id))
			}
		}
	}
	for _, kv := range c.pointers {
		if v, ok := get(kv[0]); ok {
			deps = append(deps, s.L.PointerKey(v))
		}
	}
	return store.Distinct(deps)
}

// planOrphans decides, from the values get returns, what of c goes: in
// this order, so that each step sees what the previous ones delete:
//
//  1. authenticators whose user key is gone, with their webauthn account;
//  2. webauthn accounts of provider without their authenticator;
//  3. credential IDs in a user's list whose authenticator is gone or
//     names another credential or user (the list rewritten without them,
//     deleted when nothing is left);
//  4. account pointers whose account is gone.
func (s *Store) planOrphans(c orphanCands, get getter, provider, userID string, gone map[string]bool) *orphanWrites {
	w := &orphanWrites{deleted: map[string]bool{}, gone: gone, removed: map[string]bool{}}
	w.res = store.OrphanResult{Accounts: []store.Orphan{}, Passkeys: []passkey.Passkey{}, Entries: []store.DanglingEntry{}}
	email := func(uid string) *string {
		if v, ok := get(s.L.UserKey(uid)); ok {
			if u, isUser := parseUser(v); isUser && u.ID == uid {
				return u.Email
			}
		}
		return nil
	}
	webauthn := func(k string) (accountValue, bool) {
		v, ok := get(k)
		if !ok || w.isGone(k) {
			return accountValue{}, false
		}
		a, isAcct := parseAccount(v)
		return a, isAcct && a.Type == "webauthn" && a.Provider == provider
	}
	for _, k := range c.auths {
		v, ok := get(k)
		a, isAuth := parseAuthenticator(v)
		if !ok || !isAuth || s.L.AuthenticatorKey(a.CredentialID) != k || userID != "" && a.UserID != userID || w.isGone(k) {
			continue
		}
		if uv, ok := get(s.L.UserKey(a.UserID)); ok {
			if u, isUser := parseUser(uv); isUser && u.ID == a.UserID {
				continue
			}
		}
		acctKey := s.L.AccountKey(provider, a.accountID())
		acct, isAcct := webauthn(acctKey)
		var acctp *accountValue
		if isAcct {
			acctp = &acct
		}
		w.res.Passkeys = append(w.res.Passkeys, s.passkey(a, acctp, nil))
		w.auths = append(w.auths, stored{key: k, raw: v, a: a})
		w.remove(k)
		// Its account goes too, whoever it names: without the
		// authenticator no sign-in can use it.
		if isAcct && acct.ProviderAccountID == a.accountID() {
			w.remove(acctKey)
			w.removed[acctKey] = true
			w.res.Accounts = append(w.res.Accounts, store.Orphan{CredentialID: acct.ProviderAccountID, UserID: acct.UserID, Email: email(acct.UserID), Provider: acct.Provider, Status: passkey.StatusNoAuthenticator})
		}
	}
	for _, k := range c.accounts {
		a, isAcct := webauthn(k)
		if !isAcct || s.L.AccountKey(a.Provider, a.ProviderAccountID) != k || userID != "" && a.UserID != userID {
			continue
		}
		authKey := s.L.AuthenticatorKey(a.ProviderAccountID)
		if v, ok := get(authKey); ok && !w.isGone(authKey) {
			if au, isAuth := parseAuthenticator(v); isAuth && au.CredentialID == a.ProviderAccountID {
				continue
			}
		}
		w.remove(k)
		w.removed[k] = true
		w.res.Accounts = append(w.res.Accounts, store.Orphan{CredentialID: a.ProviderAccountID, UserID: a.UserID, Email: email(a.UserID), Provider: a.Provider, Status: passkey.StatusNoAuthenticator})
	}
	for _, kv := range c.lists {
		k, uid := kv[0], kv[1]
		v, ok := get(k)
		// A bare ID is the layout of adapters before 2024: not rewritten.
		if !ok || len(v) == 0 || v[0] != '[' || w.isGone(k) {
			continue
		}
		ids := parseList(v)
		var keep []string
		for _, id := range ids {
			authKey := s.L.AuthenticatorKey(id)
			if av, ok := get(authKey); ok && !w.isGone(authKey) {
				if au, isAuth := parseAuthenticator(av); isAuth && au.CredentialID == id && au.UserID == uid {
					keep = append(keep, id)
					continue
				}
			}
			w.res.Entries = append(w.res.Entries, store.DanglingEntry{Kind: store.EntryCredentialList, UserID: uid, CredentialID: id})
		}
		switch {
		case len(keep) == len(ids):
		case len(keep) == 0:
			w.remove(k)
		default:
			w.set = append(w.set, [2]string{k, jsStringArray(keep)})
		}
	}
	for _, kv := range c.pointers {
		k, uid := kv[0], kv[1]
		v, ok := get(k)
		if !ok || w.isGone(k) {
			continue
		}
		target := s.L.PointerKey(v)
		if _, exists := get(target); exists && !w.isGone(target) {
			continue
		}
		w.remove(k)
		w.res.Entries = append(w.res.Entries, store.DanglingEntry{Kind: store.EntryAccountPointer, UserID: uid, Target: v})
	}
	return w
}

// userOfKey returns the user id whose key under prefix (an item prefix of
// the layout) is key, when the key can be read back: key names are
// normalised, and an id that does not come back the same is skipped.
func (s *Store) userOfKey(prefix, key string, keyOf func(string) string) (string, bool) {
	stem := s.L.storageKey(s.L.BaseKeyPrefix + prefix)
	rest, ok := strings.CutPrefix(key, stem)
	if !ok {
		return "", false
	}
	// The separator the normalisation keeps between stem and id goes
	// first: ids that begin with ":" lose it in the key anyway.
	for _, id := range []string{strings.TrimPrefix(rest, ":"), rest} {
		if id != "" && keyOf(id) == key {
			return id, true
		}
	}
	return "", false
}

// readValues reads keys into vals, through mget.
func readValues(ctx context.Context, keys []string, vals map[string]*string, mget func(context.Context, []string) ([]string, []bool, error)) error {
	var todo []string
	for _, k := range keys {
		if _, done := vals[k]; !done {
			todo = append(todo, k)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	v, ok, err := mget(ctx, todo)
	if err != nil {
		return err
	}
	for i, k := range todo {
		vals[k] = nil
		if ok[i] {
			vals[k] = &v[i]
		}
	}
	return nil
}

func mapGetter(vals map[string]*string) getter {
	return func(k string) (string, bool) {
		if v := vals[k]; v != nil {
			return *v, true
		}
		return "", false
	}
}

// findOrphans scans the key space (or userID's keys) batch by batch and
// returns the keys a clean-up would touch now, and the keys it would
// delete: the candidates RemoveOrphans then checks again under WATCH.
func (s *Store) findOrphans(ctx context.Context, provider, userID string) (orphanCands, error) {
	var found orphanCands
	gone := map[string]bool{}
	plan := func(c orphanCands) (*orphanWrites, error) {
		vals := map[string]*string{}
		if err := readValues(ctx, c.keys(), vals, s.mget); err != nil {
			return nil, err
		}
		get := mapGetter(vals)
		if err := readValues(ctx, s.orphanDeps(c, get, provider), vals, s.mget); err != nil {
			return nil, err
		}
		return s.planOrphans(c, get, provider, userID, gone), nil
	}
	// Passkeys first: their removal makes accounts, list entries and
	// pointers dangle, which the later steps then find.
	err := s.scan(ctx, s.L.matchPattern(s.L.AuthenticatorKeyPrefix), func(keys []string) error {
		w, err := plan(orphanCands{auths: keys})
		if err != nil {
			return err
		}
		for _, st := range w.auths {
			found.auths = append(found.auths, st.key)
		}
		for k := range w.deleted {
			gone[k] = true
		}
		return nil
	})
	if err != nil {
		return found, err
	}
	err = s.scan(ctx, s.L.matchPattern(s.L.AccountKeyPrefix+provider+":"), func(keys []string) error {
		w, err := plan(orphanCands{accounts: keys})
		if err != nil {
			return err
		}
		for k := range w.removed {
			found.accounts = append(found.accounts, k)
			gone[k] = true
		}
		return nil
	})
	if err != nil {
		return found, err
	}
	perUser := func(prefix string, keyOf func(string) string, add func(c *orphanCands, kv [2]string)) error {
		check := func(kvs [][2]string) error {
			var c orphanCands
			for _, kv := range kvs {
				add(&c, kv)
			}
			w, err := plan(c)
			if err != nil {
				return err
			}
			for _, kv := range kvs {
				if slices.ContainsFunc(w.set, func(set [2]string) bool { return set[0] == kv[0] }) || w.deleted[kv[0]] {
					add(&found, kv)
				}
			}
			return nil
		}
		if userID != "" {
			return check([][2]string{{keyOf(userID), userID}})
		}
		return s.scan(ctx, s.L.matchPattern(prefix), func(keys []string) error {
			var kvs [][2]string
			for _, k := range keys {
				if uid, ok := s.userOfKey(prefix, k, keyOf); ok {
					kvs = append(kvs, [2]string{k, uid})
				}
			}
			return check(kvs)
		})
	}
	if err := perUser(s.L.AuthenticatorUserKeyPrefix, s.L.AuthenticatorListKey, func(c *orphanCands, kv [2]string) { c.lists = append(c.lists, kv) }); err != nil {
		return found, err
	}
	err = perUser(s.L.AccountByUserIDPrefix, s.L.AccountByUserIDKey, func(c *orphanCands, kv [2]string) { c.pointers = append(c.pointers, kv) })
	found.auths, found.accounts = store.Distinct(found.auths), store.Distinct(found.accounts)
	return found, err
}

// RemoveOrphans implements store.Store on the adapter's keys: an
// authenticator whose user key is gone (with its webauthn account), a
// webauthn account of the provider without its authenticator, credential
// IDs in a user's list whose authenticator is gone or another user's, and
// account pointers whose account is gone.
//
// The key space is scanned first; what looks orphaned is then read again,
// with everything that decides it, under WATCH, and deleted (lists
// rewritten) in one MULTI/EXEC, retried when a watched key changes: a key
// that became usable in between (its passkey or user written back) stays.
// With opts.DryRun nothing is written.
func (s *Store) RemoveOrphans(ctx context.Context, opts store.OrphanOptions) (*store.OrphanResult, error) {
	provider := s.ProviderID
	if opts.ProviderID != "" {
		provider = opts.ProviderID
	}
	cands, err := s.findOrphans(ctx, provider, opts.UserID)
	if err != nil {
		return nil, err
	}
	empty := &store.OrphanResult{Accounts: []store.Orphan{}, Passkeys: []passkey.Passkey{}, Entries: []store.DanglingEntry{}, DryRun: opts.DryRun}
	if cands.empty() {
		return empty, nil
	}
	var w *orphanWrites
	var entry *store.AuditEntry
	first := cands.keys()
	err = s.watchRetry(ctx, "remove orphans", func(tx *goredis.Tx) error {
		vals := map[string]*string{}
		mget := func(ctx context.Context, keys []string) ([]string, []bool, error) { return mgetTx(ctx, tx, keys) }
		if err := readValues(ctx, first, vals, mget); err != nil {
			return err
		}
		get := mapGetter(vals)
		deps := s.orphanDeps(cands, get, provider)
		if len(deps) > 0 {
			// What decides an orphan is watched too: a passkey or user
			// written back before EXEC makes the clean-up read again.
			if err := tx.Watch(ctx, deps...).Err(); err != nil {
				return err
			}
		}
		if err := readValues(ctx, deps, vals, mget); err != nil {
			return err
		}
		w = s.planOrphans(cands, get, provider, opts.UserID, nil)
		if opts.DryRun || len(w.del)+len(w.set) == 0 {
			return nil
		}
		entry = s.auditEntry(store.AuditRevokeOrphans, "")
		var records []passkey.ExportRecord
		if (opts.Backup != nil || entry != nil) && len(w.auths) > 0 {
			var err error
			if records, err = s.recordsOf(ctx, w.auths, opts.Now); err != nil {
				return err
			}
			if opts.Backup != nil {
				if err := opts.Backup(records); err != nil {
					return err
				}
			}
		}
		entry.RecordOrphans(&w.res, records)
		return s.execAudited(ctx, tx, w.del, w.set, entry)
	}, first...)
	if err != nil {
		return nil, err
	}
	s.recorded(entry)
	res := w.res
	res.DryRun = opts.DryRun
	slices.SortFunc(res.Passkeys, func(a, b passkey.Passkey) int { return cmp2(a.UserID, a.CredentialID, b.UserID, b.CredentialID) })
	slices.SortFunc(res.Accounts, func(a, b store.Orphan) int { return cmp2(a.UserID, a.CredentialID, b.UserID, b.CredentialID) })
	slices.SortFunc(res.Entries, func(a, b store.DanglingEntry) int {
		return cmp2(a.UserID, a.Kind+"\x00"+a.CredentialID+a.Target, b.UserID, b.Kind+"\x00"+b.CredentialID+b.Target)
	})
	return &res, nil
}

func cmp2(a1, a2, b1, b2 string) int {
	if c := strings.Compare(a1, b1); c != 0 {
		return c
	}
	return strings.Compare(a2, b2)
}

// recordsOf are the export records, with revokedAt, of the passkeys about
// to be removed (revoked, or orphans cleaned up), as read under WATCH.
func (s *Store) recordsOf(ctx context.Context, auths []stored, clock func() time.Time) ([]passkey.ExportRecord, error) {
	es, err := s.entries(ctx, auths)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if clock != nil {
		now = clock
	}
	at := now().UTC().Format("2006-01-02T15:04:05.000Z07:00")
	records := make([]passkey.ExportRecord, len(es))
	for i, e := range es {
		records[i] = e.record()
		records[i].RevokedAt = &at
	}
	return records, nil
}
