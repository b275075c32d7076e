package redis

import (
	"context"
	"errors"
	"hash/maphash"
	"sync"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// Stats implements store.Store: one SCAN pass over the authenticator keys,
// each batch read with MGET (the passkeys, then their accounts and users)
// and counted before the next, and at the same time one SCAN pass over the
// provider's account keys for the orphans. Status is list's (no-user,
// no-account, account-user-mismatch, else ok) without the key check, as
// on SQL; the algorithm is named from the key's header, once per distinct
// header.
//
// Memory: the passkeys stream, two batches at a time. Counting users
// needs to know which have been seen: 8 bytes of hash (64-bit, seeded
// per run; a collision of two users among millions is about as likely as
// a cosmic-ray bit flip) and one byte of state per user with passkeys,
// about 40 bytes each with the map's overhead: 4 MB for 100,000 users.
// As with export, a key that SCAN returns twice while Redis rehashes is
// counted twice.
func (s *Store) Stats(ctx context.Context) (*store.Stats, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var orphans int64
	var orphansErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		if orphansErr = s.countOrphans(ctx, &orphans); orphansErr != nil {
			cancel()
		}
	})

	out := store.NewStats()
	seed := maphash.MakeSeed()
	users := map[uint64]userTally{}
	algs := map[string]string{}
	err := overlap(ctx, func(ctx context.Context, send func([]stored) error) error {
		return s.scan(ctx, s.L.matchPattern(s.L.AuthenticatorKeyPrefix), func(keys []string) error {
			auths, err := s.readAuthenticators(ctx, keys)
			if err != nil {
				return err
			}
			return send(auths)
		})
	}, func(auths []stored) error {
		es, err := s.entries(ctx, auths)
		if err != nil {
			return err
		}
		for _, e := range es {
			p := e.p
			header := p.PublicKey[:min(len(p.PublicKey), passkey.KeyHeaderChars)]
			alg, seen := algs[header]
			if !seen {
				alg = passkey.KeyHeaderAlgorithm(header)
				algs[header] = alg
			}
			status := p.Status
			if status == passkey.StatusBadPublicKey {
				status = passkey.StatusOK // structural: the key is list's to check
			}
			out.Add(store.StatsGroup{Status: status, Algorithm: alg, DeviceType: p.CredentialDeviceType, BackedUp: p.CredentialBackedUp, N: 1})
			h := maphash.String(seed, p.UserID)
			users[h] = users[h].add(p.CredentialDeviceType == store.DeviceSingle && !p.CredentialBackedUp)
		}
		return nil
	})
	if err != nil {
		cancel() // the orphans' count is of no use now
	}
	wg.Wait()
	if orphansErr != nil && (err == nil || errors.Is(err, context.Canceled)) {
		err = orphansErr // what cancelled the passkeys' pass
	}
	if err != nil {
		return nil, err
	}
	out.UsersWithPasskeys = int64(len(users))
	for _, u := range users {
		if u == tallyOneSingle {
			out.UsersSingleDeviceOnly++
		}
	}
	out.Orphans = orphans
	out.Finish()
	return out, nil
}

// userTally is what Stats keeps per user: whether the user has one passkey
// that is single-device and not backed up, one other passkey, or more.
type userTally uint8

const (
	tallyNone userTally = iota
	tallyOneSingle
	tallyOneOther
	tallyMore
)

// add is the tally after one more passkey.
func (u userTally) add(singleNotBackedUp bool) userTally {
	switch {
	case u != tallyNone:
		return tallyMore
	case singleNotBackedUp:
		return tallyOneSingle
	}
	return tallyOneOther
}

// countOrphans counts what ListOrphans lists, without holding the orphans:
// the provider's webauthn accounts whose authenticator key is gone.
func (s *Store) countOrphans(ctx context.Context, n *int64) error {
	return s.scan(ctx, s.L.matchPattern(s.L.AccountKeyPrefix+s.ProviderID+":"), func(keys []string) error {
		vals, ok, err := s.mget(ctx, keys)
		if err != nil {
			return err
		}
		var ids, authKeys []string
		for i := range keys {
			a, isAcct := parseAccount(vals[i])
			if !ok[i] || !isAcct || a.Type != "webauthn" || a.Provider != s.ProviderID {
				continue
			}
			ids = append(ids, a.ProviderAccountID)
			authKeys = append(authKeys, s.L.AuthenticatorKey(a.ProviderAccountID))
		}
		if len(authKeys) == 0 {
			return nil
		}
		auths, have, err := s.mget(ctx, authKeys)
		if err != nil {
			return err
		}
		for i, id := range ids {
			if v, isAuth := parseAuthenticator(auths[i]); !have[i] || !isAuth || v.CredentialID != id {
				*n++
			}
		}
		return nil
	})
}
