package ceremony

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// AppStore is the Store over an app's store (store.Store: Auth.js or
// Better Auth on SQL, Auth.js on Redis): it reads and writes exactly as
// the app does. This only adapts types and errors.
type AppStore struct {
	Store store.Store
	// ProviderID is the app's Passkey provider id, for messages.
	ProviderID string
	// PasskeyName names the passkey an enrolment stores (apps that store
	// a name); nil for none.
	PasskeyName *string
	// Now and Rand feed generated ids and timestamps.
	Now  func() time.Time
	Rand io.Reader
}

// CredentialIDs implements Store.
func (s *AppStore) CredentialIDs(ctx context.Context, userID string) ([][]byte, error) {
	return s.Store.UserCredentialIDs(ctx, userID)
}

// Save implements Store with one transaction (store.Store.CreatePasskey).
func (s *AppStore) Save(ctx context.Context, c NewCredential) error {
	opts := store.EnrollOptions{Now: s.Now, Rand: s.Rand}
	if c.User.Create {
		opts.CreateUser = &store.NewUser{ID: c.User.ID, Email: c.User.Email}
	}
	_, err := s.Store.CreatePasskey(ctx, store.NewPasskey{
		UserID:         c.User.ID,
		CredentialID:   c.ID,
		PublicKey:      c.PublicKey,
		Counter:        c.Counter,
		BackupEligible: c.BackupEligible,
		BackupState:    c.BackupState,
		Transports:     c.Transports,
		AAGUID:         c.AAGUID,
		Name:           s.PasskeyName,
	}, opts)
	if errors.Is(err, passkey.ErrNotFound) {
		return fmt.Errorf("the user was deleted during the ceremony: %w", err)
	}
	return storeErr(err)
}

// Find implements Store: the passkey the app finds by the raw ID, usable
// only when its status is ok (for Auth.js: its Account pairs with it).
func (s *AppStore) Find(ctx context.Context, rawID []byte) (StoredCredential, error) {
	p, err := s.Store.GetPasskey(ctx, rawID)
	if err != nil {
		return StoredCredential{}, storeErr(err)
	}
	switch p.Status {
	case passkey.StatusOK:
	case passkey.StatusNoAccount:
		return StoredCredential{}, fmt.Errorf("%w: passkey %s has no Account row with provider %q, so Auth.js cannot sign in with it (see: passkeyctl list)", ErrUnusable, p.CredentialID, s.ProviderID)
	case passkey.StatusAccountUserMismatch:
		return StoredCredential{}, fmt.Errorf("%w: the Account row of passkey %s belongs to another user than its Authenticator row (see: passkeyctl list)", ErrUnusable, p.CredentialID)
	default:
		return StoredCredential{}, fmt.Errorf("%w: passkey %s has status %s (see: passkeyctl list)", ErrUnusable, p.CredentialID, p.Status)
	}
	key, err := passkey.DecodeBase64(p.PublicKey)
	if err != nil {
		return StoredCredential{}, fmt.Errorf("%w: the public key of passkey %s is not base64", ErrUnusable, p.CredentialID)
	}
	if p.Counter < 0 || p.Counter > 0xffffffff {
		return StoredCredential{}, fmt.Errorf("%w: passkey %s has counter %d, outside the WebAuthn range", ErrUnusable, p.CredentialID, p.Counter)
	}
	return StoredCredential{
		ID:             rawID,
		UserID:         p.UserID,
		PublicKey:      key,
		Counter:        uint32(p.Counter),
		BackupEligible: p.CredentialDeviceType == "multiDevice",
		BackupState:    p.CredentialBackedUp,
	}, nil
}

// Describe implements Describer, from the store's description.
func (s *AppStore) Describe() App {
	d := s.Store.Describe()
	return App{Name: d.Name, Record: d.Record, DeviceTypeColumn: d.DeviceTypeField, EncodeID: d.EncodeID}
}

// UpdateCounter implements Store.
func (s *AppStore) UpdateCounter(ctx context.Context, rawID []byte, counter uint32) error {
	return storeErr(s.Store.UpdateCounter(ctx, rawID, counter))
}

// storeErr adds the ceremony's error kinds to the database's, keeping both
// for errors.Is (passkeyctl maps passkey.ErrSchemaNotReady to exit 4).
func storeErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, passkey.ErrNotFound):
		return kindError{ErrUnknownCredential, err}
	case errors.Is(err, passkey.ErrConflict):
		return kindError{ErrDuplicate, err}
	case errors.Is(err, passkey.ErrSchemaNotReady), errors.Is(err, passkey.ErrDrift):
		return kindError{ErrSchema, err}
	}
	return err
}

// kindError files err under a ceremony error kind without repeating the
// kind's text in the message.
type kindError struct{ kind, err error }

func (e kindError) Error() string   { return e.err.Error() }
func (e kindError) Unwrap() []error { return []error{e.kind, e.err} }
