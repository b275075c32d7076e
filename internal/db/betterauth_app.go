package db

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// betterAuthApp is Better Auth's passkey plugin on SQL: a passkey is one
// row of its passkey table, with the credential ID in base64url without
// padding, in tables and columns the app may have renamed
// (BetterAuthSchema). Its methods are the Better Auth side of the store's
// entry points, so list, revoke and serve work on either app with the same
// Passkey values.
type betterAuthApp struct{}

// storedID: Better Auth stores credential IDs in base64url without
// padding.
func (betterAuthApp) storedID(raw []byte) string { return passkey.Base64URL(raw) }

func (betterAuthApp) appendStoredID(b, raw []byte) []byte {
	return base64.RawURLEncoding.AppendEncode(b, raw)
}

func (betterAuthApp) storedPrefix(prefix string) string { return passkey.Base64URLPrefix(prefix) }

func (betterAuthApp) credentialColumn(s *Schema) (table, col string, err error) {
	ba, err := s.PasskeyTableReady()
	if err != nil {
		return "", "", err
	}
	return ba.Passkey.Name, ba.P.CredentialID, nil
}

func (betterAuthApp) newUserEmail(email string) string { return passkey.BetterAuthEmail(email) }

func (betterAuthApp) newUserID(s *Schema, _ time.Time, _ io.Reader) (string, error) {
	return newBetterAuthUserID(s)
}

func (betterAuthApp) users(s *Schema) (userTable, error) {
	if s.BetterAuth == nil {
		return userTable{}, fmt.Errorf("%w: Better Auth's user table does not exist", passkey.ErrSchemaNotReady)
	}
	return s.BetterAuth.users()
}

func (betterAuthApp) ownColumn() string { return "a column of Better Auth's schema" }

// untypedTimeForm: Better Auth's Kysely adapter writes ISO text into its
// DATE columns on SQLite.
func (betterAuthApp) untypedTimeForm() TimeForm { return TimeISO }

func (betterAuthApp) getPasskey(d *DB, ctx context.Context, q sqlx.QueryerContext, s *Schema, raw []byte, _ string) (passkey.Passkey, error) {
	return d.baGetPasskey(ctx, q, s, raw)
}

func (betterAuthApp) listPasskeys(d *DB, ctx context.Context, s *Schema, opts store.ListOptions, fn func(passkey.Passkey) error) error {
	return d.baListPasskeys(ctx, s, opts, fn)
}

func (betterAuthApp) listOrphans(*DB, context.Context, *Schema, store.ListOptions, func(store.Orphan) error) error {
	return errNoOrphansInBetterAuth
}

// wrongProviderHint: Better Auth has no Account row per passkey, so no
// provider to get wrong.
func (betterAuthApp) wrongProviderHint(*DB, context.Context, sqlx.QueryerContext, *Schema, *store.ProviderCheck, string) (string, error) {
	return "", nil
}

func (betterAuthApp) credentialLookup(d *DB, s *Schema, _ string) (*credentialLookup, error) {
	ba, err := s.PasskeyTableReady()
	if err != nil {
		return nil, err
	}
	return &credentialLookup{
		find: func(ctx context.Context, batch []string, fn func(passkey.Passkey) error) error {
			in, args := d.inList("p."+d.Q(ba.P.CredentialID), batch)
			return d.eachBetterAuth(ctx, d.X, d.baPasskeySelect(ba)+" WHERE "+in, args, func(r BetterAuthPasskeyRow) error {
				return fn(passkeyFromBetterAuth(r))
			})
		},
		// Nothing in Better Auth's schema stops a duplicate.
		duplicate: func(first, second passkey.Passkey) error {
			return fmt.Errorf("credential %s is stored twice in %s (user %s and user %s); Better Auth uses whichever the database returns first: delete the extra row by its id: %w",
				second.CredentialID, ba.Passkey.Name, first.UserID, second.UserID, passkey.ErrConflict)
		},
	}, nil
}

func (betterAuthApp) revokePlan(d *DB, s *Schema, opts store.RevokeOptions) (*revokePlan, error) {
	ba, err := s.PasskeyTableReady()
	if err != nil {
		return nil, err
	}
	plan := &revokePlan{signIns: []userColumn{{ba.Passkey.Name, ba.P.UserID}}}
	if ba.Account != nil {
		if c := (betterAuthField{"userId", "user_id", true}).resolve(ba.Account); c != "" {
			plan.signIns = append(plan.signIns, userColumn{ba.Account.Name, c})
		}
	}
	if opts.RevokeSessions {
		if ba.Session == nil || ba.SessionUserID == "" {
			return nil, fmt.Errorf("%w: --revoke-sessions: this database has no Better Auth session table, so there are no database sessions to revoke; leave the flag out", passkey.ErrInvalid)
		}
		plan.sessions = userColumn{ba.Session.Name, ba.SessionUserID}
	}
	plan.lock = func(ctx context.Context, tx *sqlx.Tx, ids []string) (map[string]lockedPasskey, error) {
		found := map[string]lockedPasskey{}
		want := make(map[string]bool, len(ids))
		for _, id := range ids {
			want[id] = true
		}
		in, args := d.inList("p."+d.Q(ba.P.CredentialID), ids)
		query := d.baPasskeySelect(ba) + " WHERE " + in + d.lockClause("p", ba.P.CredentialID)
		err := d.eachBetterAuth(ctx, tx, query, args, func(r BetterAuthPasskeyRow) error {
			if !want[r.CredentialID] {
				return nil // a case-insensitive match on MySQL
			}
			if prev, dup := found[r.CredentialID]; dup {
				return fmt.Errorf("credential %s is stored twice in %s (user %s and user %s); Better Auth uses whichever the database returns first: delete the extra row by its id: %w",
					r.CredentialID, ba.Passkey.Name, prev.passkey.UserID, r.UserID, passkey.ErrConflict)
			}
			found[r.CredentialID] = lockedPasskey{passkey: passkeyFromBetterAuth(r), record: func() passkey.ExportRecord { return ExportRecordFromBetterAuth(r) }}
			return nil
		})
		return found, err
	}
	plan.deletePasskeys = func(ctx context.Context, tx *sqlx.Tx, passkeys []passkey.Passkey, res *store.RevokeResult) error {
		tuples := make([][]string, len(passkeys))
		for i, p := range passkeys {
			tuples[i] = []string{p.UserID, p.CredentialID}
		}
		n, err := d.deleteTuples(ctx, tx, ba.Passkey.Name, "", nil, []string{ba.P.UserID, ba.P.CredentialID}, tuples)
		if err != nil {
			return err
		}
		if n != int64(len(passkeys)) {
			return fmt.Errorf("revoke: %d rows matched %d passkeys: they changed, were removed or are stored twice since they were read: %w; nothing was revoked, run the command again", n, len(passkeys), passkey.ErrConflict)
		}
		return nil
	}
	return plan, nil
}

// exportPasskeys reads on a goroutine of its own, as list does (pipeline).
func (betterAuthApp) exportPasskeys(d *DB, ctx context.Context, s *Schema, opts store.ExportOptions, fn func(passkey.ExportRecord) error) error {
	return pipeline(ctx, func(ctx context.Context, emit func(passkey.ExportRecord) error) error {
		return d.BetterAuthPasskeys(ctx, s, BetterAuthListOptions{UserID: opts.UserID}, func(r BetterAuthPasskeyRow) error {
			return emit(ExportRecordFromBetterAuth(r))
		})
	}, fn)
}

func (betterAuthApp) exportBatch(d *DB, ctx context.Context, s *Schema, _ store.ExportOptions, batch []string, fn func(stored string, rec passkey.ExportRecord)) error {
	ba, err := s.PasskeyTableReady()
	if err != nil {
		return err
	}
	in, args := d.inList("p."+d.Q(ba.P.CredentialID), batch)
	return d.eachBetterAuth(ctx, d.X, d.baPasskeySelect(ba)+" WHERE "+in, args, func(r BetterAuthPasskeyRow) error {
		fn(r.CredentialID, ExportRecordFromBetterAuth(r))
		return nil
	})
}

func (betterAuthApp) checkEnroll(d *DB, _ context.Context, _ sqlx.QueryerContext, s *Schema, _ string, newUser bool) error {
	return d.baCheckEnroll(s, newUser)
}

func (betterAuthApp) createPasskey(d *DB, ctx context.Context, s *Schema, p store.NewPasskey, opts store.EnrollOptions) (passkey.Passkey, error) {
	return d.baCreatePasskey(ctx, s, p, opts)
}

func (betterAuthApp) updateCounter(d *DB, ctx context.Context, s *Schema, raw []byte, counter uint32) error {
	return d.UpdateBetterAuthCounter(ctx, s, passkey.Base64URL(raw), counter)
}

func (betterAuthApp) importTarget(d *DB, s *Schema, opts store.ImportOptions) (importTarget, error) {
	ba, err := s.PasskeyTableReady()
	if err != nil {
		return nil, err
	}
	if ba.IDMode == IDInteger {
		// SQLite numbers an INTEGER PRIMARY KEY itself (the rowid).
		rowid := d.Dialect == SQLite && slices.Equal(ba.Passkey.PrimaryKey(), []string{ba.P.ID})
		if c, ok := ba.Passkey.Column(ba.P.ID); ok && !c.HasDefault && !rowid {
			return nil, fmt.Errorf("%w: %s.%s is an integer without a default: Better Auth's serial ids need one", passkey.ErrSchemaNotReady, ba.Passkey.Name, ba.P.ID)
		}
	}
	if err := ba.checkPasskeyFillable(); err != nil {
		return nil, err
	}
	if opts.CreateUsers {
		if err := ba.checkUserCreatable(); err != nil {
			return nil, err
		}
	}
	return betterAuthImport{ba: ba}, nil
}

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
		Authenticator:        passkey.AuthenticatorOf(r.AAGUID),
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
	return checkFillable(ba.Passkey, []string{p.ID, p.Name, p.PublicKey, p.UserID, p.CredentialID, p.Counter, p.DeviceType, p.BackedUp, p.Transports, p.CreatedAt, p.AAGUID, p.WebAuthnUserID}, betterAuthApp{})
}

// checkUserCreatable reports whether passkeyctl can write a new user as
// Better Auth does: its NOT NULL name and emailVerified columns exist, and
// no other NOT NULL column lacks a default.
func (ba *BetterAuthSchema) checkUserCreatable() error {
	u := ba.U
	if u.Name == "" || u.EmailVerified == "" {
		return fmt.Errorf("%w: table %s lacks Better Auth's name or emailVerified column; cannot create users", passkey.ErrDrift, ba.User.Name)
	}
	return checkFillable(ba.User, []string{u.ID, u.Name, u.Email, u.EmailVerified, u.Image, u.CreatedAt, u.UpdatedAt}, betterAuthApp{})
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
		Name:         p.Name,
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
	var entry *store.AuditEntry
	var owner *string
	err = d.inTx(ctx, txOptions{what: "enrol", audit: func() *store.AuditEntry { return entry }}, func(ctx context.Context, tx *sqlx.Tx) error {
		if opts.CreateUser != nil {
			if _, err := d.findBetterAuthUser(ctx, tx, ba, opts.CreateUser.Email, false); err == nil {
				return fmt.Errorf("create user %s: a user with this e-mail already exists: %w", opts.CreateUser.Email, passkey.ErrConflict)
			} else if !isNotFound(err) {
				return err
			}
			cols, vals := betterAuthUserRow(d.Dialect, ba, userID, opts.CreateUser.Email, nil, false, now)
			if err := d.insertRows(ctx, tx, ba.User.Name, cols, [][]any{vals}, "create user"); err != nil {
				return err
			}
			owner = &opts.CreateUser.Email
		} else if u, err := d.findBetterAuthUser(ctx, tx, ba, userID, true); err != nil {
			return err
		} else {
			owner = u.Email
		}
		if err := d.insertNewBetterAuthPasskey(ctx, tx, s, ba, &row, opts.Rand); err != nil {
			return err
		}
		entry = d.enrolEntry(s, p, userID, owner)
		return nil
	})
	if err != nil {
		return passkey.Passkey{}, err
	}
	return d.baGetPasskey(ctx, d.X, s, p.CredentialID)
}

// describe implements sqlApp: Better Auth's passkey table, base64url IDs,
// one row per passkey (no Account), a name and creation time per passkey.
func (betterAuthApp) describe(s *Schema) store.Description {
	d := store.Description{
		ID: string(AppBetterAuth), Name: "Better Auth", Named: true,
		DeviceTypeField: "deviceType", EncodeID: passkey.Base64URL,
		RPIDSource: "Better Auth's passkey({ rpID }), else the host name of its base URL",
		Stranded:   "no passkey and no account row left: they cannot sign in with a passkey, a password or a social provider",
		ImportNote: "these passkeys sign in only if Better Auth uses the rpID they were created for (the old app's hostname: passkey({ rpID }))",
	}
	table := "passkey"
	if ba := s.BetterAuth; ba != nil {
		if ba.Passkey != nil {
			table, d.DeviceTypeField = ba.Passkey.Name, ba.P.DeviceType
		}
		d.Warnings = ba.Warnings
	}
	d.Label = fmt.Sprintf("Better Auth (table %s)", table)
	d.Where, d.Record = table+" table", "row of table "+table
	return d
}

// ready implements sqlApp: the passkey table must be there and readable,
// for enrolling as for reading (the user table is checked by CheckEnroll).
func (betterAuthApp) ready(s *Schema, _ store.Purpose) error {
	_, err := s.PasskeyTableReady()
	return err
}

// checkBetterAuthCounter refuses, as the Auth.js store does, a signature
// counter that Better Auth's counter column cannot hold: its migrator
// declares an INTEGER, 32 bits on PostgreSQL and MySQL (64 on SQLite),
// and the database would refuse the write with its own raw error.
func (d *DB) checkBetterAuthCounter(ba *BetterAuthSchema, counter int64) error {
	c, ok := ba.Passkey.Column(ba.P.Counter)
	if !ok || d.Dialect == SQLite || counter <= math.MaxInt32 {
		return nil
	}
	switch c.Type {
	case "integer", "int", "int4", "mediumint", "smallint", "int2":
		return fmt.Errorf("%w: signature counter %d does not fit %s.%s (a 32-bit %s)", passkey.ErrSchemaNotReady, counter, ba.Passkey.Name, ba.P.Counter, strings.ToUpper(c.Type))
	}
	return nil
}

// rename implements sqlApp: the name column of the passkey's row, in a
// transaction that reads the row first (the name before, for the operator's
// way back).
func (betterAuthApp) rename(d *DB, ctx context.Context, s *Schema, raw []byte, name string) (before, after passkey.Passkey, err error) {
	ba, err := s.PasskeyTableReady()
	if err != nil {
		return before, after, err
	}
	if ba.P.Name == "" {
		return before, after, fmt.Errorf("%w: table %s has no name column", passkey.ErrSchemaNotReady, ba.Passkey.Name)
	}
	id := passkey.Base64URL(raw)
	var entry *store.AuditEntry
	err = d.inTx(ctx, txOptions{what: "rename", audit: func() *store.AuditEntry { return entry }}, func(ctx context.Context, tx *sqlx.Tx) error {
		r, err := d.getBetterAuthPasskey(ctx, tx, s, id)
		if err != nil {
			return err
		}
		before = passkeyFromBetterAuth(r)
		q := d.Dialect.Rebind("UPDATE " + d.Q(ba.Passkey.Name) + " SET " + d.Q(ba.P.Name) + " = ? WHERE " + d.ExactEq(d.Q(ba.P.CredentialID)))
		if _, err := tx.ExecContext(ctx, q, name, id, id); err != nil {
			return d.Err("rename passkey", err)
		}
		r, err = d.getBetterAuthPasskey(ctx, tx, s, id)
		if err != nil {
			return err
		}
		after = passkeyFromBetterAuth(r)
		entry = d.auditEntry(s, store.AuditRename, "renamed passkey "+id)
		entry.AddRename(before, after)
		return nil
	})
	return before, after, err
}
