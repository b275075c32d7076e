package db

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// orphanPlan is what RemoveOrphans does on one app. Either step may be
// nil when the app, or its tables, cannot have that kind of orphan.
type orphanPlan struct {
	// noUser reads and locks the passkeys (of userID, "" for all) whose
	// user row is gone.
	noUser func(ctx context.Context, tx *sqlx.Tx, userID string) ([]lockedPasskey, error)
	// deleteNoUser deletes those passkeys where their user is still gone
	// and returns the ones it deleted.
	deleteNoUser func(ctx context.Context, tx *sqlx.Tx, passkeys []passkey.Passkey) ([]passkey.Passkey, error)
	// accounts finds and deletes the webauthn accounts (of userID) that
	// have no passkey, and returns the ones it deleted.
	accounts func(ctx context.Context, tx *sqlx.Tx, userID string) ([]store.Orphan, error)
}

// RemoveOrphans is store.RemoveOrphans on the schema's app, in one
// transaction (retried on a deadlock, rolled back for a dry run): first
// the passkeys whose user row is gone, locked, backed up, then deleted
// with their user checked again in the DELETE itself; then (Auth.js) the
// webauthn Account rows without an Authenticator, which by then include
// the removed passkeys' own, each deleted only if it still has none. What
// a re-check kept is not in the result: the result is what the
// transaction deleted.
//
// An Auth.js registration writes its Account row before its Authenticator
// row, without a transaction; an Account caught between the two is
// removed like any orphan, and that registration fails as it would have
// with a lost Authenticator.
func (d *DB) RemoveOrphans(ctx context.Context, s *Schema, opts store.OrphanOptions) (*store.OrphanResult, error) {
	plan, err := s.app().orphanPlan(d, s, opts)
	if err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var res *store.OrphanResult
	var entry *store.AuditEntry
	err = d.inTx(ctx, txOptions{what: "remove orphans", retry: true, rollback: opts.DryRun, audit: func() *store.AuditEntry { return entry }}, func(ctx context.Context, tx *sqlx.Tx) error {
		res = &store.OrphanResult{Accounts: []store.Orphan{}, Passkeys: []passkey.Passkey{}, Entries: []store.DanglingEntry{}, DryRun: opts.DryRun}
		var records []passkey.ExportRecord
		if plan.noUser != nil {
			locked, err := plan.noUser(ctx, tx, opts.UserID)
			if err != nil {
				return err
			}
			if len(locked) > 0 {
				at := opts.Now().UTC().Format(timeFormatMillis)
				records = make([]passkey.ExportRecord, len(locked))
				for i, l := range locked {
					records[i] = l.record()
					records[i].RevokedAt = &at
				}
				if opts.Backup != nil {
					if err := opts.Backup(records); err != nil {
						return err
					}
				}
				ps := make([]passkey.Passkey, len(locked))
				for i, l := range locked {
					ps[i] = l.passkey
				}
				if res.Passkeys, err = plan.deleteNoUser(ctx, tx, ps); err != nil {
					return err
				}
			}
		}
		if plan.accounts != nil {
			var err error
			if res.Accounts, err = plan.accounts(ctx, tx, opts.UserID); err != nil {
				return err
			}
		}
		entry = d.auditEntry(s, store.AuditRevokeOrphans, "")
		entry.RecordOrphans(res, records)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(res.Passkeys, func(a, b passkey.Passkey) int {
		return cmpPair(a.UserID, a.CredentialID, b.UserID, b.CredentialID)
	})
	return res, nil
}

func cmpPair(a1, a2, b1, b2 string) int {
	if c := strings.Compare(a1, b1); c != 0 {
		return c
	}
	return strings.Compare(a2, b2)
}

// tupleKey is a tuple as a map key.
func tupleKey(t []string) string { return strings.Join(t, "\x00") }

// presentTuples returns which of tuples (values of cols, byte-exact)
// table still holds, as tupleKey: what a DELETE with a re-check kept.
func (d *DB) presentTuples(ctx context.Context, q sqlx.QueryerContext, table, fixed string, fixedArgs []any, cols []string, tuples [][]string) (map[string]bool, error) {
	present := map[string]bool{}
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = d.Q(c)
	}
	for batch := range slices.Chunk(tuples, batchSize) {
		where, args := d.tupleMatch(cols, batch, fixed, fixedArgs)
		rows, err := q.QueryContext(ctx, d.Dialect.Rebind("SELECT "+strings.Join(sel, ", ")+" FROM "+d.Q(table)+" WHERE "+where), args...)
		if err != nil {
			return nil, d.Err("remove orphans: read "+table, err)
		}
		vals := make([]string, len(cols))
		dst := make([]any, len(cols))
		for i := range vals {
			dst[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(dst...); err != nil {
				rows.Close()
				return nil, d.Err("remove orphans: read "+table, err)
			}
			present[tupleKey(vals)] = true
		}
		if err := rows.Close(); err != nil {
			return nil, d.Err("remove orphans: read "+table, err)
		}
		if err := rows.Err(); err != nil {
			return nil, d.Err("remove orphans: read "+table, err)
		}
	}
	return present, nil
}

// deleteGone deletes the passkeys from table by (user, credential) where
// fixed (the re-check) still holds, and returns those it deleted.
func (d *DB) deleteGone(ctx context.Context, tx *sqlx.Tx, table, fixed string, cols []string, passkeys []passkey.Passkey) ([]passkey.Passkey, error) {
	tuples := make([][]string, len(passkeys))
	for i, p := range passkeys {
		tuples[i] = []string{p.UserID, p.CredentialID}
	}
	if _, err := d.deleteTuples(ctx, tx, table, fixed, nil, cols, tuples); err != nil {
		return nil, err
	}
	kept, err := d.presentTuples(ctx, tx, table, "", nil, cols, tuples)
	if err != nil {
		return nil, err
	}
	removed := []passkey.Passkey{}
	for i, p := range passkeys {
		if !kept[tupleKey(tuples[i])] {
			removed = append(removed, p)
		}
	}
	return removed, nil
}

// noUserCheck is the condition, for a DELETE from table, that the row's
// user (userCol) is not in the user table (users.idCol).
func (d *DB) noUserCheck(table, userCol, users, idCol string) string {
	return "NOT EXISTS (SELECT 1 FROM " + d.Q(users) + " u WHERE u." + d.Q(idCol) + " = " + d.Q(table) + "." + d.Q(userCol) + ")"
}

// orphanPlan implements sqlApp: Authenticator rows whose User row is gone
// (possible without foreign keys), and webauthn Account rows of the
// Passkey provider without their Authenticator (what list --orphans
// lists).
func (authjsApp) orphanPlan(d *DB, s *Schema, opts store.OrphanOptions) (*orphanPlan, error) {
	if err := readable(s); err != nil {
		return nil, err
	}
	if opts.ProviderID == "" {
		return nil, fmt.Errorf("%w: empty provider id (--provider-id): it names the webauthn Account rows", passkey.ErrInvalid)
	}
	plan := &orphanPlan{}
	if s.User != nil && s.User.Has("id") {
		auth := s.Authenticator.Name
		plan.noUser = func(ctx context.Context, tx *sqlx.Tx, userID string) ([]lockedPasskey, error) {
			var out []lockedPasskey
			err := d.authjsExportRows(ctx, tx, s, store.ExportOptions{ProviderID: opts.ProviderID, UserID: userID}, "u."+d.Q("id")+" IS NULL", nil, d.lockClause("a", "credentialID"), func(r passkey.AuthjsExportRow) error {
				out = append(out, lockedPasskey{passkey: r.Passkey, record: func() passkey.ExportRecord { return passkey.ExportRecordFromAuthjs(r) }})
				return nil
			})
			return out, err
		}
		plan.deleteNoUser = func(ctx context.Context, tx *sqlx.Tx, passkeys []passkey.Passkey) ([]passkey.Passkey, error) {
			return d.deleteGone(ctx, tx, auth, d.noUserCheck(auth, "userId", s.User.Name, "id"), []string{"userId", "credentialID"}, passkeys)
		}
	}
	if s.Account != nil && s.Account.Has("provider") && s.Account.Has("providerAccountId") && s.Account.Has("userId") && s.Account.Has("type") {
		plan.accounts = func(ctx context.Context, tx *sqlx.Tx, userID string) ([]store.Orphan, error) {
			return d.removeOrphanAccounts(ctx, tx, s, opts.ProviderID, userID)
		}
	}
	return plan, nil
}

// removeOrphanAccounts deletes the webauthn Account rows of providerID
// (of userID) that no Authenticator row has as credentialID, and returns
// them.
func (d *DB) removeOrphanAccounts(ctx context.Context, tx *sqlx.Tx, s *Schema, providerID, userID string) ([]store.Orphan, error) {
	q := d.Q
	acct, auth := s.Account.Name, s.Authenticator.Name
	// An Account belongs to the Authenticator whose credentialID is its
	// providerAccountId, byte for byte: as list --orphans decides.
	noAuth := func(ref string) string {
		return "NOT EXISTS (SELECT 1 FROM " + q(auth) + " a WHERE " + d.exactColumnsEq("a."+q("credentialID"), ref) + ")"
	}
	email, userJoin := "NULL", ""
	if s.User != nil && s.User.Has("email") && s.User.Has("id") {
		email = "u." + q("email")
		userJoin = " LEFT JOIN " + q(s.User.Name) + " u ON u." + q("id") + " = ac." + q("userId")
	}
	where := d.ExactEq("ac."+q("provider")) + " AND ac." + q("type") + " = 'webauthn' AND " + noAuth("ac."+q("providerAccountId"))
	args := []any{providerID, providerID}
	if userID != "" {
		where += " AND " + d.ExactEq("ac."+q("userId"))
		args = append(args, userID, userID)
	}
	query := "SELECT ac." + q("providerAccountId") + ", ac." + q("userId") + ", " + email + ", ac." + q("provider") +
		" FROM " + q(acct) + " ac" + userJoin + " WHERE " + where + " ORDER BY ac." + q("userId") + ", ac." + q("providerAccountId")
	rows, err := tx.QueryContext(ctx, d.Dialect.Rebind(query), args...)
	if err != nil {
		return nil, d.Err("read orphan accounts", err)
	}
	var found []store.Orphan
	for rows.Next() {
		o := store.Orphan{Status: StatusNoAuthenticator}
		var e sql.NullString
		if err := rows.Scan(&o.CredentialID, &o.UserID, &e, &o.Provider); err != nil {
			rows.Close()
			return nil, d.Err("read orphan accounts", err)
		}
		o.Email = nullable(e)
		found = append(found, o)
	}
	if err := rows.Close(); err != nil {
		return nil, d.Err("read orphan accounts", err)
	}
	if err := rows.Err(); err != nil {
		return nil, d.Err("read orphan accounts", err)
	}
	removed := []store.Orphan{}
	if len(found) == 0 {
		return removed, nil
	}
	tuples := make([][]string, len(found))
	for i, o := range found {
		tuples[i] = []string{o.UserID, o.CredentialID}
	}
	// The DELETE checks again that no Authenticator has the ID: one
	// written since the SELECT keeps its Account.
	fixed, fixedArgs := d.webauthnAccountOf(providerID)
	fixed += " AND " + noAuth(q(acct)+"."+q("providerAccountId"))
	if _, err := d.deleteTuples(ctx, tx, acct, fixed, fixedArgs, accountTupleColumns, tuples); err != nil {
		return nil, err
	}
	kept, err := d.presentTuples(ctx, tx, acct, "", nil, accountTupleColumns, tuples)
	if err != nil {
		return nil, err
	}
	for i, o := range found {
		if !kept[tupleKey(tuples[i])] {
			removed = append(removed, o)
		}
	}
	return removed, nil
}

// orphanPlan implements sqlApp: Better Auth keeps a passkey in one row, so
// its only orphans are passkey rows whose user row is gone (its own
// deleteUser leaves them where there is no foreign key).
func (betterAuthApp) orphanPlan(d *DB, s *Schema, _ store.OrphanOptions) (*orphanPlan, error) {
	ba, err := s.PasskeyTableReady()
	if err != nil {
		return nil, err
	}
	if ba.User == nil || ba.U.ID == "" {
		return &orphanPlan{}, nil
	}
	table := ba.Passkey.Name
	return &orphanPlan{
		noUser: func(ctx context.Context, tx *sqlx.Tx, userID string) ([]lockedPasskey, error) {
			query := d.baPasskeySelect(ba) + " WHERE u." + d.Q(ba.U.ID) + " IS NULL"
			var args []any
			if userID != "" {
				query += " AND " + d.ExactEq("p."+d.Q(ba.P.UserID))
				args = append(args, userID, userID)
			}
			var out []lockedPasskey
			err := d.eachBetterAuth(ctx, tx, query+d.lockClause("p", ba.P.CredentialID), args, func(r BetterAuthPasskeyRow) error {
				out = append(out, lockedPasskey{passkey: passkeyFromBetterAuth(r), record: func() passkey.ExportRecord { return ExportRecordFromBetterAuth(r) }})
				return nil
			})
			return out, err
		},
		deleteNoUser: func(ctx context.Context, tx *sqlx.Tx, passkeys []passkey.Passkey) ([]passkey.Passkey, error) {
			return d.deleteGone(ctx, tx, table, d.noUserCheck(table, ba.P.UserID, ba.User.Name, ba.U.ID), []string{ba.P.UserID, ba.P.CredentialID}, passkeys)
		},
	}, nil
}
