package redis

import (
	"context"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
)

// ListOptions exposes the listing's own options (Unordered) to the tests.
type ListOptions = listOptions

// ListWith is ListPasskeys with the listing's own options.
func (s *Store) ListWith(ctx context.Context, opts ListOptions, fn func(passkey.Passkey) error) error {
	return s.list(ctx, opts, func(e entry) error { return fn(e.p) })
}
