package db

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// batchSize is how many rows one lookup or DELETE statement covers. It
// keeps every statement far below the placeholder limits (65535 on
// PostgreSQL and MySQL, 32766 on SQLite) with up to eight placeholders per
// row, while 10,000 revocations still take only a few dozen statements.
const batchSize = 500

// ResolveCredentials is store.ResolveCredentials on the schema's app: every
// ID form an operator may give, looked up in the form the app stores
// (Auth.js: standard padded base64; Better Auth: base64url without
// padding), byte-exactly; all or nothing. A Better Auth credential stored
// twice is ErrConflict.
func (d *DB) ResolveCredentials(ctx context.Context, s *Schema, ids []string, providerID string) ([]passkey.Passkey, error) {
	lookup, err := d.credentialLookupFor(s, providerID)
	if err != nil {
		return nil, err
	}
	return store.ResolveCredentials(ctx, store.CredentialFinder{
		StoredID:     s.app().storedID,
		StoredPrefix: s.app().storedPrefix,
		Find:         lookup.find,
		BatchSize:    batchSize,
		Parallel:     d.Dialect.parallelReads(),
		Refused:      d.Dialect.refusedConnection,
		Duplicate:    lookup.duplicate,
		Complete: func(ctx context.Context, prefix string, limit int) ([]string, error) {
			return d.CompleteCredentialIDs(ctx, s, prefix, limit)
		},
	}, ids)
}

// credentialLookup is how ResolveCredentials finds one app's passkeys.
type credentialLookup struct {
	// find calls fn with each passkey whose stored ID is in batch, as the
	// column's collation compares.
	find func(ctx context.Context, batch []string, fn func(passkey.Passkey) error) error
	// duplicate is the error for a second row with the same ID; nil
	// keeps the last one read (Auth.js's credentialID is unique in every
	// schema its docs show).
	duplicate func(first, second passkey.Passkey) error
}

func (d *DB) credentialLookupFor(s *Schema, providerID string) (*credentialLookup, error) {
	return s.app().credentialLookup(d, s, providerID)
}

// Revoke deletes the passkeys in one transaction, in batches, each
// DELETE scoped by the passkey's userId so that no other user's rows are
// ever touched. On Auth.js it deletes each passkey's Authenticator row and
// its Account row (type "webauthn", provider opts.ProviderID,
// providerAccountId the credential ID); an Account that belongs to another
// user (status account-user-mismatch) stays. On Better Auth it deletes the
// passkey's one row. With RevokeSessions it also deletes the users'
// session rows.
//
// It locks the passkeys' rows (SELECT ... FOR UPDATE) in credential ID
// order, so that two revokes of overlapping sets wait for each other
// instead of deadlocking, a batch at a time, each batch deleting the rows
// its lock holds before the next is locked; a deadlock or serialisation
// failure that still happens is retried (inTx). It is all or nothing:
// when a passkey is gone since it was looked up (another revoke won the
// race) the error is ErrNotFound, as if it had never been there; when its
// row changed owner or (on Better Auth) is stored twice, ErrConflict; on
// Auth.js, a wrong --provider-id is ErrInvalid (checkProviderID, on each
// batch's locked rows). Either way nothing is deleted and opts.Backup is
// not called.
func (d *DB) Revoke(ctx context.Context, s *Schema, passkeys []passkey.Passkey, opts store.RevokeOptions) (*store.RevokeResult, error) {
	plan, err := d.revokePlanFor(s, opts)
	if err != nil {
		return nil, err
	}
	if len(passkeys) == 0 {
		return &store.RevokeResult{Passkeys: passkeys, Stranded: []passkey.User{}, DryRun: opts.DryRun}, nil
	}
	set := revokeSet{owners: make(map[string]string, len(passkeys))}
	order := make([]string, len(passkeys))
	for i, p := range passkeys {
		set.owners[p.CredentialID] = p.UserID
		order[i] = p.CredentialID
	}
	set.ids = slices.Sorted(maps.Keys(set.owners))
	set.order = func(map[string]lockedPasskey) ([]string, error) { return order, nil }
	return d.revoke(ctx, s, plan, opts, set)
}

// RevokeCredentials is store.Store.RevokeCredentials: it revokes the
// passkeys ids name, read as ResolveCredentials reads them, looking them
// up inside the revoke's transaction, where each batch's rows are read,
// locked and deleted in one pass: a revoke that looks its passkeys up first
// reads each of their pages twice, and on a table larger than the server's
// cache (MariaDB's 128 MB default buffer pool against 5,000 passkeys spread
// over 1,000,000) the second read goes to the disk again. Every stored form
// of every ID is locked in the same byte order as Revoke's, so the two
// wait for each other without deadlocking. As soon as an ID can resolve
// to nothing (a prefix, or unknown), the transaction is rolled back and
// the IDs go through ResolveCredentials and Revoke, whose errors and
// prefix resolution are then exactly theirs.
func (d *DB) RevokeCredentials(ctx context.Context, s *Schema, ids []string, opts store.RevokeOptions) (*store.RevokeResult, error) {
	req, err := store.NewCredentialRequest(ids, s.app().storedID)
	if err != nil {
		return nil, err
	}
	plan, err := d.revokePlanFor(s, opts)
	if err != nil {
		return nil, err
	}
	if len(req.Stored()) > 0 && !req.Prefixes() {
		isLocked := func(locked map[string]lockedPasskey) func(string) bool {
			return func(stored string) bool { _, ok := locked[stored]; return ok }
		}
		res, err := d.revoke(ctx, s, plan, opts, revokeSet{
			ids: req.Stored(),
			settled: func(batch []string, locked map[string]lockedPasskey) error {
				if req.Unmatched(batch, isLocked(locked)) {
					return errUnresolved
				}
				return nil
			},
			order: func(locked map[string]lockedPasskey) ([]string, error) {
				hits, err := req.Resolve(isLocked(locked))
				if err != nil {
					return nil, err
				}
				if slices.Contains(hits, "") { // settled tells at once
					return nil, errUnresolved
				}
				return store.Distinct(hits), nil
			},
		})
		if !errors.Is(err, errUnresolved) {
			return res, err
		}
	}
	passkeys, err := d.ResolveCredentials(ctx, s, ids, opts.ProviderID)
	if err != nil {
		return nil, err
	}
	return d.Revoke(ctx, s, passkeys, opts)
}

// errUnresolved rolls back a RevokeCredentials with an ID that resolves
// to nothing in its transaction.
var errUnresolved = errors.New("a credential ID resolves to nothing in the transaction")

// revokeSet is what a revoke transaction removes: the stored credential
// IDs it locks, and how it tells that what it found is what was asked.
type revokeSet struct {
	// ids are the stored credential IDs to lock, distinct, in byte
	// order: one lock order for every revoke.
	ids []string
	// owners (Revoke: the passkeys as looked up before) is the user each
	// ID must be found with (lostPasskeys); nil: what the lock passes find
	// is all there is (RevokeCredentials).
	owners map[string]string
	// settled, when set, is called once a batch's rows are locked, before
	// they are deleted; an error stops the revoke.
	settled func(batch []string, locked map[string]lockedPasskey) error
	// order returns, once every batch is locked, the revoked passkeys'
	// IDs in the caller's order, or why the revoke must not go on.
	order func(locked map[string]lockedPasskey) ([]string, error)
}

// revoke is the transaction of Revoke and RevokeCredentials: it locks
// set.ids batchSize at a time, and deletes the rows each batch's lock
// pass found before the next is locked.
func (d *DB) revoke(ctx context.Context, s *Schema, plan *revokePlan, opts store.RevokeOptions, set revokeSet) (*store.RevokeResult, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	lookup, err := d.credentialLookupFor(s, opts.ProviderID)
	if err != nil {
		return nil, err
	}
	var res *store.RevokeResult
	var entry *store.AuditEntry
	audit := func() *store.AuditEntry { return entry }
	err = d.inTx(ctx, txOptions{what: "revoke", retry: true, rollback: opts.DryRun, audit: audit}, func(ctx context.Context, tx *sqlx.Tx) error {
		entry = nil
		res = &store.RevokeResult{Stranded: []passkey.User{}, DryRun: opts.DryRun}
		// Batch by batch, in the lock order: lock and read the rows, then
		// delete what that lock holds, while the pages just read are still
		// in the server's cache (a revoke of thousands of passkeys spread
		// over a table larger than MariaDB's buffer pool read every page
		// twice when all were locked first and deleted after). A batch
		// deletes only rows its own lock pass locked, so the locks taken
		// and their order are those of locking everything first: what the
		// lock pass cannot lock is deleted after the last batch
		// (plan.deleteRest).
		locked := make(map[string]lockedPasskey, len(set.ids))
		var lost lostPasskeys
		// Whether each user keeps another passkey (plan.signIns[0]) is
		// read after every batch that deletes one of theirs, while the
		// pages of the user's rows are still cached; the answer read
		// after the last such batch stands, as no later statement of the
		// revoke deletes one of their passkeys.
		left := map[string]bool{}
		ahead := d.newReadAhead(ctx, lookup)
		defer ahead.stop()
		for batch := range slices.Chunk(set.ids, batchSize) {
			// The read-ahead reads the batch's rows on other connections
			// while the lock pass reads them in order on this one.
			ahead.read(batch)
			found, err := plan.lock(ctx, tx, batch)
			if err != nil {
				return err
			}
			if set.owners != nil {
				if err := lost.check(batch, set.owners, found); err != nil {
					return err
				}
				if lost.any() {
					// Nothing more is deleted; the remaining batches are
					// only locked, so that the error counts every passkey
					// gone, as when all were locked first.
					continue
				}
			}
			current := make([]passkey.Passkey, 0, len(found))
			for _, id := range batch {
				if f, ok := found[id]; ok {
					current = append(current, f.passkey)
					locked[id] = f
				}
			}
			if set.settled != nil {
				if err := set.settled(batch, locked); err != nil {
					return err
				}
			}
			if len(current) == 0 {
				continue
			}
			if plan.check != nil {
				if err := plan.check(ctx, tx, current); err != nil {
					return err
				}
			}
			if err := plan.deletePasskeys(ctx, tx, current, res); err != nil {
				return err
			}
			users := distinctUserIDs(current)
			kept, err := d.usersWithRows(ctx, tx, plan.signIns[:1], users)
			if err != nil {
				return err
			}
			for _, u := range users {
				left[u] = kept[u]
			}
		}
		if err := lost.err(); err != nil {
			return err
		}
		callerOrder, err := set.order(locked)
		if err != nil {
			return err
		}
		current := make([]passkey.Passkey, 0, len(locked))
		for _, id := range set.ids {
			if f, ok := locked[id]; ok {
				current = append(current, f.passkey)
			}
		}
		if plan.deleteRest != nil {
			if err := plan.deleteRest(ctx, tx, current, res); err != nil {
				return err
			}
		}
		entry = d.auditEntry(s, store.AuditRevoke, store.RevokeSummary(len(current), opts.RevokeSessions))
		if opts.Backup != nil || entry != nil {
			at := opts.Now().UTC().Format(timeFormatMillis)
			records := make([]passkey.ExportRecord, len(current))
			for i, p := range current {
				records[i] = locked[p.CredentialID].record()
				records[i].RevokedAt = &at
			}
			// Written once every row is deleted, still before the commit:
			// a revoke that fails appends nothing to the backup.
			if opts.Backup != nil {
				if err := opts.Backup(records); err != nil {
					return err
				}
			}
			if entry != nil {
				entry.AddRemoved(records...)
			}
		}
		// The caller's order, with the rows as they were when locked.
		res.Passkeys = make([]passkey.Passkey, len(callerOrder))
		for i, id := range callerOrder {
			res.Passkeys[i] = locked[id].passkey
		}
		users, emails := distinctUsers(res.Passkeys)
		if opts.RevokeSessions {
			tuples := make([][]string, len(users))
			for i, u := range users {
				tuples[i] = []string{u}
			}
			if res.Sessions, err = d.deleteTuples(ctx, tx, plan.sessions.table, "", nil, []string{plan.sessions.col}, tuples); err != nil {
				return err
			}
			if entry != nil {
				entry.Sessions = res.Sessions
			}
		}
		// The users left without a passkey may keep another way to sign
		// in (an OAuth or password account).
		var without []string
		for _, u := range users {
			if !left[u] {
				without = append(without, u)
			}
		}
		kept, err := d.usersWithRows(ctx, tx, plan.signIns[1:], without)
		if err != nil {
			return err
		}
		maps.Copy(left, kept)
		for _, u := range users {
			if !left[u] {
				res.Stranded = append(res.Stranded, passkey.User{ID: u, Email: emails[u]})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// readAhead reads, on connections of its own and without locking, the
// passkeys of the batch revoke's lock pass is locking, at the same time:
// the lock pass reads on one connection, and InnoDB reads each page it
// misses synchronously, one after the other (Dialect.readers), so with
// the read-ahead it finds most pages cached or already being read.
// Reading one batch further ahead did worse (20,000 InnoDB page reads
// against 16,000 for 5,000 spread passkeys out of 1,000,000): a page read
// less than a second before the transaction used it stays in the old part
// of MariaDB's buffer pool, and the next batch's pages pushed it out
// before that batch's DELETEs came to it. Its reads are only a warm-up: an
// error is ignored (a connection limit refusing the extra connections, a
// cancelled read), as the lock pass reads whatever they did not.
type readAhead struct {
	ctx    context.Context
	cancel context.CancelFunc
	lookup *credentialLookup
	// slots bounds the reads running at once to Dialect.readers.
	slots chan struct{}
	wg    sync.WaitGroup
}

// newReadAhead returns the read-ahead of a revoke's transaction (ctx);
// nil, which reads nothing, where the dialect reads on one connection.
func (d *DB) newReadAhead(ctx context.Context, lookup *credentialLookup) *readAhead {
	n := d.Dialect.parallelReads()
	if n <= 1 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	return &readAhead{ctx: ctx, cancel: cancel, lookup: lookup, slots: make(chan struct{}, n)}
}

// read starts reading the passkeys of ids, split over the connections.
func (r *readAhead) read(ids []string) {
	if r == nil {
		return
	}
	n := cap(r.slots)
	for part := range slices.Chunk(ids, (len(ids)+n-1)/n) {
		r.wg.Go(func() {
			select {
			case r.slots <- struct{}{}:
			case <-r.ctx.Done():
				return
			}
			defer func() { <-r.slots }()
			_ = r.lookup.find(r.ctx, part, func(passkey.Passkey) error { return nil })
		})
	}
}

// stop cancels the reads still running and waits for them.
func (r *readAhead) stop() {
	if r == nil {
		return
	}
	r.cancel()
	r.wg.Wait()
}

// timeFormatMillis is RFC 3339 with milliseconds, as the export format
// writes times.
const timeFormatMillis = "2006-01-02T15:04:05.000Z07:00"

// lockedPasskey is a passkey row locked by Revoke: as list shows it, and
// as the export format writes it. The record is made only for --backup: it
// checks the public key again, which a plain revoke does not need.
type lockedPasskey struct {
	passkey passkey.Passkey
	record  func() passkey.ExportRecord
}

// lockClause is what follows a SELECT of passkey rows (alias alias) to lock
// them in credential ID order: FOR UPDATE on PostgreSQL (of the passkey
// table only: the joined rows may be missing) and MySQL; nothing on SQLite,
// where the transaction already holds the database's write lock.
func (d *DB) lockClause(alias, credCol string) string {
	order := " ORDER BY " + alias + "." + d.Q(credCol)
	switch d.Dialect {
	case Postgres:
		return order + " FOR UPDATE OF " + alias
	case MySQL:
		return order + " FOR UPDATE"
	}
	return order
}

// lostPasskeys collects, batch by batch, the passkeys that Revoke did not
// find locked as they were looked up.
type lostPasskeys struct{ missing []string }

// check checks that every passkey of batch (stored credential IDs) was
// found locked with the owner it had when looked up (owners): a missing
// one is noted (it was revoked since it was looked up; err reports them
// all), another owner is ErrConflict at once.
func (l *lostPasskeys) check(batch []string, owners map[string]string, found map[string]lockedPasskey) error {
	for _, id := range batch {
		f, ok := found[id]
		switch {
		case !ok:
			l.missing = append(l.missing, id)
		case f.passkey.UserID != owners[id]:
			return fmt.Errorf("revoke %s: the passkey now belongs to user %s, not %s as when it was looked up: %w; nothing was revoked, run the command again", id, f.passkey.UserID, owners[id], passkey.ErrConflict)
		}
	}
	return nil
}

func (l *lostPasskeys) any() bool { return len(l.missing) > 0 }

// err is ErrNotFound naming the passkeys gone, nil when none is.
func (l *lostPasskeys) err() error {
	if !l.any() {
		return nil
	}
	const show = 5
	list, more := l.missing, ""
	if len(list) > show {
		list, more = list[:show], fmt.Sprintf(" and %d more", len(l.missing)-show)
	}
	return fmt.Errorf("revoke: %d credential(s) %w since they were looked up (revoked by another run?): %s%s; nothing was revoked", len(l.missing), passkey.ErrNotFound, strings.Join(list, ", "), more)
}

// userColumn is a table's column that holds a user id.
type userColumn struct{ table, col string }

// revokePlan is what Revoke does on one app.
type revokePlan struct {
	// check refuses, before a batch's locked passkeys are deleted, a
	// revoke that must not run; nil when there is nothing to check.
	check func(ctx context.Context, tx *sqlx.Tx, passkeys []passkey.Passkey) error
	// lock reads and locks the rows of one batch of stored credential
	// IDs (at most batchSize, in byte order) and returns those it found,
	// by credential ID: only exact matches.
	lock func(ctx context.Context, tx *sqlx.Tx, batch []string) (map[string]lockedPasskey, error)
	// deletePasskeys deletes the rows of one batch that its lock pass
	// locked (the passkeys as locked), or fails with ErrConflict when
	// they are not all there as read.
	deletePasskeys func(ctx context.Context, tx *sqlx.Tx, passkeys []passkey.Passkey, res *store.RevokeResult) error
	// deleteRest deletes, after the last batch, the passkeys' rows that
	// their lock pass could not lock; nil when there are none.
	deleteRest func(ctx context.Context, tx *sqlx.Tx, passkeys []passkey.Passkey, res *store.RevokeResult) error
	// sessions is the session table's user column (with RevokeSessions).
	sessions userColumn
	// signIns are the rows that still let a user sign in: the passkey
	// table first, then accounts (OAuth, password).
	signIns []userColumn
}

func (d *DB) revokePlanFor(s *Schema, opts store.RevokeOptions) (*revokePlan, error) {
	return s.app().revokePlan(d, s, opts)
}

// deleteAuthjsPasskeys deletes one batch's Authenticator rows, each by
// (userId, credentialID), and, where the lock pass locked them
// (Dialect.lockCoversJoins), their Account rows as the lock pass found
// them: by the passkey's providerAccountId. The other Account rows go in
// deleteAuthjsAccounts.
func (d *DB) deleteAuthjsPasskeys(ctx context.Context, tx *sqlx.Tx, s *Schema, passkeys []passkey.Passkey, providerID string, res *store.RevokeResult) error {
	auth := make([][]string, len(passkeys))
	for i, p := range passkeys {
		auth[i] = []string{p.UserID, p.CredentialID}
	}
	n, err := d.deleteTuples(ctx, tx, s.Authenticator.Name, "", nil, []string{"userId", "credentialID"}, auth)
	if err != nil {
		return err
	}
	if n != int64(len(passkeys)) {
		return fmt.Errorf("revoke: %d of %d passkeys changed or were removed since they were read: %w; nothing was revoked, run the command again", int64(len(passkeys))-n, len(passkeys), passkey.ErrConflict)
	}
	if s.Account == nil || !d.Dialect.lockCoversJoins {
		return nil
	}
	var acc [][]string
	for _, p := range passkeys {
		if accountLocked(p) {
			acc = append(acc, []string{p.UserID, p.ProviderAccountID})
		}
	}
	return d.deleteAccountTuples(ctx, tx, s, providerID, acc, res)
}

// deleteAuthjsAccounts deletes, after the last batch, the passkeys'
// Account rows that deleteAuthjsPasskeys left: all of them where the lock
// pass locks the Authenticator rows alone (PostgreSQL), and everywhere the
// rows it did not find (an Account row added since, or one under the
// credential ID where it differs from providerAccountId).
func (d *DB) deleteAuthjsAccounts(ctx context.Context, tx *sqlx.Tx, s *Schema, passkeys []passkey.Passkey, providerID string, res *store.RevokeResult) error {
	if s.Account == nil {
		return nil
	}
	// Auth.js joins on the Authenticator's providerAccountId; the
	// credentialID is the same string in every row Auth.js writes, and an
	// Account left with it would become an orphan, so both go.
	var acc [][]string
	for _, p := range passkeys {
		if !d.Dialect.lockCoversJoins || !accountLocked(p) {
			acc = append(acc, []string{p.UserID, p.ProviderAccountID})
		}
		if p.CredentialID != p.ProviderAccountID {
			acc = append(acc, []string{p.UserID, p.CredentialID})
		}
	}
	return d.deleteAccountTuples(ctx, tx, s, providerID, acc, res)
}

// accountLocked reports whether the lock pass that read p found its
// Account row (by provider and providerAccountId, as Auth.js joins them):
// every status but no-account says it did.
func accountLocked(p passkey.Passkey) bool { return p.Status != passkey.StatusNoAccount }

// deleteAccountTuples deletes the passkeys' webauthn Account rows of
// providerID whose (userId, providerAccountId) is one of tuples, and
// counts them in res.
func (d *DB) deleteAccountTuples(ctx context.Context, tx *sqlx.Tx, s *Schema, providerID string, tuples [][]string, res *store.RevokeResult) error {
	if len(tuples) == 0 {
		return nil
	}
	fixed, fixedArgs := d.webauthnAccountOf(providerID)
	n, err := d.deleteTuples(ctx, tx, s.Account.Name, fixed, fixedArgs, accountTupleColumns, tuples)
	res.Accounts += n
	return err
}

// accountTupleColumns are the columns of an Account row revoke deletes
// besides webauthnAccountOf's.
var accountTupleColumns = []string{"userId", "providerAccountId"}

// webauthnAccountOf is the condition of the Passkey provider's Account
// rows, and its arguments.
func (d *DB) webauthnAccountOf(providerID string) (string, []any) {
	return d.ExactEq(d.Q("provider")) + " AND " + d.Q("type") + " = 'webauthn'", []any{providerID, providerID}
}

// checkProviderID refuses to revoke when --provider-id is wrong: a passkey
// with no Account row under providerID whose webauthn Account row exists
// under another provider belongs to an app that renamed its provider.
// Deleting its Authenticator row would leave that Account row behind as an
// orphan, so nothing is revoked and the error names the provider to use.
// One batch of such passkeys is enough to tell.
func (d *DB) checkProviderID(ctx context.Context, tx *sqlx.Tx, s *Schema, passkeys []passkey.Passkey, providerID string) error {
	var c store.ProviderCheck
	for _, p := range passkeys {
		c.AddPasskey(p)
	}
	hint, err := d.wrongProviderHint(ctx, tx, s, &c, providerID)
	if err != nil || hint == "" {
		return err
	}
	return fmt.Errorf("%w: revoke: %s; nothing was revoked", passkey.ErrInvalid, hint)
}

// deleteTuples deletes from table the rows whose cols equal one of tuples
// (byte-exactly), batchSize tuples per statement, each statement also
// restricted by fixed (with fixedArgs). It returns the rows deleted.
func (d *DB) deleteTuples(ctx context.Context, tx *sqlx.Tx, table, fixed string, fixedArgs []any, cols []string, tuples [][]string) (int64, error) {
	var total int64
	for start := 0; start < len(tuples); start += batchSize {
		batch := tuples[start:min(start+batchSize, len(tuples))]
		where, args := d.tupleMatch(cols, batch, fixed, fixedArgs)
		r, err := tx.ExecContext(ctx, d.Dialect.Rebind("DELETE FROM "+d.Q(table)+" WHERE "+where), args...)
		if err != nil {
			return 0, d.Err("revoke: delete from "+table, err)
		}
		n, err := r.RowsAffected()
		if err != nil {
			return 0, d.Err("revoke: delete from "+table, err)
		}
		total += n
	}
	return total, nil
}

// tupleMatch is the condition that a row's cols equal one of tuples,
// compared as ExactEq compares, and that fixed (with fixedArgs) holds, in
// the shape each dialect runs fastest through its indexes. The last of
// cols is the one an index finds by itself (the credential ID, or
// providerAccountId after Account's fixed provider); it leads:
//
//   - PostgreSQL: last = ANY($1) AND (c1::text, ...) IN (SELECT * FROM
//     unnest($2::text[], ...)), one array per column. Planning anyTuple's
//     OR of 500 terms took 24-40 ms per statement, longer than running it;
//     this takes 1-7 ms. The casts to text keep the comparison exact for
//     the id types an app uses (text, uuid, integer, in their canonical
//     form as read back) and the column's collation.
//   - SQLite: last IN (?, ...) AND (c1, ...) IN (VALUES (?, ...), ...),
//     where SQLite compares each value with the column's affinity and
//     collation, as = does. Preparing anyTuple's OR of 500 terms took
//     18-23 ms per statement; this takes about 1.
//   - MySQL/MariaDB: last IN (?, ...) AND (CAST(c1 AS BINARY), ...) IN
//     ((?, ...), ...), whose binary comparisons keep the match exact under
//     case-insensitive collations. anyTuple's OR of 500 terms was tested
//     term by term on each row: with every page cached, a DELETE of 500
//     Account rows took 45 ms, this takes 8-11 ms (MariaDB 10.11), and
//     revoke of 5,000 spread passkeys out of 1,000,000 went from 3.9 s to
//     3.2 s.
func (d *DB) tupleMatch(cols []string, tuples [][]string, fixed string, fixedArgs []any) (string, []any) {
	var conds []string
	var args []any
	if fixed != "" {
		conds = append(conds, fixed)
		args = append(args, fixedArgs...)
	}
	last := len(cols) - 1
	column := func(j int) []string {
		vals := make([]string, len(tuples))
		for i, t := range tuples {
			vals[i] = t[j]
		}
		return vals
	}
	in, inArgs := d.inList(d.Q(cols[last]), column(last))
	conds = append(conds, in)
	args = append(args, inArgs...)
	if len(cols) > 1 || d.Dialect == MySQL {
		quoted := make([]string, len(cols))
		for j, c := range cols {
			quoted[j] = d.Q(c)
		}
		switch d.Dialect {
		case Postgres:
			arrays := make([]string, len(cols))
			for j := range cols {
				quoted[j] += "::text"
				arrays[j] = "?::text[]"
				args = append(args, pq.StringArray(column(j)))
			}
			conds = append(conds, "("+strings.Join(quoted, ", ")+") IN (SELECT * FROM unnest("+strings.Join(arrays, ", ")+"))")
		default:
			values := "VALUES "
			if d.Dialect == MySQL {
				// A plain list of rows, which MySQL and MariaDB both
				// read (their VALUES constructors differ); one column
				// too, for its binary form.
				values = ""
				for j := range quoted {
					quoted[j] = d.binary(quoted[j])
				}
			}
			row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
			rows := make([]string, len(tuples))
			for i, t := range tuples {
				rows[i] = row
				for _, v := range t {
					args = append(args, v)
				}
			}
			conds = append(conds, "("+strings.Join(quoted, ", ")+") IN ("+values+strings.Join(rows, ", ")+")")
		}
	}
	return strings.Join(conds, " AND "), args
}

// anyTuple returns "(c1 = v AND c2 = v) OR (...)" for tuples, with each
// comparison byte-exact (ExactEq) and still able to use the indexes. A
// fixed condition (with its arguments) goes into every term, not around
// the whole OR: SQLite then looks each term up in an index that starts
// with the fixed column (Account's (provider, providerAccountId)); with
// the condition outside it read every row the condition matched (every
// passkey's Account) and tested the whole OR on each, 1.4 s per 500 IDs at
// 50,000 passkeys.
func (d *DB) anyTuple(cols []string, tuples [][]string, fixed string, fixedArgs []any) (string, []any) {
	var b strings.Builder
	args := make([]any, 0, len(tuples)*(len(cols)*2+len(fixedArgs)))
	for i, t := range tuples {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteString("(")
		if fixed != "" {
			b.WriteString(fixed + " AND ")
			args = append(args, fixedArgs...)
		}
		for j, c := range cols {
			if j > 0 {
				b.WriteString(" AND ")
			}
			b.WriteString(d.ExactEq(d.Q(c)))
			args = append(args, t[j], t[j])
		}
		b.WriteString(")")
	}
	return b.String(), args
}

// usersWithRows returns which of users still own a row in one of the
// tables. It looks in each table, in order, only for the users no earlier
// table had a row of: a user who keeps a passkey needs no look at Account,
// which in Auth.js's own schemas on PostgreSQL and SQLite (Prisma's and
// Drizzle's) has no index on userId, so that any lookup there reads the
// whole table. For that case the users go to each table in as few
// statements as the dialect takes (userListSize): one read of the table
// per revoke, not one per batchSize users (10 reads of 1,000,000 Account
// rows for 5,000 users took 0.85 s on PostgreSQL and 2.2 s on SQLite).
func (d *DB) usersWithRows(ctx context.Context, q sqlx.QueryerContext, tables []userColumn, users []string) (map[string]bool, error) {
	left := map[string]bool{}
	for _, t := range tables {
		var todo []string
		for _, u := range users {
			if !left[u] {
				todo = append(todo, u)
			}
		}
		if len(todo) == 0 {
			break
		}
		for batch := range slices.Chunk(todo, d.userListSize()) {
			in, args := d.inList(d.Q(t.col), batch)
			rows, err := q.QueryContext(ctx, d.Dialect.Rebind("SELECT "+d.Q(t.col)+" FROM "+d.Q(t.table)+" WHERE "+in), args...)
			if err != nil {
				return nil, d.Err("revoke: check remaining sign-in methods", err)
			}
			for rows.Next() {
				var u string
				if err := rows.Scan(&u); err != nil {
					rows.Close()
					return nil, d.Err("revoke: check remaining sign-in methods", err)
				}
				left[u] = true
			}
			if err := rows.Close(); err != nil {
				return nil, d.Err("revoke: check remaining sign-in methods", err)
			}
			if err := rows.Err(); err != nil {
				return nil, d.Err("revoke: check remaining sign-in methods", err)
			}
		}
	}
	return left, nil
}

// userListSize is how many user IDs usersWithRows puts into one IN list:
// all of them on PostgreSQL (inList passes one array); 30,000 on SQLite
// (at most 32,766 placeholders); batchSize on MySQL, where MariaDB turns
// an IN list of 1,000 values or more into a join with a derived table,
// whose plan the indexes no longer decide alone.
func (d *DB) userListSize() int {
	switch d.Dialect {
	case Postgres:
		return math.MaxInt
	case SQLite:
		return 30_000
	}
	return batchSize
}

// distinctUserIDs returns the passkeys' user IDs in first-seen order.
func distinctUserIDs(passkeys []passkey.Passkey) []string {
	users, _ := distinctUsers(passkeys)
	return users
}

// distinctUsers returns the passkeys' user IDs in first-seen order and
// their e-mails.
func distinctUsers(passkeys []passkey.Passkey) ([]string, map[string]*string) {
	var users []string
	emails := map[string]*string{}
	for _, p := range passkeys {
		if _, ok := emails[p.UserID]; !ok {
			users = append(users, p.UserID)
			emails[p.UserID] = p.Email
		}
	}
	return users, emails
}
