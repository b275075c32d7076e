package db

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
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

// authjsApp is Auth.js (NextAuth v5) on SQL: a passkey is an
// Authenticator row and its "webauthn" Account row, with IDs in standard
// padded base64, written as the Prisma and Drizzle adapters write them.
type authjsApp struct{}

// storedID: Auth.js stores credential IDs in standard padded base64.
func (authjsApp) storedID(raw []byte) string { return passkey.AuthjsCredentialID(raw) }

func (authjsApp) appendStoredID(b, raw []byte) []byte { return base64.StdEncoding.AppendEncode(b, raw) }

func (authjsApp) storedPrefix(prefix string) string { return passkey.StandardBase64Prefix(prefix) }

func (authjsApp) credentialColumn(s *Schema) (table, col string, err error) {
	if s.Authenticator == nil {
		return "", "", nil
	}
	return s.Authenticator.Name, "credentialID", nil
}

func (authjsApp) newUserEmail(email string) string { return passkey.AuthjsEmail(email) }

// newUserID is the id the adapter generates: a cuid for Prisma
// (@default(cuid())), a UUID for Drizzle (crypto.randomUUID()).
func (authjsApp) newUserID(s *Schema, now time.Time, r io.Reader) (string, error) {
	if s.Naming == NamingDrizzle {
		return newUUIDv4(r)
	}
	return NewCUID(now, r)
}

func (authjsApp) ownColumn() string { return "an Auth.js column" }

// untypedTimeForm: Prisma writes integer milliseconds into its DATETIME
// columns on SQLite.
func (authjsApp) untypedTimeForm() TimeForm { return TimeMillis }

// authjsTime is t as Auth.js's adapter writes it into col.
func (d *DB) authjsTime(col Column, t time.Time) any {
	return d.timeValue(col, AppAuthjs, t)
}

// exportPasskeys reads on a goroutine of its own, as list does (pipeline).
func (authjsApp) exportPasskeys(d *DB, ctx context.Context, s *Schema, opts store.ExportOptions, fn func(passkey.ExportRecord) error) error {
	return pipeline(ctx, func(ctx context.Context, emit func(passkey.ExportRecord) error) error {
		return d.readAuthjsExportRows(ctx, d.X, s, opts, "", nil, "", checkKeysLater, func(r passkey.AuthjsExportRow) error {
			return emit(passkey.ExportRecordFromAuthjs(r))
		})
	}, func(rec passkey.ExportRecord) error {
		// The key is checked on fn's side, as list does (stream).
		_, keyErr := passkey.CheckStoredPublicKey(rec.PublicKey)
		rec.Status = keyStatus(rec.Status, keyErr)
		return fn(rec)
	})
}

func (authjsApp) exportBatch(d *DB, ctx context.Context, s *Schema, opts store.ExportOptions, batch []string, fn func(stored string, rec passkey.ExportRecord)) error {
	in, args := d.inList("a."+d.Q("credentialID"), batch)
	return d.authjsExportRows(ctx, d.X, s, opts, in, args, "", func(r passkey.AuthjsExportRow) error {
		fn(r.CredentialID, passkey.ExportRecordFromAuthjs(r))
		return nil
	})
}

// importTarget: import writes Authenticator and Account rows (and User
// rows with CreateUsers) through the importer's own Auth.js code.
func (authjsApp) importTarget(d *DB, s *Schema, opts store.ImportOptions) (importTarget, error) {
	if err := authjsWritable(s); err != nil {
		return nil, err
	}
	if opts.ProviderID == "" {
		return nil, fmt.Errorf("%w: empty provider id", passkey.ErrInvalid)
	}
	if err := checkFillable(s.Authenticator, authjsAuthenticatorColumns, authjsApp{}); err != nil {
		return nil, err
	}
	if err := checkFillable(s.Account, authjsAccountColumns, authjsApp{}); err != nil {
		return nil, err
	}
	if opts.CreateUsers {
		if err := checkFillable(s.User, importUserColumns, authjsApp{}); err != nil {
			return nil, err
		}
	}
	return authjsImport{}, nil
}

// wrongProviderHint is WrongProviderHint: it reads the passkeys' "webauthn"
// Account rows.
func (authjsApp) wrongProviderHint(d *DB, ctx context.Context, q sqlx.QueryerContext, s *Schema, c *store.ProviderCheck, providerID string) (string, error) {
	if s.Account == nil || !s.Account.Has("type") || len(c.Refs) == 0 {
		return "", nil
	}
	where, args := d.anyTuple([]string{"userId", "providerAccountId"}, c.Refs, "", nil)
	query := "SELECT DISTINCT " + d.Q("provider") + " FROM " + d.Q(s.Account.Name) + " WHERE " + d.Q("type") + " = 'webauthn' AND (" + where + ") ORDER BY 1"
	var providers []string
	if err := sqlx.SelectContext(ctx, q, &providers, d.Dialect.Rebind(query), args...); err != nil {
		return "", d.Err("check --provider-id", err)
	}
	providers = slices.DeleteFunc(providers, func(p string) bool { return p == providerID })
	if len(providers) == 0 {
		return "", nil
	}
	return fmt.Sprintf("the Account rows of these passkeys have provider %q, not %q: pass --provider-id %s (the app's Passkey provider id)",
		strings.Join(providers, `", "`), providerID, providers[0]), nil
}

func (authjsApp) users(s *Schema) (userTable, error) {
	u := s.User
	if u == nil {
		if s.noAppTables() {
			return userTable{}, s.MissingPasskeyTable()
		}
		return userTable{}, fmt.Errorf("%w: the Auth.js User table does not exist in %s (run the app's migrations, or passkeyctl migrate --core for a new database)", passkey.ErrSchemaNotReady, s.Where)
	}
	if !u.Has("id") || !u.Has("email") {
		return userTable{}, fmt.Errorf("%w: table %s has no id or email column", passkey.ErrDrift, u.Name)
	}
	ut := userTable{table: u, id: "id", email: "email", verifiedIsTime: true, idOrEmailAtOnce: true, idMode: IDText}
	if u.Has("name") {
		ut.name = "name"
	}
	if u.Has("emailVerified") {
		ut.verified = "emailVerified"
	}
	return ut, nil
}

// getPasskey is GetPasskey on the Authenticator table, joined as list joins it.
func (authjsApp) getPasskey(d *DB, ctx context.Context, q sqlx.QueryerContext, s *Schema, raw []byte, providerID string) (passkey.Passkey, error) {
	stored := passkey.AuthjsCredentialID(raw)
	pq, err := d.passkeyQueryFor(s, providerID)
	if err != nil {
		return passkey.Passkey{}, err
	}
	query, args := pq.build(d.ExactEq("a."+d.Q("credentialID")), "", stored, stored)
	var found []passkey.Passkey
	err = pq.each(ctx, q, query, args, func(p passkey.Passkey) error {
		found = append(found, p)
		return nil
	})
	if err != nil {
		return passkey.Passkey{}, err
	}
	if len(found) == 0 {
		return passkey.Passkey{}, fmt.Errorf("credential %s: %w", stored, passkey.ErrNotFound)
	}
	// Without a unique index a credential may be stored twice; the first
	// is the one Auth.js would find, but say nothing silently wrong: the
	// schema warning already reports the missing index.
	return found[0], nil
}

func (authjsApp) listPasskeys(d *DB, ctx context.Context, s *Schema, opts store.ListOptions, fn func(passkey.Passkey) error) error {
	if opts.Limit < 0 {
		return fmt.Errorf("%w: negative limit %d", passkey.ErrInvalid, opts.Limit)
	}
	pq, err := d.passkeyQueryFor(s, opts.ProviderID)
	if err != nil {
		return err
	}
	order := "ORDER BY a." + d.Q("userId") + ", a." + d.Q("credentialID")
	if opts.Limit > 0 {
		order += fmt.Sprintf(" LIMIT %d", opts.Limit)
	}
	if opts.UserID != "" {
		query, args := pq.build(d.ExactEq("a."+d.Q("userId")), order, opts.UserID, opts.UserID)
		return pq.each(ctx, d.X, query, args, fn)
	}
	query, args := pq.build("", order, nil...)
	return pq.stream(ctx, query, args, fn)
}

// listOrphans is ListOrphans: Account rows without their Authenticator.
func (authjsApp) listOrphans(d *DB, ctx context.Context, s *Schema, opts store.ListOptions, fn func(store.Orphan) error) error {
	if err := readable(s); err != nil {
		return err
	}
	if s.Account == nil {
		return fmt.Errorf("%w: the Auth.js Account table does not exist", passkey.ErrSchemaNotReady)
	}
	if opts.Limit < 0 {
		return fmt.Errorf("%w: negative limit %d", passkey.ErrInvalid, opts.Limit)
	}
	q := d.Q
	col := func(alias, name string) string { return alias + "." + q(name) }
	email, userJoin := "NULL", ""
	if s.User != nil && s.User.Has("email") {
		email = col("u", "email")
		userJoin = " LEFT JOIN " + q(s.User.Name) + " u ON " + col("u", "id") + " = " + col("ac", "userId")
	}
	match := d.exactColumnsEq(col("a", "credentialID"), col("ac", "providerAccountId"))
	where := d.ExactEq(col("ac", "provider")) + " AND " + col("ac", "type") + " = 'webauthn'" +
		" AND NOT EXISTS (SELECT 1 FROM " + q(s.Authenticator.Name) + " a WHERE " + match + ")"
	args := []any{opts.ProviderID, opts.ProviderID}
	if opts.UserID != "" {
		where += " AND " + d.ExactEq(col("ac", "userId"))
		args = append(args, opts.UserID, opts.UserID)
	}
	query := "SELECT " + col("ac", "providerAccountId") + ", " + col("ac", "userId") + ", " + email + ", " + col("ac", "provider") +
		" FROM " + q(s.Account.Name) + " ac" + userJoin + " WHERE " + where +
		" ORDER BY " + col("ac", "userId") + ", " + col("ac", "providerAccountId")
	if opts.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", opts.Limit)
	}
	rows, err := d.X.QueryContext(ctx, d.Dialect.Rebind(query), args...)
	if err != nil {
		return d.Err("read orphan accounts", err)
	}
	defer rows.Close()
	for rows.Next() {
		o := store.Orphan{Status: StatusNoAuthenticator}
		var e sql.NullString
		if err := rows.Scan(&o.CredentialID, &o.UserID, &e, &o.Provider); err != nil {
			return d.Err("read orphan accounts", err)
		}
		o.Email = nullable(e)
		if err := fn(o); err != nil {
			return err
		}
	}
	return d.Err("read orphan accounts", rows.Err())
}

func (authjsApp) credentialLookup(d *DB, s *Schema, providerID string) (*credentialLookup, error) {
	pq, err := d.passkeyQueryFor(s, providerID)
	if err != nil {
		return nil, err
	}
	return &credentialLookup{
		find: func(ctx context.Context, batch []string, fn func(passkey.Passkey) error) error {
			in, args := d.inList("a."+d.Q("credentialID"), batch)
			query, qargs := pq.build(in, "", args...)
			return pq.each(ctx, d.X, query, qargs, fn)
		},
	}, nil
}

// revokePlan deletes each passkey's Authenticator and Account rows, after
// checking --provider-id (checkProviderID).
func (authjsApp) revokePlan(d *DB, s *Schema, opts store.RevokeOptions) (*revokePlan, error) {
	if err := readable(s); err != nil {
		return nil, err
	}
	if opts.ProviderID == "" {
		// It would match no Account row: the Authenticator rows would go
		// and their Account rows stay behind as orphans.
		return nil, fmt.Errorf("%w: empty provider id (--provider-id): it names the Account rows that go with the passkeys", passkey.ErrInvalid)
	}
	plan := &revokePlan{signIns: []userColumn{{s.Authenticator.Name, "userId"}}}
	if s.Account != nil {
		plan.signIns = append(plan.signIns, userColumn{s.Account.Name, "userId"})
	}
	if opts.RevokeSessions {
		if s.Session == nil {
			return nil, fmt.Errorf("%w: --revoke-sessions: this database has no Auth.js Session table, so there are no database sessions to revoke (JWT sessions cannot be revoked server-side); leave the flag out", passkey.ErrInvalid)
		}
		plan.sessions = userColumn{s.Session.Name, "userId"}
	}
	plan.check = func(ctx context.Context, tx *sqlx.Tx, passkeys []passkey.Passkey) error {
		return d.checkProviderID(ctx, tx, s, passkeys, opts.ProviderID)
	}
	plan.lock = func(ctx context.Context, tx *sqlx.Tx, ids []string) (map[string]lockedPasskey, error) {
		found := map[string]lockedPasskey{}
		want := make(map[string]bool, len(ids))
		for _, id := range ids {
			want[id] = true
		}
		in, args := d.inList("a."+d.Q("credentialID"), ids)
		err := d.authjsExportRows(ctx, tx, s, store.ExportOptions{ProviderID: opts.ProviderID}, in, args, d.lockClause("a", "credentialID"), func(r passkey.AuthjsExportRow) error {
			if want[r.CredentialID] {
				found[r.CredentialID] = lockedPasskey{passkey: r.Passkey, record: func() passkey.ExportRecord { return passkey.ExportRecordFromAuthjs(r) }}
			}
			return nil
		})
		return found, err
	}
	plan.deletePasskeys = func(ctx context.Context, tx *sqlx.Tx, passkeys []passkey.Passkey, res *store.RevokeResult) error {
		return d.deleteAuthjsPasskeys(ctx, tx, s, passkeys, opts.ProviderID, res)
	}
	plan.deleteRest = func(ctx context.Context, tx *sqlx.Tx, passkeys []passkey.Passkey, res *store.RevokeResult) error {
		return d.deleteAuthjsAccounts(ctx, tx, s, passkeys, opts.ProviderID, res)
	}
	return plan, nil
}

// checkEnroll is CheckEnroll for Auth.js (see there).
func (authjsApp) checkEnroll(d *DB, ctx context.Context, q sqlx.QueryerContext, s *Schema, userID string, newUser bool) error {
	if err := authjsWritable(s); err != nil {
		return err
	}
	if err := checkFillable(s.Authenticator, authjsAuthenticatorColumns, authjsApp{}); err != nil {
		return err
	}
	if err := checkFillable(s.Account, authjsAccountColumns, authjsApp{}); err != nil {
		return err
	}
	if newUser {
		if err := checkFillable(s.User, enrollUserColumns, authjsApp{}); err != nil {
			return err
		}
	}
	if newUser || !s.Account.IsUnique("userId") {
		return nil
	}
	var n int
	query := d.Dialect.Rebind("SELECT COUNT(*) FROM " + d.Q(s.Account.Name) + " WHERE " + d.ExactEq(d.Q("userId")))
	if err := sqlx.GetContext(ctx, q, &n, query, userID, userID); err != nil {
		return d.Err("check Account", err)
	}
	if n == 0 {
		return nil
	}
	fix, err := d.dropUniqueUserIDSQL(ctx, q, s.Account)
	if err != nil {
		return err
	}
	return fmt.Errorf("%w: %s.userId is UNIQUE (the Auth.js MySQL docs schema), so a user can own one Account, and user %s already has one: a passkey needs an Account row of its own. Fix: %s (and remove @unique from Account.userId in schema.prisma)",
		passkey.ErrSchemaNotReady, s.Account.Name, userID, fix)
}

// createPasskey is CreatePasskey for Auth.js (see there).
func (authjsApp) createPasskey(d *DB, ctx context.Context, s *Schema, p store.NewPasskey, opts store.EnrollOptions) (passkey.Passkey, error) {
	if p.Name != nil {
		return passkey.Passkey{}, passkey.ErrNoPasskeyName
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		return passkey.Passkey{}, errors.New("create passkey: no random source")
	}
	if opts.ProviderID == "" {
		return passkey.Passkey{}, fmt.Errorf("%w: empty provider id", passkey.ErrInvalid)
	}
	if len(p.CredentialID) == 0 || len(p.PublicKey) == 0 {
		return passkey.Passkey{}, fmt.Errorf("%w: credential without an ID or public key", passkey.ErrInvalid)
	}
	if p.Counter > math.MaxInt32 {
		// Auth.js's counter column is a signed 32-bit INT.
		return passkey.Passkey{}, fmt.Errorf("%w: signature counter %d does not fit Authenticator.counter (a 32-bit INT)", passkey.ErrSchemaNotReady, p.Counter)
	}
	userID := p.UserID
	if opts.CreateUser != nil {
		userID = opts.CreateUser.ID
		if p.UserID != "" && p.UserID != userID {
			return passkey.Passkey{}, fmt.Errorf("%w: passkey user %s is not the user to create %s", passkey.ErrInvalid, p.UserID, userID)
		}
	}
	credID := passkey.AuthjsCredentialID(p.CredentialID)
	publicKey := passkey.AuthjsCredentialID(p.PublicKey) // the same encoding: standard, padded
	transports := JoinTransports(p.Transports)
	deviceType := "singleDevice"
	if p.BackupEligible {
		deviceType = "multiDevice"
	}
	alg, err := passkey.KeyAlgorithm(publicKey)
	if err != nil {
		return passkey.Passkey{}, fmt.Errorf("create passkey: %w", err)
	}
	checks := []fitCheck{
		{s.Authenticator, "credentialID", credID, "this credential ID"},
		{s.Authenticator, "providerAccountId", credID, "this credential ID"},
		{s.Authenticator, "credentialPublicKey", publicKey, "this " + alg + " public key"},
		{s.Authenticator, "transports", transports.String, "its transports"},
		{s.Account, "providerAccountId", credID, "this credential ID"},
	}
	if opts.CreateUser != nil {
		checks = append(checks, fitCheck{s.User, "email", opts.CreateUser.Email, "the e-mail address"})
	}
	if err := d.checkWidths(s, checks); err != nil {
		return passkey.Passkey{}, err
	}
	now := opts.Now().UTC().Truncate(time.Millisecond)

	var entry *store.AuditEntry
	var owner *string
	err = d.inTx(ctx, txOptions{what: "enrol", audit: func() *store.AuditEntry { return entry }}, func(ctx context.Context, tx *sqlx.Tx) error {

		if err := d.checkEnroll(ctx, tx, s, userID, opts.CreateUser != nil); err != nil {
			return err
		}
		if opts.CreateUser != nil {
			if err := d.insertUser(ctx, tx, s, *opts.CreateUser, now); err != nil {
				return err
			}
			owner = &opts.CreateUser.Email
		} else if u, err := d.findUser(ctx, tx, s, userID); err != nil {
			return err
		} else {
			owner = u.Email
		}
		if err := d.refuseDuplicate(ctx, tx, s, credID, opts.ProviderID); err != nil {
			return err
		}

		auth := newRow()
		if s.Authenticator.NeedsValue("id") {
			id, err := NewCUID(now, opts.Rand)
			if err != nil {
				return err
			}
			auth.add("id", id)
		}
		auth.add("credentialID", credID)
		auth.add("userId", userID)
		auth.add("providerAccountId", credID)
		auth.add("credentialPublicKey", publicKey)
		auth.add("counter", int64(p.Counter))
		auth.add("credentialDeviceType", deviceType)
		auth.add("credentialBackedUp", p.BackupState)
		auth.add("transports", transports)

		acct := newRow()
		if s.Account.NeedsValue("id") {
			id, err := NewCUID(now, opts.Rand)
			if err != nil {
				return err
			}
			acct.add("id", id)
		}
		acct.add("userId", userID)
		acct.add("type", "webauthn")
		acct.add("provider", opts.ProviderID)
		acct.add("providerAccountId", credID)
		for _, c := range []string{"createdAt", "updatedAt"} {
			if s.Account.NeedsValue(c) {
				col, _ := s.Account.Column(c)
				acct.add(c, d.authjsTime(col, now))
			}
		}
		// Auth.js creates the Account first (linkAccount) and then the
		// Authenticator; the order matters only to triggers, but keep it.
		if err := d.insertRow(ctx, tx, s.Account.Name, acct); err != nil {
			return d.conflictOr(err, credID, "insert Account")
		}
		if err := d.insertRow(ctx, tx, s.Authenticator.Name, auth); err != nil {
			return d.conflictOr(err, credID, "insert Authenticator")
		}
		entry = d.enrolEntry(s, p, userID, owner)
		return nil
	})
	if err != nil {
		return passkey.Passkey{}, err
	}
	return d.GetPasskey(ctx, s, p.CredentialID, opts.ProviderID)
}

func (authjsApp) updateCounter(d *DB, ctx context.Context, s *Schema, raw []byte, counter uint32) error {
	if err := readable(s); err != nil {
		return err
	}
	if counter > math.MaxInt32 {
		return fmt.Errorf("%w: signature counter %d does not fit Authenticator.counter (a 32-bit INT)", passkey.ErrSchemaNotReady, counter)
	}
	return d.updateCounter(ctx, s.Authenticator.Name, "counter", "credentialID", passkey.AuthjsCredentialID(raw), counter)
}

// describe implements sqlApp: Auth.js's Authenticator table, standard
// base64 IDs, an Account row per passkey.
func (authjsApp) describe(s *Schema) store.Description {
	_, _, _, _, table := s.TableNames()
	if s.Authenticator != nil {
		table = s.Authenticator.Name
	}
	return store.Description{
		ID: string(AppAuthjs), Name: "Auth.js", Label: fmt.Sprintf("Auth.js (table %s)", table), Where: table + " table", Record: "row of table " + table,
		Accounts: true, Account: "Account row", DeviceTypeField: "credentialDeviceType", EncodeID: passkey.AuthjsCredentialID,
		Stranded: passkey.AuthjsStranded, RPIDSource: passkey.AuthjsRPIDSource, ExportWarning: passkey.AuthjsExportWarning,
		Warnings: s.Warnings,
	}
}

// ready implements sqlApp: reading needs the Authenticator table;
// enrolling the User table too, checked before the user lookup, whose own
// error for this case names no fix.
func (authjsApp) ready(s *Schema, purpose store.Purpose) error {
	if purpose == store.ForEnrolling && s.User == nil {
		if s.Authenticator == nil && s.Account == nil {
			return s.MissingPasskeyTable()
		}
		return fmt.Errorf("%w: the Auth.js User table does not exist in %s (run the app's migrations, or: passkeyctl migrate --core)", passkey.ErrSchemaNotReady, s.Where)
	}
	if purpose == store.ForReading && s.Authenticator == nil {
		return s.MissingPasskeyTable()
	}
	return nil
}

// rename implements sqlApp: Auth.js stores no passkey name.
func (authjsApp) rename(*DB, context.Context, *Schema, []byte, string) (passkey.Passkey, passkey.Passkey, error) {
	return passkey.Passkey{}, passkey.Passkey{}, passkey.ErrNoPasskeyName
}
