package db

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// The Better Auth side of the store's entry points (GetPasskey,
// ListPasskeys, ResolveCredentials, Revoke, CheckEnroll, CreatePasskey,
// UpdateCounter): each of those checks Schema.App and hands Better Auth
// schemas to the functions here, so list, revoke and serve work on either
// app with the same Passkey values.

// passkeyFromBetterAuth is a Better Auth row as `list` shows passkeys:
// credentialID as stored (base64url), deviceType and backedUp under the
// list's field names, and Better Auth's name, createdAt and aaguid.
func passkeyFromBetterAuth(r BetterAuthPasskeyRow) passkey.Passkey {
	p := passkey.Passkey{
		CredentialID:         r.CredentialID,
		UserID:               r.UserID,
		Email:                r.Email,
		Counter:              r.Counter,
		CredentialDeviceType: r.DeviceType,
		CredentialBackedUp:   r.BackedUp,
		Transports:           passkey.SplitTransports(nullString(r.Transports).String),
		PublicKey:            r.PublicKey,
		Name:                 r.Name,
		CreatedAt:            r.CreatedAt,
		AAGUID:               r.AAGUID,
	}
	alg, keyErr := passkey.CheckStoredPublicKey(r.PublicKey)
	p.Algorithm, p.Status = alg, r.status(keyErr)
	return p
}

func (d *DB) baGetPasskey(ctx context.Context, q sqlx.QueryerContext, s *Schema, raw []byte) (passkey.Passkey, error) {
	r, err := d.getBetterAuthPasskey(ctx, q, s, passkey.Base64URL(raw))
	if err != nil {
		return passkey.Passkey{}, err
	}
	return passkeyFromBetterAuth(r), nil
}

func (d *DB) baListPasskeys(ctx context.Context, s *Schema, opts store.ListOptions, fn func(passkey.Passkey) error) error {
	return d.BetterAuthPasskeys(ctx, s, BetterAuthListOptions{UserID: opts.UserID, Limit: opts.Limit}, func(r BetterAuthPasskeyRow) error {
		return fn(passkeyFromBetterAuth(r))
	})
}

// errNoOrphansInBetterAuth: Better Auth keeps a passkey in one row, so
// there is no half-written pair to find.
var errNoOrphansInBetterAuth = fmt.Errorf("%w: --orphans finds Auth.js Account rows without their Authenticator; Better Auth stores a passkey in one row and has none", passkey.ErrInvalid)

// baCheckEnroll is CheckEnroll for Better Auth: the passkey table (and,
// for a new user, the user table) can be written with what passkeyctl
// knows.
func (d *DB) baCheckEnroll(s *Schema, newUser bool) error {
	ba, err := s.PasskeyTableReady()
	if err != nil {
		return err
	}
	if err := ba.checkPasskeyFillable(); err != nil {
		return err
	}
	if !newUser {
		return nil
	}
	if ba.UserIDMode == IDInteger {
		return errBetterAuthSerialUsers
	}
	return ba.checkUserCreatable()
}

// checkPasskeyFillable refuses a passkey table with a NOT NULL column,
// without a default, that is none of Better Auth's (see checkFillable).
func (ba *BetterAuthSchema) checkPasskeyFillable() error {
	p := ba.P
	return checkFillable(ba.Passkey, []string{p.ID, p.Name, p.PublicKey, p.UserID, p.CredentialID, p.Counter, p.DeviceType, p.BackedUp, p.Transports, p.CreatedAt, p.AAGUID, p.WebAuthnUserID}, AppBetterAuth)
}

// checkUserCreatable reports whether passkeyctl can write a new user as
// Better Auth does: its NOT NULL name and emailVerified columns exist, and
// no other NOT NULL column lacks a default.
func (ba *BetterAuthSchema) checkUserCreatable() error {
	u := ba.U
	if u.Name == "" || u.EmailVerified == "" {
		return fmt.Errorf("%w: table %s lacks Better Auth's name or emailVerified column; cannot create users", passkey.ErrDrift, ba.User.Name)
	}
	return checkFillable(ba.User, []string{u.ID, u.Name, u.Email, u.EmailVerified, u.Image, u.CreatedAt, u.UpdatedAt}, AppBetterAuth)
}

// betterAuthUserRow returns the columns and values of a new Better Auth
// user as Better Auth writes one: name (the given one, else the e-mail's
// local part; it is NOT NULL), e-mail lower-cased, boolean emailVerified,
// and the dates that have no database default. id is "" in integer mode.
func betterAuthUserRow(dia *Dialect, ba *BetterAuthSchema, id, email string, name *string, verified bool, now time.Time) ([]string, []any) {
	email = passkey.BetterAuthEmail(email)
	n := email
	if at := strings.IndexByte(email, '@'); at > 0 {
		n = email[:at]
	}
	if name != nil && strings.TrimSpace(*name) != "" {
		n = *name
	}
	var cols []string
	var vals []any
	if ba.UserIDMode != IDInteger {
		cols, vals = append(cols, ba.U.ID), append(vals, id)
	}
	cols = append(cols, ba.U.Name, ba.U.Email, ba.U.EmailVerified)
	vals = append(vals, n, email, verified)
	for _, c := range []string{ba.U.CreatedAt, ba.U.UpdatedAt} {
		if c != "" && ba.User.NeedsValue(c) {
			col, _ := ba.User.Column(c)
			form := timeFormOf(dia, col, AppBetterAuth)
			if form == TimeMillis && ba.CreatedAt == TimeSeconds {
				// The generator that wrote the passkey table's dates in
				// seconds wrote the user table's the same way.
				form = TimeSeconds
			}
			cols, vals = append(cols, c), append(vals, timeArg(form, now))
		}
	}
	return cols, vals
}

// baCreatePasskey is CreatePasskey for Better Auth: one passkey row as its
// passkey plugin writes it at registration (base64url credentialID, the
// COSE key in standard padded base64, transports "" when none, createdAt,
// the AAGUID), and the user first with opts.CreateUser, in one
// transaction.
func (d *DB) baCreatePasskey(ctx context.Context, s *Schema, p store.NewPasskey, opts store.EnrollOptions) (passkey.Passkey, error) {
	ba, err := s.PasskeyTableReady()
	if err != nil {
		return passkey.Passkey{}, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	now := opts.Now().UTC().Truncate(time.Millisecond)
	userID := p.UserID
	if opts.CreateUser != nil {
		userID = opts.CreateUser.ID
	}
	deviceType := "singleDevice"
	if p.BackupEligible {
		deviceType = "multiDevice"
	}
	transports := strings.Join(p.Transports, ",")
	row := BetterAuthPasskey{
		PublicKey:    passkey.AuthjsCredentialID(p.PublicKey), // standard padded base64, as Auth.js
		UserID:       userID,
		CredentialID: passkey.Base64URL(p.CredentialID),
		Counter:      int64(p.Counter),
		DeviceType:   deviceType,
		BackedUp:     p.BackupState,
		Transports:   &transports,
		CreatedAt:    &now,
	}
	if len(p.AAGUID) == 16 {
		id := formatUUID(p.AAGUID)
		row.AAGUID = &id
	}
	if err := checkBetterAuthPasskey(&row); err != nil {
		return passkey.Passkey{}, err
	}
	if _, err := passkey.KeyAlgorithm(row.PublicKey); err != nil {
		return passkey.Passkey{}, fmt.Errorf("create passkey: %w", err)
	}
	if err := d.baCheckEnroll(s, opts.CreateUser != nil); err != nil {
		return passkey.Passkey{}, err
	}
	tx, err := d.X.BeginTxx(ctx, nil)
	if err != nil {
		return passkey.Passkey{}, d.Err("begin transaction", err)
	}
	defer tx.Rollback()
	if opts.CreateUser != nil {
		if _, err := d.findBetterAuthUser(ctx, tx, ba, opts.CreateUser.Email, false); err == nil {
			return passkey.Passkey{}, fmt.Errorf("create user %s: a user with this e-mail already exists: %w", opts.CreateUser.Email, passkey.ErrConflict)
		} else if !isNotFound(err) {
			return passkey.Passkey{}, err
		}
		cols, vals := betterAuthUserRow(d.Dialect, ba, userID, opts.CreateUser.Email, nil, false, now)
		if err := d.insertRows(ctx, tx, ba.User.Name, cols, [][]any{vals}, "create user"); err != nil {
			return passkey.Passkey{}, err
		}
	} else if _, err := d.findBetterAuthUser(ctx, tx, ba, userID, true); err != nil {
		return passkey.Passkey{}, err
	}
	if err := d.insertNewBetterAuthPasskey(ctx, tx, s, ba, &row, opts.Rand); err != nil {
		return passkey.Passkey{}, err
	}
	if err := tx.Commit(); err != nil {
		return passkey.Passkey{}, d.Err("commit passkey", err)
	}
	return d.baGetPasskey(ctx, d.X, s, p.CredentialID)
}
