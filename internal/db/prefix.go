package db

import (
	"context"
	"fmt"
	"strings"
)

// MinCredentialPrefix is the fewest characters of a credential ID that
// ResolveCredentials accepts as a prefix, git-style: with 8 base64
// characters (48 bits) two passkeys of one database share a prefix only
// by a rare accident, and then the ambiguity is listed and refused.
const MinCredentialPrefix = 8

// credentialPrefix reads id as the start of a credential ID as list shows
// it: the shortened form of a table on a terminal ("INbbybromzQQ…", the
// ellipsis included or "..." typed instead) or a plain prefix. explicit
// is true when the ellipsis says it is one; ok is false when id cannot be a
// prefix (too short, or a character no base64 alphabet has).
func credentialPrefix(id string) (prefix string, explicit, ok bool) {
	id = strings.TrimSpace(id)
	for _, e := range []string{"…", "..."} {
		if p, found := strings.CutSuffix(id, e); found {
			id, explicit = p, true
			break
		}
	}
	if len(id) < MinCredentialPrefix {
		return "", explicit, false
	}
	for _, c := range id {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune("+/-_=", c)) {
			return "", explicit, false
		}
	}
	return id, explicit, true
}

// storedPrefix is a prefix in the alphabet the app stores IDs in: base64
// and base64url differ only in two characters, one for one, so a prefix
// copied from a browser or a log finds the stored ID too.
func storedPrefix(app App, prefix string) string {
	if app == AppBetterAuth {
		return strings.NewReplacer("+", "-", "/", "_", "=", "").Replace(prefix)
	}
	return strings.NewReplacer("-", "+", "_", "/").Replace(prefix)
}

// maxPrefixMatches is how many IDs of an ambiguous prefix an error lists.
const maxPrefixMatches = 10

// resolvePrefix returns the one stored credential ID that starts with
// prefix, ErrNotFound when none does, and ErrInvalid listing them when
// several do.
func (d *DB) resolvePrefix(ctx context.Context, s *Schema, id, prefix string) (string, error) {
	want := storedPrefix(s.App, prefix)
	// LIKE may ignore case (SQLite, MySQL's *_ci collations): the exact
	// prefix test is made here, on a few more rows than can be listed.
	cands, err := d.CompleteCredentialIDs(ctx, s, want, 5*maxPrefixMatches)
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
		return "", ErrNotFound
	case len(hits) == 1:
		return hits[0], nil
	}
	more := ""
	if len(hits) > maxPrefixMatches {
		hits, more = hits[:maxPrefixMatches], ", ..."
	}
	return "", fmt.Errorf("%w: credential ID prefix %q matches %d passkeys (%s%s): give more characters", ErrInvalid, strings.TrimSpace(id), len(hits), strings.Join(hits, ", "), more)
}

// IsCredentialPrefix reports whether id can only be, or may be, the start
// of a credential ID that ResolveCredentials resolves: it ends with "…" (or
// "...") after at least MinCredentialPrefix base64 characters.
func IsCredentialPrefix(id string) bool {
	_, explicit, ok := credentialPrefix(id)
	return explicit && ok
}
