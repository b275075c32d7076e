package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
)

// CredentialFinder is what ResolveCredentials needs from a backend: how
// the app writes a credential ID, and the lookups by stored ID and by
// prefix. Every backend's Store.ResolveCredentials is ResolveCredentials
// with its own finder, so that every form an operator may give an ID in
// means the same on every backend.
type CredentialFinder struct {
	// StoredID is a raw ID as the app stores it.
	StoredID func(raw []byte) string
	// StoredPrefix is a prefix in the alphabet the app stores IDs in
	// (base64 and base64url differ only in two characters, one for one,
	// so a prefix copied from a browser or a log finds the stored ID).
	StoredPrefix func(prefix string) string
	// Find calls fn with each passkey whose stored ID is in batch; it may
	// also return near matches (a case-insensitive collation): only the
	// exact one counts.
	Find func(ctx context.Context, batch []string, fn func(passkey.Passkey) error) error
	// BatchSize is how many IDs one Find covers (all at once when 0).
	BatchSize int
	// Parallel is how many Finds may run at once (one at a time when 0 or
	// 1); Find must then be safe for concurrent use. The batches are
	// independent reads: a backend whose each lookup waits on the disk
	// (InnoDB reads every page a statement misses synchronously, one after
	// the other) overlaps those waits on several connections.
	Parallel int
	// Refused reports whether a Find's error is the server refusing the
	// extra connection that reading in parallel asked for (a connection
	// limit on the login): that batch is then read again after the
	// others, one at a time. nil: every error is final.
	Refused func(error) bool
	// Duplicate is the error for a second passkey with the same stored ID;
	// nil keeps the last one read.
	Duplicate func(first, second passkey.Passkey) error
	// Complete returns up to limit stored IDs that start with prefix (it
	// may ignore case: the exact test is made here).
	Complete func(ctx context.Context, prefix string, limit int) ([]string, error)
}

// maxPrefixMatches is how many IDs of an ambiguous prefix an error lists.
const maxPrefixMatches = 10

// ResolveCredentials looks up every credential ID given, in any form
// passkey.CredentialIDCandidates accepts (standard base64, base64url,
// padded or not, hex) or as a unique prefix of at least
// passkey.MinCredentialPrefix characters (what list shows on a terminal,
// "…" included), and returns the matching passkeys in the order given, each
// once. Each ID is looked up in the form the app stores, byte-exactly. It
// is all or nothing: when any ID matches no passkey the error (ErrNotFound)
// names them and no passkey is returned; a malformed ID, or one whose
// base64 and hex readings both match a stored credential, is ErrInvalid.
func ResolveCredentials(ctx context.Context, f CredentialFinder, ids []string) ([]passkey.Passkey, error) {
	req, err := NewCredentialRequest(ids, f.StoredID)
	if err != nil {
		return nil, err
	}
	found := make(map[string]passkey.Passkey, len(ids))
	// Looked up in the reverse of revoke's lock order (the stored IDs'
	// byte order), so that the rows read last, which the server's cache
	// still holds, are the ones revoke locks first: read in the same order
	// as revoke's, each page had left the cache by the time revoke came
	// back to it when the lookup read more pages than the cache holds
	// (MariaDB's 128 MB default buffer pool against 5,000 passkeys spread
	// over a million).
	all := slices.Clone(req.Stored())
	slices.Reverse(all)
	batch := f.BatchSize
	if batch <= 0 {
		batch = max(len(all), 1)
	}
	// Each stored ID is in one batch only (all has no repeats), so the
	// batches' results never meet but in found, which mu guards.
	var mu sync.Mutex
	err = eachParallel(ctx, slices.Collect(slices.Chunk(all, batch)), f.Parallel, f.Refused, func(ctx context.Context, ids []string) error {
		return f.Find(ctx, ids, func(p passkey.Passkey) error {
			if !req.Has(p.CredentialID) {
				return nil
			}
			mu.Lock()
			defer mu.Unlock()
			if prev, dup := found[p.CredentialID]; dup && f.Duplicate != nil {
				return f.Duplicate(prev, p)
			}
			found[p.CredentialID] = p
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	hits, err := req.Resolve(func(stored string) bool { _, ok := found[stored]; return ok })
	if err != nil {
		return nil, err
	}
	var missing []string
	for i, id := range ids {
		if hits[i] != "" {
			continue
		}
		// Not a whole ID: perhaps the start of one, as list shows it.
		if prefix, _, ok := passkey.CredentialPrefix(id); ok {
			full, err := resolvePrefix(ctx, f, id, prefix)
			if err != nil && !errors.Is(err, passkey.ErrNotFound) {
				return nil, err
			}
			if err == nil {
				if err := f.Find(ctx, []string{full}, func(p passkey.Passkey) error {
					if p.CredentialID == full {
						found[full] = p
					}
					return nil
				}); err != nil {
					return nil, err
				}
				if _, ok := found[full]; ok {
					hits[i] = full
					continue
				}
			}
		}
		missing = append(missing, strings.TrimSpace(id))
	}
	if len(missing) > 0 {
		return nil, notFoundError(missing)
	}
	out := make([]passkey.Passkey, 0, len(hits))
	for _, h := range Distinct(hits) {
		out = append(out, found[h])
	}
	return out, nil
}

// CredentialRequest is the credential IDs an operator gave, read: every
// stored form each may denote (passkey.CredentialIDCandidates).
// ResolveCredentials looks them up and resolves what it found; a backend
// that looks them up inside a revoke's transaction (RevokeCredentials)
// does the same with the rows it locked.
type CredentialRequest struct {
	ids []string
	// cands are each ID's stored forms; none for a prefix ("INbbybro…").
	cands [][]string
	// stored are all of cands, distinct, in byte order.
	stored []string
	has    map[string]bool
	// settledBy lists, by stored ID, the IDs whose last stored form (in
	// byte order) it is (Unmatched).
	settledBy map[string][]int
	// prefixes counts the IDs given as a prefix only.
	prefixes int
}

// NewCredentialRequest reads ids, each as the app stores IDs (storedID):
// a malformed ID, or a prefix too short to be one, is ErrInvalid.
func NewCredentialRequest(ids []string, storedID func(raw []byte) string) (*CredentialRequest, error) {
	r := &CredentialRequest{ids: ids, cands: make([][]string, len(ids)), has: map[string]bool{}, settledBy: map[string][]int{}}
	for i, id := range ids {
		if _, explicit, ok := passkey.CredentialPrefix(id); explicit {
			if !ok {
				return nil, fmt.Errorf("%w: credential ID prefix %q: give at least %d characters of the ID before the \"…\"", passkey.ErrInvalid, strings.TrimSpace(id), passkey.MinCredentialPrefix)
			}
			r.prefixes++
			continue // "INbbybro…": only ever a prefix, resolved by ResolveCredentials
		}
		raws, err := passkey.CredentialIDCandidates(id)
		if err != nil {
			return nil, err
		}
		for _, raw := range raws {
			stored := storedID(raw)
			r.cands[i] = append(r.cands[i], stored)
			if !r.has[stored] {
				r.has[stored] = true
				r.stored = append(r.stored, stored)
			}
		}
	}
	slices.Sort(r.stored)
	for i, cands := range r.cands {
		if len(cands) > 0 {
			last := slices.Max(cands)
			r.settledBy[last] = append(r.settledBy[last], i)
		}
	}
	return r, nil
}

// Prefixes reports whether an ID was given as a prefix only ("…"), which
// no stored form stands for (ResolveCredentials resolves it).
func (r *CredentialRequest) Prefixes() bool { return r.prefixes > 0 }

// Unmatched reports, when the stored IDs of batch (a run of Stored) and
// every one before them have been looked up, whether an ID is left with
// none of its forms found (found reports which are): an ID whose last
// form is in batch is then settled, and this one can only be a prefix or
// unknown.
func (r *CredentialRequest) Unmatched(batch []string, found func(stored string) bool) bool {
	for _, last := range batch {
		for _, i := range r.settledBy[last] {
			if !slices.ContainsFunc(r.cands[i], found) {
				return true
			}
		}
	}
	return false
}

// Stored returns every stored ID the IDs may denote, each once, in byte
// order: revoke's lock order.
func (r *CredentialRequest) Stored() []string { return r.stored }

// Has reports whether stored is one of Stored.
func (r *CredentialRequest) Has(stored string) bool { return r.has[stored] }

// Resolve returns, for each ID in the order given, the stored ID found
// for it (found reports which are), or "" when none of its forms is (it
// may be a prefix, or unknown). An ID whose base64 and hex readings are
// both found is ErrInvalid.
func (r *CredentialRequest) Resolve(found func(stored string) bool) ([]string, error) {
	hits := make([]string, len(r.cands))
	for i, cands := range r.cands {
		for _, c := range cands {
			if !found(c) {
				continue
			}
			if hits[i] != "" {
				return nil, fmt.Errorf("%w: credential ID %q is ambiguous: as base64 it is %s, as hex %s; give it as stored, or prefix hex with \"hex:\"", passkey.ErrInvalid, strings.TrimSpace(r.ids[i]), hits[i], c)
			}
			hits[i] = c
		}
	}
	return hits, nil
}

// Distinct returns ss without repeats, in first-seen order.
func Distinct(ss []string) []string {
	seen := make(map[string]bool, len(ss))
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// resolvePrefix returns the one stored credential ID that starts with
// prefix, ErrNotFound when none does, and ErrInvalid listing them when
// several do.
func resolvePrefix(ctx context.Context, f CredentialFinder, id, prefix string) (string, error) {
	want := f.StoredPrefix(prefix)
	// Completion may ignore case (SQLite's and MySQL's collations): the
	// exact prefix test is made here, on a few more IDs than can be listed.
	cands, err := f.Complete(ctx, want, 5*maxPrefixMatches)
	if err != nil {
		return "", err
	}
	var hits []string
	for _, c := range cands {
		if strings.HasPrefix(c, want) {
			hits = append(hits, c)
		}
	}
	switch {
	case len(hits) == 0:
		return "", passkey.ErrNotFound
	case len(hits) == 1:
		return hits[0], nil
	}
	more := ""
	if len(hits) > maxPrefixMatches {
		hits, more = hits[:maxPrefixMatches], ", ..."
	}
	return "", fmt.Errorf("%w: credential ID prefix %q matches %d passkeys (%s%s): give more characters", passkey.ErrInvalid, strings.TrimSpace(id), len(hits), strings.Join(hits, ", "), more)
}

// notFoundError names the unknown IDs (the first few of a long list).
func notFoundError(missing []string) error {
	const show = 5
	if len(missing) == 1 {
		return fmt.Errorf("revoke %s: credential %w; nothing was revoked", missing[0], passkey.ErrNotFound)
	}
	list, more := missing, ""
	if len(list) > show {
		list, more = list[:show], fmt.Sprintf(" and %d more", len(missing)-show)
	}
	return fmt.Errorf("revoke: %d credential IDs %w: %s%s; nothing was revoked", len(missing), passkey.ErrNotFound, strings.Join(list, ", "), more)
}

// eachParallel calls fn with each batch, up to parallel calls at once (one
// at a time when parallel <= 1), and returns the first error; after an
// error no further batch starts, and the context of the calls still
// running is cancelled. A batch whose error refused says is a refused
// connection (nil: none is) cancels nothing: it runs again once the others
// are done, one at a time, on the connections they leave.
func eachParallel[T any](ctx context.Context, batches []T, parallel int, refused func(error) bool, fn func(context.Context, T) error) error {
	if parallel <= 1 || len(batches) <= 1 {
		for _, b := range batches {
			if err := fn(ctx, b); err != nil {
				return err
			}
		}
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	var again []T
	next := make(chan T)
	for range min(parallel, len(batches)) {
		wg.Go(func() {
			for b := range next {
				err := fn(ctx, b)
				mu.Lock()
				switch {
				case err == nil:
				case refused != nil && refused(err):
					again = append(again, b)
				case first == nil:
					first = err
					cancel()
				}
				mu.Unlock()
			}
		})
	}
feed:
	for _, b := range batches {
		select {
		case next <- b:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	if first != nil {
		return first
	}
	return eachParallel(ctx, again, 1, nil, fn)
}
