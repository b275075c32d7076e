package main

import (
	"context"
	"errors"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
)

// detectSchema detects the app's tables once for a command. The errors
// of the passkeyctl domain (both apps' tables without --schema, missing
// tables, drift) already say what to do and are returned as they are, so
// that every command prints the same line; anything else is a database
// failure, wrapped with d.Err, which keeps the password out of it.
func detectSchema(ctx context.Context, d *db.DB) (*db.Schema, error) {
	s, err := d.Detect(ctx)
	if err == nil {
		return s, nil
	}
	for _, domain := range []error{passkey.ErrInvalid, passkey.ErrRefused, passkey.ErrNotFound, passkey.ErrSchemaNotReady, passkey.ErrDrift, passkey.ErrConflict} {
		if errors.Is(err, domain) {
			return nil, err
		}
	}
	return nil, d.Err("detect schema", err)
}

// openSchema opens the configured database and detects its schema: the
// first step of every command that reads or writes passkeys.
func openSchema(ctx context.Context, open func(context.Context, db.OpenOptions) (*db.DB, error)) (*db.DB, *db.Schema, error) {
	d, err := open(ctx, db.OpenOptions{})
	if err != nil {
		return nil, nil, err
	}
	s, err := detectSchema(ctx, d)
	if err != nil {
		return nil, nil, err
	}
	return d, s, nil
}
