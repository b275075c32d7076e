package redis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// listOptions selects the passkeys list returns.
type listOptions struct {
	// UserID limits the listing to one user (compared byte-exactly); ""
	// lists everyone.
	UserID string
	// Limit caps the number of passkeys; 0 means no limit.
	Limit int
	// Unordered streams the passkeys in SCAN order instead of by user and
	// credential ID, holding a few batches at a time (see ListPasskeys).
	Unordered bool
}

// ListPasskeys calls fn for each passkey (every authenticator key whose
// value names the credential that maps to that key), with Email,
// Algorithm and Status filled, ordered as every store lists them: by
// user ID, then credential ID (bytewise). fn's error stops the listing
// and is returned as is. Keys are found with SCAN (never KEYS) over the
// authenticator prefix and read with pipelined MGETs of batchSize keys.
//
// Ordering without loading the passkeys: a first pass keeps only each
// passkey's (user ID, credential ID) in one byte arena (8 bytes of offsets
// plus the two IDs: about 90 bytes per passkey with UUID user IDs, 1.8 MB
// for 20,000 and 90 MB for 1,000,000), sorts and deduplicates them (SCAN
// may return a key twice); a second pass reads the passkeys again in that
// order, batchSize at a time, with their accounts and users. A passkey
// revoked between the passes is left out; one changed is shown as it is
// in the second pass. With listOptions.Unordered (Export) the first pass is skipped and memory
// stays flat at three batches (one being read, one queued, one handed
// out), but the order is SCAN's and a key SCAN returns twice (during a
// rehash) is listed twice.
//
// A user's listing (UserID) scans all authenticator keys as well, rather
// than trusting the user's credential-ID list: the adapter finds a
// passkey for sign-in by its key alone, so one missing from the list
// (written by an older adapter, or by a half-done write) still signs in,
// and an operator listing or revoking the user's passkeys must see it.
func (s *Store) ListPasskeys(ctx context.Context, opts store.ListOptions, fn func(passkey.Passkey) error) error {
	return s.list(ctx, listOptions{UserID: opts.UserID, Limit: opts.Limit}, func(e entry) error { return fn(e.p) })
}

// list is ListPasskeys giving entries.
func (s *Store) list(ctx context.Context, opts listOptions, fn func(entry) error) error {
	if opts.Limit < 0 {
		return fmt.Errorf("%w: negative limit %d", passkey.ErrInvalid, opts.Limit)
	}
	pattern := s.L.matchPattern(s.L.AuthenticatorKeyPrefix)
	// Reading (SCAN, MGET) runs on one goroutine while the decoding of
	// accounts and users and fn run on the caller's: the round trips
	// overlap with the work, and at most three batches are held.
	n := 0
	emit := func(auths []stored) error {
		es, err := s.entries(ctx, auths)
		if err != nil {
			return err
		}
		for _, e := range es {
			if opts.Limit > 0 && n >= opts.Limit {
				return errLimit
			}
			n++
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	}
	if opts.Unordered {
		err := overlap(ctx, func(ctx context.Context, send func([]stored) error) error {
			return s.scan(ctx, pattern, func(keys []string) error {
				auths, err := s.readAuthenticators(ctx, keys)
				if err != nil {
					return err
				}
				return send(filterUser(auths, opts.UserID))
			})
		}, emit)
		if err == errLimit {
			return nil
		}
		return err
	}

	var idx pairIndex
	err := s.scan(ctx, pattern, func(keys []string) error {
		auths, err := s.readAuthenticators(ctx, keys)
		if err != nil {
			return err
		}
		for _, st := range filterUser(auths, opts.UserID) {
			if err := idx.add(st.a.UserID, st.a.CredentialID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	idx.sortUnique()
	total := idx.len()
	if opts.Limit > 0 && opts.Limit < total {
		total = opts.Limit
	}
	err = overlap(ctx, func(ctx context.Context, send func([]stored) error) error {
		for start := 0; start < total; start += batchSize {
			end := min(start+batchSize, total)
			keys := make([]string, 0, end-start)
			for i := start; i < end; i++ {
				keys = append(keys, s.L.AuthenticatorKey(idx.cred(i)))
			}
			auths, err := s.readAuthenticators(ctx, keys)
			if err != nil {
				return err
			}
			if err := send(filterUser(auths, opts.UserID)); err != nil {
				return err
			}
		}
		return nil
	}, emit)
	if err == errLimit {
		return nil
	}
	return err
}

// errLimit stops a listing at its limit.
var errLimit = errors.New("limit reached")

// overlap runs produce on its own goroutine and consume on the caller's
// for each batch produce sends, with two batches in flight at most. The
// first error of either stops both and is returned.
func overlap(ctx context.Context, produce func(ctx context.Context, send func([]stored) error) error, consume func([]stored) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []stored, 1)
	produced := make(chan error, 1)
	go func() {
		defer close(batches)
		produced <- produce(ctx, func(b []stored) error {
			select {
			case batches <- b:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	for b := range batches {
		if err := consume(b); err != nil {
			cancel()
			for range batches {
				// Let the producer see the cancellation and finish.
			}
			<-produced
			return err
		}
	}
	return <-produced
}

func filterUser(auths []stored, userID string) []stored {
	if userID == "" {
		return auths
	}
	out := auths[:0]
	for _, st := range auths {
		if st.a.UserID == userID {
			out = append(out, st)
		}
	}
	return out
}

// pairIndex holds (user ID, credential ID) pairs compactly: both strings
// back to back in one arena, and 8 bytes of offsets per pair.
type pairIndex struct {
	buf  []byte
	ents []pairEnt
}

type pairEnt struct {
	off        uint32
	ulen, clen uint16
}

func (x *pairIndex) add(userID, credID string) error {
	if len(userID) > 0xffff || len(credID) > 0xffff || len(x.buf)+len(userID)+len(credID) > 0xffffffff {
		return fmt.Errorf("%w: user %q or credential ID too long to list", passkey.ErrInvalid, userID)
	}
	x.ents = append(x.ents, pairEnt{off: uint32(len(x.buf)), ulen: uint16(len(userID)), clen: uint16(len(credID))})
	x.buf = append(x.buf, userID...)
	x.buf = append(x.buf, credID...)
	return nil
}

func (x *pairIndex) len() int { return len(x.ents) }

func (x *pairIndex) userBytes(e pairEnt) []byte { return x.buf[e.off : e.off+uint32(e.ulen)] }

func (x *pairIndex) credBytes(e pairEnt) []byte {
	start := e.off + uint32(e.ulen)
	return x.buf[start : start+uint32(e.clen)]
}

func (x *pairIndex) cred(i int) string { return string(x.credBytes(x.ents[i])) }

func (x *pairIndex) compare(a, b pairEnt) int {
	if c := bytes.Compare(x.userBytes(a), x.userBytes(b)); c != 0 {
		return c
	}
	return bytes.Compare(x.credBytes(a), x.credBytes(b))
}

// sortUnique sorts the pairs and drops repeats (a key SCAN returned twice).
func (x *pairIndex) sortUnique() {
	slices.SortFunc(x.ents, x.compare)
	x.ents = slices.CompactFunc(x.ents, func(a, b pairEnt) bool { return x.compare(a, b) == 0 })
}
