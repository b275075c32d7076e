package store

import (
	"fmt"
	"io"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
)

// ListOptions selects the passkeys ListPasskeys returns.
type ListOptions struct {
	// ProviderID is Account.provider of the Auth.js Passkey provider.
	ProviderID string
	// UserID limits the listing to one user (compared byte-exactly); ""
	// lists everyone.
	UserID string
	// Limit caps the number of passkeys; 0 means no limit.
	Limit int
}

// Orphan is an Account row of type "webauthn" for the Passkey provider
// whose Authenticator row is missing: what Auth.js leaves behind when a
// registration fails half-way (it writes the two rows without a
// transaction). Auth.js cannot sign in with it. The JSON field names are a
// documented, stable interface.
type Orphan struct {
	// CredentialID is Account.providerAccountId, which Auth.js sets to the
	// credential ID.
	CredentialID string  `json:"credentialID"`
	UserID       string  `json:"userId"`
	Email        *string `json:"email"`
	Provider     string  `json:"provider"`
	// Status is always StatusNoAuthenticator, so that orphans and passkeys
	// can be told apart when their outputs are combined.
	Status string `json:"status"`
}

// ProviderCheck collects passkeys whose status is no-account, so that a
// wrong --provider-id can be told afterwards: when their "webauthn"
// Account rows exist under another provider, the app renamed its Passkey
// provider. revoke refuses then, export refuses, list says so. One batch
// of such passkeys is enough to tell.
type ProviderCheck struct {
	// Refs are the (userId, providerAccountId) pairs collected, at most
	// maxProviderRefs.
	Refs [][]string
}

// maxProviderRefs is how many passkeys a ProviderCheck keeps: one batch
// of lookups is enough to tell.
const maxProviderRefs = 500

func (c *ProviderCheck) add(userID, providerAccountID string) {
	if len(c.Refs) < maxProviderRefs {
		c.Refs = append(c.Refs, []string{userID, providerAccountID})
	}
}

// AddPasskey records p if its status is no-account.
func (c *ProviderCheck) AddPasskey(p passkey.Passkey) {
	if p.Status == passkey.StatusNoAccount {
		c.add(p.UserID, p.ProviderAccountID)
	}
}

// AddRecord records an Auth.js export record whose status is no-account;
// its Account row would hold the credential ID as Auth.js stores it.
func (c *ProviderCheck) AddRecord(r passkey.ExportRecord) {
	if r.Status != passkey.StatusNoAccount {
		return
	}
	if raw, err := passkey.DecodeBase64(r.CredentialID); err == nil && len(raw) > 0 {
		c.add(r.User.ID, passkey.AuthjsCredentialID(raw))
	}
}

// RevokeOptions tunes Revoke.
type RevokeOptions struct {
	// ProviderID is Account.provider of the Auth.js Passkey provider.
	ProviderID string
	// RevokeSessions also deletes the Session rows of every user whose
	// passkey is revoked (the database session strategy; JWT sessions live
	// in cookies and cannot be revoked server-side).
	RevokeSessions bool
	// DryRun runs every statement and rolls the transaction back, so the
	// result counts exactly what would be removed and nothing changes.
	DryRun bool
	// Backup, when set, receives the passkeys as export records (with
	// RevokedAt) inside the revoke's transaction: after every check that
	// can refuse the revoke and with the passkeys' rows locked, so the
	// records are exactly the rows that go, and before the removal
	// commits. It must have them safely stored when it returns (revoke
	// --backup syncs the file); an error rolls the revoke back. It may be
	// called again when the transaction is retried after a deadlock.
	Backup func([]passkey.ExportRecord) error
	// Now is the clock for RevokedAt; time.Now when nil.
	Now func() time.Time
}

// RevokeResult is what Revoke removed (or, for a dry run, would remove).
type RevokeResult struct {
	// Passkeys are the revoked passkeys as they were before revocation.
	Passkeys []passkey.Passkey `json:"passkeys"`
	// Accounts is how many Account rows were deleted. It is below
	// len(Passkeys) when a passkey had no Account, or its Account belonged
	// to another user and was left alone.
	Accounts int64 `json:"accounts"`
	// Sessions is how many Session rows were deleted.
	Sessions int64 `json:"sessions"`
	// Stranded are the users left with no passkey and no Account at all.
	Stranded []passkey.User `json:"stranded"`
	// DryRun is true when nothing was committed.
	DryRun bool `json:"dryRun"`
}

// NewPasskey is a verified new credential, to be stored exactly as the
// Auth.js Passkey provider stores it at registration.
type NewPasskey struct {
	// UserID is the owner's User.id.
	UserID string
	// CredentialID is the raw credential ID.
	CredentialID []byte
	// PublicKey is the credential's COSE_Key.
	PublicKey []byte
	// Counter is the signature counter the authenticator reported.
	Counter uint32
	// BackupEligible and BackupState are the BE and BS flags of the
	// registration's authenticator data.
	BackupEligible, BackupState bool
	// Transports are what the browser reported, in its order.
	Transports []string
	// Name is the passkey's name, for apps that store one
	// (Description.Named); nil for none.
	Name *string
	// AAGUID is the authenticator's AAGUID from the attested credential
	// data; Better Auth stores it, Auth.js does not.
	AAGUID []byte
}

// NewUser is a User row created in the same transaction as the passkey
// (serve --enroll --create-user).
type NewUser struct {
	// ID is the new User.id; see NewUserID.
	ID    string
	Email string
}

// EnrollOptions tunes CreatePasskey.
type EnrollOptions struct {
	// ProviderID is Account.provider: the Auth.js Passkey provider's id.
	ProviderID string
	// Now is the clock for createdAt/updatedAt; time.Now when nil.
	Now func() time.Time
	// Rand is the source of generated ids (a legacy Authenticator.id, the
	// MySQL docs schema's Account.id).
	Rand io.Reader
	// CreateUser, when set, is inserted before the passkey, in the same
	// transaction, so a failed enrolment leaves no user behind either.
	CreateUser *NewUser
}

// ConflictPolicy is what import does with a credential ID the target
// already holds.
type ConflictPolicy string

const (
	// ConflictFail stops the import; nothing is written.
	ConflictFail ConflictPolicy = "fail"
	// ConflictSkip keeps the target's row.
	ConflictSkip ConflictPolicy = "skip"
	// ConflictUpdate writes the record's flags (deviceType/backedUp) and
	// its counter, unless the target's is higher, into the target's row of
	// the same user.
	ConflictUpdate ConflictPolicy = "update"
)

// ParseConflictPolicy parses --on-conflict.
func ParseConflictPolicy(s string) (ConflictPolicy, error) {
	switch p := ConflictPolicy(s); p {
	case ConflictFail, ConflictSkip, ConflictUpdate:
		return p, nil
	}
	return "", fmt.Errorf("%w: --on-conflict %q: use fail, skip or update", passkey.ErrInvalid, s)
}

// ImportOptions tunes Import.
type ImportOptions struct {
	// ProviderID is Account.provider for an Auth.js target.
	ProviderID string
	// CreateUsers creates the users that are not in the target.
	CreateUsers bool
	// OnConflict is what to do with a credential ID already present.
	OnConflict ConflictPolicy
	// DryRun runs every statement of the real import and rolls the
	// transaction back: it fails exactly where the real import would (a
	// column too narrow, a unique index, a role that may only read), and
	// changes nothing.
	DryRun bool
	// BatchSize is how many passkeys one round of lookups and writes
	// handles; when 0, the store's own (the SQL store: 5,000 on
	// PostgreSQL, whose rows go through COPY, 500 elsewhere).
	BatchSize int
	// Now is the clock for createdAt/updatedAt; time.Now when nil.
	Now func() time.Time
	// Rand is the source of generated ids; crypto/rand when nil.
	Rand io.Reader
	// Warn receives one line per record left out (broken at the source,
	// or torn) and one about merged duplicates.
	Warn func(string)
	// Progress, when set, is told how many records have been read so far
	// (a terminal's progress line); it is called for every record.
	Progress func(read int)
}

// ImportResult says what Import wrote (or, with DryRun, would write). The
// JSON field names are a documented, stable interface.
type ImportResult struct {
	// App is the app the passkeys were imported into (Description.ID).
	App    string `json:"app"`
	DryRun bool   `json:"dryRun"`
	// Read counts the whole records read.
	Read     int `json:"read"`
	Inserted int `json:"inserted"`
	Updated  int `json:"updated"`
	// Skipped counts credentials already present and kept as they are:
	// with --on-conflict skip, or, whatever the policy, a revoke backup's
	// record (revokedAt) of a passkey the target still holds for the same
	// user.
	Skipped int `json:"skipped"`
	// Broken counts records left out because the passkey cannot sign in:
	// a status other than "ok" at the source, or a public key that is
	// empty or not base64.
	Broken int `json:"broken"`
	// Torn counts lines, or starts of lines, holding a record cut short
	// (a crash or a full disk while a backup was written): skipped.
	Torn int `json:"torn"`
	// Duplicates counts records of a credential that an earlier line
	// already holds: merged into it (the highest counter, the latest
	// flags), so each credential is imported once.
	Duplicates int `json:"duplicates"`
	// UsersMatched counts distinct input users found in the target.
	UsersMatched int `json:"usersMatched"`
	// UsersCreated lists the users created (--create-users).
	UsersCreated []ImportUser `json:"usersCreated"`
	// Unmatched lists input users not found in the target; Conflicts the
	// credentials already present. Either makes the import write nothing.
	Unmatched []ImportUser     `json:"unmatched"`
	Conflicts []ImportConflict `json:"conflicts"`
}

// ImportUser is an input user and what became of them.
type ImportUser struct {
	// Line is the first input line with this user.
	Line   int     `json:"line"`
	ID     string  `json:"id"`
	Email  *string `json:"email"`
	Reason string  `json:"reason,omitempty"`
	// TargetID is the id in the target (created users).
	TargetID string `json:"targetId,omitempty"`
}

// ImportConflict is a credential the target already holds.
type ImportConflict struct {
	Line         int    `json:"line"`
	CredentialID string `json:"credentialID"`
	Reason       string `json:"reason"`
}

// ExportOptions selects what ExportPasskeys reads.
type ExportOptions struct {
	// ProviderID is the Auth.js Account.provider of passkeys.
	ProviderID string
	// UserID limits the export to one user (compared exactly); "" exports
	// everyone.
	UserID string
	// CredentialIDs, when set, limits the export to these credentials
	// (raw IDs): what revoke --backup saves.
	CredentialIDs [][]byte
}

// OrphanOptions tunes RemoveOrphans.
type OrphanOptions struct {
	// ProviderID is Account.provider of the Auth.js Passkey provider; the
	// store sets it.
	ProviderID string
	// UserID limits the clean-up to what is left of one user (compared
	// byte-exactly, and possibly a user whose record is gone); "" is
	// everyone.
	UserID string
	// DryRun finds and deletes as the real run does and then rolls back
	// (SQL) or writes nothing (Redis): the result is what would go.
	DryRun bool
	// Backup, when set, receives the export records (with RevokedAt) of
	// the passkeys about to be removed, as RevokeOptions.Backup does;
	// orphan accounts and index entries hold no key and are not backed
	// up. It may be called again when the transaction is retried.
	Backup func([]passkey.ExportRecord) error
	// Now is the clock for RevokedAt; time.Now when nil.
	Now func() time.Time
}

// OrphanResult is what RemoveOrphans removed (or, for a dry run, would
// remove). The JSON field names are a documented, stable interface.
type OrphanResult struct {
	// Accounts are the webauthn accounts that had no passkey (status
	// no-authenticator, what ListOrphans lists), including those of the
	// passkeys removed below.
	Accounts []Orphan `json:"accounts"`
	// Passkeys are the passkeys whose user is gone, as they were before
	// removal; their Status says what else was wrong with them.
	Passkeys []passkey.Passkey `json:"passkeys"`
	// Entries are index entries that named nothing a sign-in can use
	// (Redis: a user's credential-ID list, an account pointer).
	Entries []DanglingEntry `json:"entries"`
	// DryRun is true when nothing was committed.
	DryRun bool `json:"dryRun"`
}

// Empty reports whether nothing was (or would be) removed.
func (r *OrphanResult) Empty() bool {
	return len(r.Accounts) == 0 && len(r.Passkeys) == 0 && len(r.Entries) == 0
}

// Kinds of DanglingEntry.
const (
	// EntryCredentialList is a credential ID in a user's list of
	// credential IDs (Redis authenticator:by-user-id:) whose passkey is
	// gone or is another user's.
	EntryCredentialList = "credential-list"
	// EntryAccountPointer is a user's pointer to their last linked account
	// (Redis user:account:by-user-id:) whose account is gone.
	EntryAccountPointer = "account-pointer"
)

// DanglingEntry is an index entry that names nothing usable.
type DanglingEntry struct {
	// Kind is EntryCredentialList or EntryAccountPointer.
	Kind   string `json:"kind"`
	UserID string `json:"userId"`
	// CredentialID is the listed ID (EntryCredentialList).
	CredentialID string `json:"credentialID,omitempty"`
	// Target is the key the pointer names (EntryAccountPointer).
	Target string `json:"target,omitempty"`
}
