package db

import (
	"context"
	"fmt"
	"strings"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
)

// maxPrefixMatches is how many IDs of an ambiguous prefix an error lists.
const maxPrefixMatches = 10

// resolvePrefix returns the one stored credential ID that starts with
// prefix, ErrNotFound when none does, and ErrInvalid listing them when
// several do.
func (d *DB) resolvePrefix(ctx context.Context, s *Schema, id, prefix string) (string, error) {
	// base64 and base64url differ only in two characters, one for one, so
	// a prefix copied from a browser or a log finds the stored ID too.
	want := s.app().storedPrefix(prefix)
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
