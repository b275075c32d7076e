// Package passkey holds passkeyctl's domain values, which know no SQL and
// no backend: a passkey and its status, its owner, the forms a credential
// ID is written in, the COSE key checks, the export format, and the errors
// every layer returns.
package passkey

import (
	"errors"
	"fmt"
)

// Domain errors. Callers test them with errors.Is; every wrap adds the
// context a user needs ("revoke INbb...: credential not found").
var (
	// ErrNotFound means a user or credential does not exist.
	ErrNotFound = errors.New("not found")
	// ErrSchemaNotReady means the Auth.js tables or the Authenticator
	// migration are missing, pending or drifted.
	ErrSchemaNotReady = errors.New("schema not ready")
	// ErrDrift means a table exists but differs from every known variant.
	ErrDrift = errors.New("schema drift")
	// ErrLocked means the migration lock could not be taken in time.
	ErrLocked = errors.New("migration lock not acquired")
	// ErrConflict means a write would duplicate an existing row.
	ErrConflict = errors.New("conflict")
	// ErrInvalid means the caller passed a value the operation cannot use
	// (a malformed DSN, credential ID or user reference).
	ErrInvalid = errors.New("invalid input")
	// ErrNoPasskeyName is the ErrInvalid of naming a passkey in an app that
	// stores no passkey name (Auth.js).
	ErrNoPasskeyName = fmt.Errorf("%w: the app stores no passkey name (Better Auth does; Auth.js does not)", ErrInvalid)
	// ErrRefused means the operation would destroy data and was not forced.
	ErrRefused = errors.New("refused")
)
