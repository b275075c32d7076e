package ceremony

import (
	"context"
	"errors"
)

// Store is where the server reads and writes credentials. DBStore
// implements it over passkeyctl's database layer, exactly as Auth.js reads
// and writes the Authenticator and Account tables.
type Store interface {
	// CredentialIDs returns the raw IDs of the user's passkeys: the
	// excludeCredentials of an enrolment, the allowCredentials of a test
	// limited to the user.
	CredentialIDs(ctx context.Context, userID string) ([][]byte, error)
	// Save stores a verified new credential (and the user, when
	// c.User.Create), all or nothing.
	Save(ctx context.Context, c NewCredential) error
	// Find returns the stored credential with this raw ID as the app
	// would find it at sign-in; an error wrapping ErrUnknownCredential
	// when the app would not find it.
	Find(ctx context.Context, rawID []byte) (StoredCredential, error)
	// UpdateCounter writes the signature counter after a successful
	// verification.
	UpdateCounter(ctx context.Context, rawID []byte, counter uint32) error
}

// NewCredential is a verified registration.
type NewCredential struct {
	User User
	// ID is the raw credential ID; PublicKey the COSE_Key.
	ID, PublicKey []byte
	Counter       uint32
	// BackupEligible and BackupState are the registration's BE and BS
	// flags.
	BackupEligible, BackupState bool
	// Transports as the browser reported them.
	Transports []string
	// AAGUID identifies the authenticator model (Better Auth stores it).
	AAGUID []byte
}

// StoredCredential is what verifying an assertion needs from the store.
type StoredCredential struct {
	ID []byte
	// UserID is the owner, as the app resolves it at sign-in.
	UserID    string
	PublicKey []byte
	Counter   uint32
	// BackupEligible and BackupState come from the stored row: Auth.js
	// keeps them as credentialDeviceType and credentialBackedUp.
	BackupEligible, BackupState bool
}

// Store errors the server turns into plain-language messages on the page.
var (
	// ErrUnknownCredential means the app would not find the credential.
	ErrUnknownCredential = errors.New("credential not registered")
	// ErrUnusable means the credential is stored but the app could not
	// sign in with it (e.g. its Account row is missing).
	ErrUnusable = errors.New("credential unusable")
	// ErrDuplicate means the credential is already registered.
	ErrDuplicate = errors.New("credential already registered")
	// ErrSchema means the database cannot hold the credential as the app
	// would write it; the wrapped error carries the fix.
	ErrSchema = errors.New("schema cannot hold the credential")
)
