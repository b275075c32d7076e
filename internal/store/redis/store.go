package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
	goredis "github.com/redis/go-redis/v9"
)

// Store reads and writes one Auth.js app's passkeys in Redis, in the
// adapter's layout. It is safe for concurrent use.
type Store struct {
	c *goredis.Client
	// L is the app's key layout.
	L Layout
	// ProviderID is the Passkey provider's id: the "provider" of the
	// webauthn accounts (DefaultProviderID unless the app renamed it).
	ProviderID string
	// target is where the store is (Describe).
	target Target
	// audit is Options.Audit.
	audit *store.AuditContext
	// stopInterrupt unregisters Options.Interrupt's watch.
	stopInterrupt func() bool
}

// Close closes the connections.
func (s *Store) Close() error {
	if s.stopInterrupt != nil {
		s.stopInterrupt()
	}
	return s.c.Close()
}

// scanCount is the COUNT hint of every SCAN, and batchSize how many keys
// one MGET reads: together they bound what a listing holds at once.
const (
	scanCount = 1000
	batchSize = 500
)

func (s *Store) err(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("redis: %s: %w", op, err)
}

// mget returns the values of keys ("" and false where a key is absent or
// not a string).
func (s *Store) mget(ctx context.Context, keys []string) ([]string, []bool, error) {
	vals := make([]string, len(keys))
	ok := make([]bool, len(keys))
	for start := 0; start < len(keys); start += batchSize {
		end := min(start+batchSize, len(keys))
		res, err := s.c.MGet(ctx, keys[start:end]...).Result()
		if err != nil {
			return nil, nil, s.err("MGET", err)
		}
		for i, v := range res {
			if str, isStr := v.(string); isStr {
				vals[start+i], ok[start+i] = str, true
			}
		}
	}
	return vals, ok, nil
}

// scan calls fn with each batch of keys matching pattern. SCAN may return
// a key more than once while the keyspace is rehashing; callers that must
// not see a passkey twice deduplicate per batch where it matters.
func (s *Store) scan(ctx context.Context, pattern string, fn func(keys []string) error) error {
	var cursor uint64
	for {
		keys, next, err := s.c.Scan(ctx, cursor, pattern, scanCount).Result()
		if err != nil {
			return s.err("SCAN "+pattern, err)
		}
		if len(keys) > 0 {
			if err := fn(keys); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// stored is one authenticator value read from Redis, with its key.
type stored struct {
	key string
	raw string
	a   authenticatorValue
}

// readAuthenticators reads the authenticator values under keys (absent
// keys and values that are no authenticator of that key are left out: a
// key whose value names a credential that maps to another key is not this
// credential's).
func (s *Store) readAuthenticators(ctx context.Context, keys []string) ([]stored, error) {
	vals, ok, err := s.mget(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make([]stored, 0, len(keys))
	for i, k := range keys {
		if !ok[i] {
			continue
		}
		a, isAuth := parseAuthenticator(vals[i])
		if !isAuth || s.L.AuthenticatorKey(a.CredentialID) != k {
			continue
		}
		out = append(out, stored{key: k, raw: vals[i], a: a})
	}
	return out, nil
}

// entry is a passkey as list shows it, with what export needs besides.
type entry struct {
	p passkey.Passkey
	// user is the owner's value; nil when the user key is gone.
	user *userValue
	// transportsNull is true when the value has no transports (the
	// adapter leaves the field out when there are none).
	transportsNull bool
}

// passkeys is entries without the extras.
func (s *Store) passkeys(ctx context.Context, auths []stored) ([]passkey.Passkey, error) {
	es, err := s.entries(ctx, auths)
	if err != nil {
		return nil, err
	}
	out := make([]passkey.Passkey, len(es))
	for i, e := range es {
		out[i] = e.p
	}
	return out, nil
}

// entries turns authenticator values into passkeys with Email, Algorithm
// and Status, reading their accounts and users in one MGET.
func (s *Store) entries(ctx context.Context, auths []stored) ([]entry, error) {
	if len(auths) == 0 {
		return nil, nil
	}
	keys := make([]string, 0, 2*len(auths))
	for _, st := range auths {
		keys = append(keys, s.L.AccountKey(s.ProviderID, st.a.accountID()), s.L.UserKey(st.a.UserID))
	}
	vals, ok, err := s.mget(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make([]entry, len(auths))
	for i, st := range auths {
		var acct *accountValue
		if ok[2*i] {
			if a, isAcct := parseAccount(vals[2*i]); isAcct {
				acct = &a
			}
		}
		var user *userValue
		if ok[2*i+1] {
			if u, isUser := parseUser(vals[2*i+1]); isUser && u.ID == st.a.UserID {
				user = &u
			}
		}
		out[i] = entry{p: s.passkey(st.a, acct, user), user: user, transportsNull: st.a.Transports == nil}
	}
	return out, nil
}

// accountID is the providerAccountId Auth.js looks the account up by.
func (a authenticatorValue) accountID() string {
	if a.ProviderAccountID != "" {
		return a.ProviderAccountID
	}
	return a.CredentialID
}

// passkey is the Passkey as list shows it. Status, in order: no-user (the
// user key is gone: Auth.js finds no user to sign in), no-account (no
// webauthn account of this credential under its key: getUserByAccount
// fails), account-user-mismatch (the account is another user's),
// bad-public-key (the COSE key does not decode), else ok.
func (s *Store) passkey(a authenticatorValue, acct *accountValue, user *userValue) passkey.Passkey {
	p := passkey.Passkey{
		CredentialID:         a.CredentialID,
		UserID:               a.UserID,
		Counter:              a.counter(),
		CredentialDeviceType: a.CredentialDeviceType,
		CredentialBackedUp:   a.backedUp(),
		Transports:           []string{},
		PublicKey:            a.CredentialPublicKey,
		ProviderAccountID:    a.ProviderAccountID,
	}
	if a.Transports != nil {
		p.Transports = passkey.SplitTransports(*a.Transports)
	}
	if user != nil {
		p.Email = user.Email
	}
	alg, algErr := passkey.KeyAlgorithm(a.CredentialPublicKey)
	if algErr != nil {
		alg = "unknown"
	}
	p.Algorithm = alg
	// Keys are normalised, so the account under this credential's key may
	// be another credential's: only one naming this credential counts.
	ownAccount := acct != nil && acct.ProviderAccountID == a.accountID() && acct.Provider == s.ProviderID
	switch {
	case user == nil:
		p.Status = passkey.StatusNoUser
	case !ownAccount:
		p.Status = passkey.StatusNoAccount
	case acct.UserID != a.UserID:
		p.Status = passkey.StatusAccountUserMismatch
	case algErr != nil:
		p.Status = passkey.StatusBadPublicKey
	default:
		p.Status = passkey.StatusOK
	}
	return p
}

// FindUser resolves a user reference as the SQL store's FindUser does for
// Auth.js: a user id or an e-mail matched exactly (both tested; a
// reference that is one user's id and another's e-mail is ambiguous), and
// only when neither matches, an e-mail matched case-insensitively. No
// match is passkey.ErrNotFound; several is passkey.ErrInvalid listing them.
//
// The exact tests are two GETs (user:{ref}, and user:email:{ref} then the
// user it names, whose stored e-mail must equal ref: e-mail keys are
// normalised, so "a?b@x.io" and "a?c@y.io" share one). The
// case-insensitive fallback SCANs the e-mail keys with MATCH on their
// common prefix, compares each key with ref's key case-insensitively
// (normalisation does not touch letters) and reads only the candidates:
// its cost is one pass over the whole keyspace (SCAN visits every key of
// the database, MATCH filters on the server), about 1 s per 1,000,000
// keys, and is paid only when the exact tests fail.
func (s *Store) FindUser(ctx context.Context, ref string) (passkey.User, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return passkey.User{}, fmt.Errorf("%w: empty user", passkey.ErrInvalid)
	}
	users, err := s.exactUsers(ctx, ref)
	if err != nil {
		return passkey.User{}, err
	}
	if len(users) == 0 {
		if users, err = s.foldedEmailUsers(ctx, ref); err != nil {
			return passkey.User{}, err
		}
	}
	return passkey.OneUser(ref, users)
}

// exactUsers are the users whose id is ref or whose stored e-mail is
// exactly ref.
func (s *Store) exactUsers(ctx context.Context, ref string) ([]passkey.User, error) {
	vals, ok, err := s.mget(ctx, []string{s.L.UserKey(ref), s.L.EmailKey(ref)})
	if err != nil {
		return nil, err
	}
	var out []passkey.User
	if ok[0] {
		if u, isUser := parseUser(vals[0]); isUser && u.ID == ref {
			out = append(out, u.user())
		}
	}
	if ok[1] {
		u, found, err := s.getUser(ctx, vals[1])
		if err != nil {
			return nil, err
		}
		if found && u.Email != nil && *u.Email == ref && (len(out) == 0 || out[0].ID != u.ID) {
			out = append(out, u)
		}
	}
	return out, nil
}

// getUser reads user id.
func (s *Store) getUser(ctx context.Context, id string) (passkey.User, bool, error) {
	v, err := s.c.Get(ctx, s.L.UserKey(id)).Result()
	if errors.Is(err, goredis.Nil) {
		return passkey.User{}, false, nil
	}
	if err != nil {
		return passkey.User{}, false, s.err("GET user", err)
	}
	u, ok := parseUser(v)
	if !ok || u.ID != id {
		return passkey.User{}, false, nil
	}
	return u.user(), true, nil
}

// maxUsersListed caps the users an ambiguity error lists.
const maxUsersListed = 20

// foldedEmailUsers are the users whose stored e-mail equals ref ignoring
// case, found through the e-mail keys.
func (s *Store) foldedEmailUsers(ctx context.Context, ref string) ([]passkey.User, error) {
	want := s.L.EmailKey(ref)
	var cands []string
	err := s.scan(ctx, s.L.matchPattern(s.L.EmailKeyPrefix), func(keys []string) error {
		for _, k := range keys {
			if strings.EqualFold(k, want) && !slices.Contains(cands, k) {
				cands = append(cands, k)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.usersOfEmailKeys(ctx, cands, ref)
}

// usersOfEmailKeys are the users the e-mail keys cands point at whose
// stored e-mail equals email ignoring case (keys are normalised, values
// are not), each once, ordered by id, at most maxUsersListed+1.
func (s *Store) usersOfEmailKeys(ctx context.Context, cands []string, email string) ([]passkey.User, error) {
	if len(cands) == 0 {
		return nil, nil
	}
	ids, ok, err := s.mget(ctx, cands)
	if err != nil {
		return nil, err
	}
	var out []passkey.User
	seen := map[string]bool{}
	for i := range cands {
		if !ok[i] || seen[ids[i]] {
			continue
		}
		seen[ids[i]] = true
		u, found, err := s.getUser(ctx, ids[i])
		if err != nil {
			return nil, err
		}
		if found && u.Email != nil && strings.EqualFold(*u.Email, email) {
			out = append(out, u)
			if len(out) > maxUsersListed {
				break
			}
		}
	}
	slices.SortFunc(out, func(a, b passkey.User) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// GetPasskey returns the passkey whose credential ID is raw, with Email,
// Algorithm and Status. passkey.ErrNotFound when its key is absent or holds
// another credential (two IDs whose keys normalise alike).
func (s *Store) GetPasskey(ctx context.Context, raw []byte) (passkey.Passkey, error) {
	credID := passkey.AuthjsCredentialID(raw)
	auths, err := s.readAuthenticators(ctx, []string{s.L.AuthenticatorKey(credID)})
	if err != nil {
		return passkey.Passkey{}, err
	}
	if len(auths) == 0 || auths[0].a.CredentialID != credID {
		return passkey.Passkey{}, fmt.Errorf("credential %s: %w", credID, passkey.ErrNotFound)
	}
	ps, err := s.passkeys(ctx, auths)
	if err != nil {
		return passkey.Passkey{}, err
	}
	return ps[0], nil
}

// ResolveCredentials implements store.Store with store.ResolveCredentials:
// every ID form, prefixes included, means what it means on SQL. A key only
// counts when its value names the credential exactly (keys are normalised;
// values are not).
func (s *Store) ResolveCredentials(ctx context.Context, ids []string) ([]passkey.Passkey, error) {
	return store.ResolveCredentials(ctx, store.CredentialFinder{
		StoredID:     passkey.AuthjsCredentialID,
		StoredPrefix: passkey.StandardBase64Prefix,
		Find: func(ctx context.Context, batch []string, fn func(passkey.Passkey) error) error {
			keys := make([]string, len(batch))
			for i, id := range batch {
				keys[i] = s.L.AuthenticatorKey(id)
			}
			auths, err := s.readAuthenticators(ctx, keys)
			if err != nil {
				return err
			}
			ps, err := s.passkeys(ctx, auths)
			if err != nil {
				return err
			}
			for _, p := range ps {
				if err := fn(p); err != nil {
					return err
				}
			}
			return nil
		},
		BatchSize: batchSize,
		Complete:  s.CompleteCredentialIDs,
	}, ids)
}

// UserCredentialIDs returns the raw credential IDs to exclude when user
// userID registers another passkey: the IDs of the user's list (what the
// adapter's listAuthenticatorsByUserId reads), each once, in the list's
// order, kept only when the authenticator value under its key names that
// credential and that user. An ID in the list whose passkey is gone or
// belongs to someone else is dropped.
func (s *Store) UserCredentialIDs(ctx context.Context, userID string) ([][]byte, error) {
	v, err := s.c.Get(ctx, s.L.AuthenticatorListKey(userID)).Result()
	if errors.Is(err, goredis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, s.err("GET credential list", err)
	}
	var ids, keys []string
	seen := map[string]bool{}
	for _, id := range parseList(v) {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
			keys = append(keys, s.L.AuthenticatorKey(id))
		}
	}
	auths, err := s.readAuthenticators(ctx, keys)
	if err != nil {
		return nil, err
	}
	valid := map[string]bool{}
	for _, st := range auths {
		if st.a.UserID == userID {
			valid[st.a.CredentialID] = true
		}
	}
	var out [][]byte
	for _, id := range ids {
		if !valid[id] {
			continue
		}
		raw, err := passkey.DecodeBase64(id)
		if err != nil || len(raw) == 0 {
			continue
		}
		out = append(out, raw)
	}
	return out, nil
}
