package db

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/jmoiron/sqlx"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
)

// authjsImport is Auth.js's importTarget: an Authenticator row and its
// webauthn Account row per passkey, Users as Prisma's schema has them.
type authjsImport struct{}

func (authjsImport) passkeyTable(imp *importer) string { return imp.s.Authenticator.Name }

func (authjsImport) columns() importColumns {
	return importColumns{credential: "credentialID", user: "userId", publicKey: "credentialPublicKey", counter: "counter", deviceType: "credentialDeviceType", backedUp: "credentialBackedUp"}
}

// checkCounters refuses, as CreatePasskey does, a counter that Auth.js's
// signed 32-bit counter column cannot hold: PostgreSQL and MySQL would
// reject it (or, not in strict mode, clamp it), and SQLite would store a
// row Prisma cannot read.
func (authjsImport) checkCounters(imp *importer, groups ...[]*passkey.Normalized) error {
	for _, ns := range groups {
		for _, n := range ns {
			if n.Rec.Counter > math.MaxInt32 {
				return fmt.Errorf("%w: line %d: signature counter %d of %s does not fit %s.counter (a 32-bit INT); nothing was written",
					passkey.ErrSchemaNotReady, n.Line, n.Rec.Counter, n.Rec.CredentialID, imp.s.Authenticator.Name)
			}
		}
	}
	return nil
}

// newUserID implements importTarget: the input's id, so that a re-import
// matches by id, else a cuid as Prisma's @default(cuid()) makes.
func (authjsImport) newUserID(imp *importer, u passkey.ExportUser) (string, error) {
	if u.ID != "" {
		return u.ID, nil
	}
	return NewCUID(imp.now, imp.opts.Rand)
}

func (authjsImport) serialUsers() (table, idCol string, ok bool) { return "", "", false }

// existingAccounts implements importTarget: the webauthn Account rows of
// the provider that hold the IDs, read before the Authenticator rows (an
// Authenticator row found next overrides its Account).
func (authjsImport) existingAccounts(imp *importer, stored []string, scan func(query string, args []any, accountRows bool) error) error {
	q := imp.d.Q
	query, args := imp.d.selectIn(q("providerAccountId")+", "+q("userId")+", NULL, NULL, NULL", q(imp.s.Account.Name),
		imp.d.ExactEq(q("provider")), []any{imp.opts.ProviderID, imp.opts.ProviderID}, q("providerAccountId"), stored, &imp.scratch)
	return scan(query, args, true)
}

// insert implements importTarget: the Account (unless one of the same
// user is already there) and the Authenticator, Account first as Auth.js
// does.
func (authjsImport) insert(ctx context.Context, imp *importer, ns []*passkey.Normalized, owners map[*passkey.Normalized]string, existing map[string]existingCredential) error {
	s := imp.s
	if err := imp.checkWidths(ns, s.Authenticator, map[string]func(*passkey.Normalized) string{
		"credentialID":        func(n *passkey.Normalized) string { return passkey.AuthjsCredentialID(n.RawID) },
		"providerAccountId":   func(n *passkey.Normalized) string { return passkey.AuthjsCredentialID(n.RawID) },
		"credentialPublicKey": func(n *passkey.Normalized) string { return n.PublicKey },
		"transports":          func(n *passkey.Normalized) string { return JoinTransports(n.Rec.Transports).String },
	}); err != nil {
		return err
	}
	if err := imp.checkWidths(ns, s.Account, map[string]func(*passkey.Normalized) string{
		"providerAccountId": func(n *passkey.Normalized) string { return passkey.AuthjsCredentialID(n.RawID) },
	}); err != nil {
		return err
	}
	authCols := []string{"credentialID", "userId", "providerAccountId", "credentialPublicKey", "counter", "credentialDeviceType", "credentialBackedUp", "transports"}
	authID := s.Authenticator.NeedsValue("id")
	if authID {
		authCols = append([]string{"id"}, authCols...)
	}
	acctCols := []string{"userId", "type", "provider", "providerAccountId"}
	acctID := s.Account.NeedsValue("id")
	if acctID {
		acctCols = append([]string{"id"}, acctCols...)
	}
	var acctTimes []string
	for _, c := range []string{"createdAt", "updatedAt"} {
		if s.Account.NeedsValue(c) {
			acctTimes = append(acctTimes, c)
			acctCols = append(acctCols, c)
		}
	}
	// The ids the rows need, drawn row by row; the Account rows, but for
	// the users' own Accounts left behind without their Authenticator.
	var authIDs, acctIDs []string
	var acctUsers []*passkey.Normalized
	for _, n := range ns {
		if authID {
			id, err := NewCUID(imp.now, imp.opts.Rand)
			if err != nil {
				return err
			}
			authIDs = append(authIDs, id)
		}
		if ex, ok := existing[n.ID]; ok && !ex.authenticator {
			continue // the user's own Account row is already there
		}
		if acctID {
			id, err := NewCUID(imp.now, imp.opts.Rand)
			if err != nil {
				return err
			}
			acctIDs = append(acctIDs, id)
		}
		acctUsers = append(acctUsers, n)
	}
	if err := imp.checkUniqueAccountUser(ctx, acctUsers, owners); err != nil {
		return err
	}
	// The same dates in every Account row.
	times := make([]any, len(acctTimes))
	for i, c := range acctTimes {
		col, _ := s.Account.Column(c)
		times[i] = imp.d.authjsTime(col, imp.now)
	}
	err := imp.d.writeRows(ctx, imp.tx, s.Account.Name, acctCols, "insert Account", func(w rowWriter) error {
		for i, n := range acctUsers {
			if acctID {
				w.str(acctIDs[i])
			}
			w.str(owners[n])
			w.str("webauthn")
			w.str(imp.opts.ProviderID)
			w.base64(base64.StdEncoding, n.RawID) // passkey.AuthjsCredentialID
			for _, t := range times {
				if err := w.value(t); err != nil {
					return err
				}
			}
			if err := w.endRow(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, passkey.ErrConflict) && s.Account.IsUnique("userId") {
			// Another writer gave the user an Account meanwhile.
			return imp.uniqueAccountUserError(ctx, "", "already has one")
		}
		return err
	}
	return imp.d.writeRows(ctx, imp.tx, s.Authenticator.Name, authCols, "insert Authenticator", func(w rowWriter) error {
		// The columns of n.Authjs, written without making its strings.
		for i, n := range ns {
			if authID {
				w.str(authIDs[i])
			}
			w.base64(base64.StdEncoding, n.RawID)
			w.str(owners[n])
			w.base64(base64.StdEncoding, n.RawID)
			w.str(n.PublicKey)
			w.int(n.Rec.Counter)
			w.str(n.Rec.DeviceType)
			w.bool(n.Rec.BackedUp)
			w.transports(n.Rec.Transports)
			if err := w.endRow(); err != nil {
				return err
			}
		}
		return nil
	})
}

// userRow implements importTarget: the columns and values of a new Auth.js User:
// id, e-mail, the name and emailVerified (the import time when verified)
// where the table has them, and the dates that have no database default.
func (authjsImport) userRow(imp *importer, id, email string, u passkey.ExportUser) ([]string, []any) {
	t := imp.s.User
	cols, vals := []string{"id", "email"}, []any{id, email}
	if t.Has("name") {
		cols, vals = append(cols, "name"), append(vals, nullString(u.Name))
	}
	if t.Has("emailVerified") {
		var v any
		if u.EmailVerified {
			col, _ := t.Column("emailVerified")
			v = imp.d.authjsTime(col, imp.now)
		}
		cols, vals = append(cols, "emailVerified"), append(vals, v)
	}
	for _, c := range []string{"createdAt", "updatedAt"} {
		if t.NeedsValue(c) {
			col, _ := t.Column(c)
			cols, vals = append(cols, c), append(vals, imp.d.authjsTime(col, imp.now))
		}
	}
	return cols, vals
}

// checkUniqueAccountUser refuses, as serve --enroll does, passkeys that the
// Auth.js MySQL docs schema cannot hold: its UNIQUE Account.userId lets a
// user own one Account, and every passkey needs one of its own. The error
// is ErrSchemaNotReady with the statement that fixes the schema, where the
// INSERT would fail with a bare duplicate-key error.
func (imp *importer) checkUniqueAccountUser(ctx context.Context, ns []*passkey.Normalized, owners map[*passkey.Normalized]string) error {
	if len(ns) == 0 || !imp.s.Account.IsUnique("userId") {
		return nil
	}
	if imp.accountUsers == nil {
		imp.accountUsers = map[string]int{}
	}
	var users []string
	for _, n := range ns {
		u := owners[n]
		if first, ok := imp.accountUsers[u]; ok {
			return imp.uniqueAccountUserError(ctx, u, fmt.Sprintf("would get a second one from this input (lines %d and %d)", first, n.Line))
		}
		imp.accountUsers[u] = n.Line
		users = append(users, u)
	}
	d := imp.d
	for chunk := range slices.Chunk(users, 500) {
		in, args := d.inList(d.Q("userId"), chunk)
		var taken []string
		query := d.Dialect.Rebind("SELECT " + d.Q("userId") + " FROM " + d.Q(imp.s.Account.Name) + " WHERE " + in)
		if err := sqlx.SelectContext(ctx, imp.tx, &taken, query, args...); err != nil {
			return d.Err("check Account", err)
		}
		if len(taken) > 0 {
			return imp.uniqueAccountUserError(ctx, taken[0], "already has one")
		}
	}
	return nil
}

// uniqueAccountUserError is serve --enroll's error for the UNIQUE
// Account.userId of the Auth.js MySQL docs schema, with the fixing SQL.
func (imp *importer) uniqueAccountUserError(ctx context.Context, user, what string) error {
	a := imp.s.Account
	fix, err := imp.d.dropUniqueUserIDSQL(ctx, imp.tx, a)
	if err != nil {
		return err
	}
	if user != "" {
		user = " " + user
	}
	return fmt.Errorf("%w: %s.userId is UNIQUE (the Auth.js MySQL docs schema), so a user can own one Account, and user%s %s: a passkey needs an Account row of its own; nothing was written. Fix: %s (and remove @unique from Account.userId in schema.prisma)",
		passkey.ErrSchemaNotReady, a.Name, user, what, fix)
}
