package redis

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
)

// Survey is what the database holds for passkeys, as Survey finds it: the
// basis for telling an operator that the DSN's layout sees nothing while
// the adapter's keys sit under another prefix.
type Survey struct {
	// Passkeys counts the authenticator keys this layout reads.
	Passkeys int
	// Elsewhere counts authenticator values under other stems (the stored
	// form of driver base + baseKeyPrefix + authenticatorKeyPrefix, without
	// the trailing ":"), e.g. "myapp:app2:authenticator" for an app with
	// base=myapp and baseKeyPrefix=app2:. Which part of a stem is the
	// driver's base and which the adapter's baseKeyPrefix cannot be told
	// from the authenticator keys alone.
	Elsewhere map[string]int
}

// Stems returns Elsewhere's stems, most passkeys first.
func (sv Survey) Stems() []string {
	out := make([]string, 0, len(sv.Elsewhere))
	for k := range sv.Elsewhere {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if sv.Elsewhere[out[i]] != sv.Elsewhere[out[j]] {
			return sv.Elsewhere[out[i]] > sv.Elsewhere[out[j]]
		}
		return out[i] < out[j]
	})
	return out
}

// Survey counts the passkeys the layout reads and finds authenticator
// values it does not read: one SCAN over the whole database with MATCH
// "*authenticator*" (the adapter's default item name, whatever the base
// and baseKeyPrefix; a custom authenticatorKeyPrefix elsewhere is not
// found), reading the matching keys' values with MGET. An authenticator
// value is recognised by its content (a JSON object with a credentialID)
// and its key must end with that credential's normalised ID.
func (s *Store) Survey(ctx context.Context) (Survey, error) {
	sv := Survey{Elsewhere: map[string]int{}}
	own := s.L.storageKey(s.L.BaseKeyPrefix + s.L.AuthenticatorKeyPrefix)
	pattern := "*authenticator*"
	if !strings.Contains(own, "authenticator") {
		// A custom prefix: count this layout's own keys as well.
		if err := s.scan(ctx, s.L.matchPattern(s.L.AuthenticatorKeyPrefix), func(keys []string) error {
			auths, err := s.readAuthenticators(ctx, keys)
			sv.Passkeys += len(auths)
			return err
		}); err != nil {
			return sv, err
		}
	}
	err := s.scan(ctx, pattern, func(keys []string) error {
		vals, ok, err := s.mget(ctx, keys)
		if err != nil {
			return err
		}
		for i, k := range keys {
			a, isAuth := parseAuthenticator(vals[i])
			if !ok[i] || !isAuth {
				continue
			}
			if s.L.AuthenticatorKey(a.CredentialID) == k {
				if strings.Contains(own, "authenticator") {
					sv.Passkeys++
				}
				continue
			}
			id := NormalizeKey(a.CredentialID)
			if id == "" || !strings.HasSuffix(k, id) {
				continue
			}
			stem := strings.TrimSuffix(k[:len(k)-len(id)], ":")
			if stem != own {
				sv.Elsewhere[stem]++
			}
		}
		return nil
	})
	return sv, err
}

// CheckLayout reports (ErrSchemaNotReady) a layout that reads no passkey
// while authenticator values sit under other stems: most likely a DSN
// without the app's base or baseKeyPrefix, under which listing shows
// nothing and an import or enrolment writes keys the app never reads; but
// also a new app beside others in one Redis, so callers warn rather than
// refuse. When the layout reads a passkey the check stops at the first
// one; only an empty layout pays for the Survey (one SCAN of the
// database).
func (s *Store) CheckLayout(ctx context.Context) error {
	found := false
	err := s.scan(ctx, s.L.matchPattern(s.L.AuthenticatorKeyPrefix), func(keys []string) error {
		auths, err := s.readAuthenticators(ctx, keys)
		if err != nil {
			return err
		}
		if len(auths) > 0 {
			found = true
			return errEnough
		}
		return nil
	})
	if err == errEnough {
		err = nil
	}
	if found || err != nil {
		return err
	}
	sv, err := s.Survey(ctx)
	if err != nil || len(sv.Elsewhere) == 0 {
		return err
	}
	own := strings.TrimSuffix(s.L.storageKey(s.L.BaseKeyPrefix+s.L.AuthenticatorKeyPrefix), ":")
	// The stems nearest the DSN's own come first (a right base with a
	// wrong baseKeyPrefix, say), then the ones with most passkeys: in a
	// Redis shared by several apps, those are the likely fix.
	stems := sv.Stems()
	slices.SortStableFunc(stems, func(a, b string) int { return commonPrefix(b, own) - commonPrefix(a, own) })
	var where []string
	for _, st := range stems[:min(len(stems), 3)] {
		where = append(where, fmt.Sprintf("%d under %s:*", sv.Elsewhere[st], st))
	}
	if len(stems) > 3 {
		where = append(where, fmt.Sprintf("and %d other prefixes", len(stems)-3))
	}
	item := ":" + strings.TrimSuffix(s.L.AuthenticatorKeyPrefix, ":")
	return fmt.Errorf("%w: no passkeys under %s:*, but %s: if these are the app's keys, give the DSN the app's unstorage base (?base=) and adapter baseKeyPrefix (?baseKeyPrefix=), which join to %q",
		passkey.ErrSchemaNotReady, own, strings.Join(where, ", "), strings.TrimSuffix(stems[0], item))
}

// commonPrefix is the length of the longest common prefix of a and b.
func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
