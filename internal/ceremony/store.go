package ceremony

import (
	"context"
	"encoding/base64"
	"errors"
)

// Store is where the server reads and writes credentials. AppStore
// implements it over an app's store (store.Store, any backend), exactly as
// the app reads and writes them.
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

// App says, for the operator's messages, whose database a Store reads and
// writes: the app's name, the table of its passkeys and how it stores a
// credential ID, so that an ID in a message is one `passkeyctl list` shows
// and the SQL an operator runs finds.
type App struct {
	// Name is "Auth.js" or "Better Auth".
	Name string
	// Record names one stored passkey's place in messages: "row of table
	// Authenticator".
	Record string
	// DeviceTypeColumn is the column that stores singleDevice or
	// multiDevice.
	DeviceTypeColumn string
	// EncodeID writes a raw credential ID the way the app stores it.
	EncodeID func([]byte) string
}

// Describer is implemented by a Store that knows its app. The server takes
// a Store that does not for Auth.js's (AuthjsApp).
type Describer interface {
	Describe() App
}

// AuthjsApp is the App of Auth.js's Prisma schema: the Authenticator table,
// credential IDs in standard padded base64.
var AuthjsApp = App{Name: "Auth.js", Record: "row of table Authenticator", DeviceTypeColumn: "credentialDeviceType", EncodeID: base64.StdEncoding.EncodeToString}

// appOf is the store's App with AuthjsApp's values for what it leaves out.
func appOf(store Store) App {
	app := AuthjsApp
	d, ok := store.(Describer)
	if !ok {
		return app
	}
	got := d.Describe()
	if got.Name != "" {
		app.Name = got.Name
	}
	if got.Record != "" {
		app.Record = got.Record
	}
	if got.DeviceTypeColumn != "" {
		app.DeviceTypeColumn = got.DeviceTypeColumn
	}
	if got.EncodeID != nil {
		app.EncodeID = got.EncodeID
	}
	return app
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
