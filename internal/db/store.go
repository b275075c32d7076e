package db

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// Store is the store.Store of one app's tables in one SQL database: the
// detected Schema (whose app, Auth.js or Better Auth, detection chose once)
// and the Passkey provider id the app's webauthn accounts carry.
type Store struct {
	DB     *DB
	Schema *Schema
	// ProviderID is Account.provider of the app's Passkey provider.
	ProviderID string
}

var _ store.Store = (*Store)(nil)

// DetectForStore detects the schema for the store. The errors of the
// passkeyctl domain (both apps' tables without --schema, missing tables,
// drift) already say what to do and are returned as they are, so that
// every command prints the same line; anything else is a database
// failure, wrapped with d.Err, which keeps the password out of it.
func (d *DB) DetectForStore(ctx context.Context) (*Schema, error) {
	s, err := d.Detect(ctx)
	if err == nil {
		return s, nil
	}
	if isDomainError(err) {
		return nil, err
	}
	return nil, d.Err("detect schema", err)
}

// Describe implements store.Store.
func (st *Store) Describe() store.Description { return Describe(st.DB, st.Schema) }

// Describe is the description of s's app in d; of d alone when s is nil
// (migrate, before the app's tables exist).
func Describe(d *DB, s *Schema) store.Description {
	var desc store.Description
	if s != nil {
		desc = s.description()
	}
	desc.Location = d.Target.Redacted
	if d.Target.SearchPath != "" {
		desc.Scope = "PostgreSQL schema " + d.Target.SearchPath
	}
	return desc
}

// Ready implements store.Store.
func (st *Store) Ready(purpose store.Purpose) error { return st.Schema.ready(purpose) }

// FindUser implements store.Store.
func (st *Store) FindUser(ctx context.Context, ref string) (passkey.User, error) {
	return st.DB.FindUser(ctx, st.Schema, ref)
}

// NewUser implements store.Store.
func (st *Store) NewUser(email string, now time.Time, rand io.Reader) (passkey.User, error) {
	email = NewUserEmail(st.Schema, email)
	id, err := NewUserID(st.Schema, now, rand)
	if err != nil {
		return passkey.User{}, err
	}
	return passkey.User{ID: id, Email: &email}, nil
}

// CompleteUsers implements store.Store.
func (st *Store) CompleteUsers(ctx context.Context, prefix string, limit int) ([]string, error) {
	return st.DB.CompleteUsers(ctx, st.Schema, prefix, limit)
}

// CompleteCredentialIDs implements store.Store.
func (st *Store) CompleteCredentialIDs(ctx context.Context, prefix string, limit int) ([]string, error) {
	return st.DB.CompleteCredentialIDs(ctx, st.Schema, prefix, limit)
}

// ListPasskeys implements store.Store.
func (st *Store) ListPasskeys(ctx context.Context, opts store.ListOptions, fn func(passkey.Passkey) error) error {
	opts.ProviderID = st.ProviderID
	return st.DB.ListPasskeys(ctx, st.Schema, opts, fn)
}

// ListOrphans implements store.Store.
func (st *Store) ListOrphans(ctx context.Context, opts store.ListOptions, fn func(store.Orphan) error) error {
	opts.ProviderID = st.ProviderID
	return st.DB.ListOrphans(ctx, st.Schema, opts, fn)
}

// WrongProviderHint implements store.Store.
func (st *Store) WrongProviderHint(ctx context.Context, c *store.ProviderCheck) (string, error) {
	return st.DB.WrongProviderHint(ctx, st.Schema, c, st.ProviderID)
}

// GetPasskey implements store.Store.
func (st *Store) GetPasskey(ctx context.Context, rawID []byte) (passkey.Passkey, error) {
	return st.DB.GetPasskey(ctx, st.Schema, rawID, st.ProviderID)
}

// ResolveCredentials implements store.Store.
func (st *Store) ResolveCredentials(ctx context.Context, ids []string) ([]passkey.Passkey, error) {
	return st.DB.ResolveCredentials(ctx, st.Schema, ids, st.ProviderID)
}

// UserCredentialIDs implements store.Store.
func (st *Store) UserCredentialIDs(ctx context.Context, userID string) ([][]byte, error) {
	return st.DB.UserCredentialIDs(ctx, st.Schema, userID)
}

// Revoke implements store.Store.
func (st *Store) Revoke(ctx context.Context, passkeys []passkey.Passkey, opts store.RevokeOptions) (*store.RevokeResult, error) {
	opts.ProviderID = st.ProviderID
	return st.DB.Revoke(ctx, st.Schema, passkeys, opts)
}

// RevokeCredentials implements store.Store.
func (st *Store) RevokeCredentials(ctx context.Context, ids []string, opts store.RevokeOptions) (*store.RevokeResult, error) {
	opts.ProviderID = st.ProviderID
	return st.DB.RevokeCredentials(ctx, st.Schema, ids, opts)
}

// RemoveOrphans implements store.Store.
func (st *Store) RemoveOrphans(ctx context.Context, opts store.OrphanOptions) (*store.OrphanResult, error) {
	opts.ProviderID = st.ProviderID
	return st.DB.RemoveOrphans(ctx, st.Schema, opts)
}

// CheckEnroll implements store.Store.
func (st *Store) CheckEnroll(ctx context.Context, userID string, newUser bool) error {
	return st.DB.CheckEnroll(ctx, st.Schema, userID, newUser)
}

// CreatePasskey implements store.Store.
func (st *Store) CreatePasskey(ctx context.Context, p store.NewPasskey, opts store.EnrollOptions) (passkey.Passkey, error) {
	opts.ProviderID = st.ProviderID
	return st.DB.CreatePasskey(ctx, st.Schema, p, opts)
}

// UpdateCounter implements store.Store.
func (st *Store) UpdateCounter(ctx context.Context, rawID []byte, counter uint32) error {
	return st.DB.UpdateCounter(ctx, st.Schema, rawID, counter)
}

// Rename implements store.Store.
func (st *Store) Rename(ctx context.Context, rawID []byte, name string) (before, after passkey.Passkey, err error) {
	return st.Schema.app().rename(st.DB, ctx, st.Schema, rawID, name)
}

// Export implements store.Store.
func (st *Store) Export(ctx context.Context, opts store.ExportOptions, fn func(passkey.ExportRecord) error) error {
	opts.ProviderID = st.ProviderID
	return st.DB.ExportPasskeys(ctx, st.Schema, opts, fn)
}

// Import implements store.Store.
func (st *Store) Import(ctx context.Context, r io.Reader, opts store.ImportOptions) (*store.ImportResult, error) {
	opts.ProviderID = st.ProviderID
	return st.DB.Import(ctx, st.Schema, r, opts)
}

// Close implements store.Store.
func (st *Store) Close() error { return st.DB.Close() }

// description is what Describe says of the schema's app (see
// store.Description).
func (s *Schema) description() store.Description { return s.app().describe(s) }

// ready is Store.Ready: the passkey table exists and, to enrol, the
// users' table too.
func (s *Schema) ready(purpose store.Purpose) error { return s.app().ready(s, purpose) }

// isDomainError reports whether err is one of passkeyctl's own, whose
// message already says what to do.
func isDomainError(err error) bool {
	for _, domain := range []error{passkey.ErrInvalid, passkey.ErrRefused, passkey.ErrNotFound, passkey.ErrSchemaNotReady, passkey.ErrDrift, passkey.ErrConflict} {
		if errors.Is(err, domain) {
			return true
		}
	}
	return false
}

// AuditLog implements store.Store.
func (st *Store) AuditLog(ctx context.Context, f store.AuditFilter, fn func(store.AuditEntry) error) error {
	return st.DB.AuditLog(ctx, f, fn)
}
