package db

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// maxReported caps the problems an import collects before it stops
// reading: enough to fix a batch of them at once.
const maxReported = 1000

// Import reads the export format from r and writes every passkey into the
// schema's app in the exact encoding that app expects: for Auth.js the
// Authenticator + Account pair, for Better Auth one passkey row. Users are
// matched by id, then by e-mail case-insensitively. Everything happens in
// one transaction: when a user is missing (ErrNotFound), a credential
// conflicts (ErrConflict, with OnConflict fail) or a line is invalid
// (ErrInvalid), nothing is written, and the result lists every problem
// found.
//
// What a crash or a repeated revoke --backup leaves in a backup never stops
// the restore: a torn record is reported by its line and skipped, several
// records of one credential are imported as one passkey (the highest
// counter, the latest flags), records of passkeys that cannot sign in are
// left out, and a backup record of a passkey the target still holds is
// skipped; each with a warning.
//
// Imports into one database run one after the other (an application lock
// held by the transaction), so concurrent imports of the same input give
// the answer one of them would give alone: with OnConflict skip, every one
// succeeds and nothing is written twice. When r is a file (an io.Seeker),
// a transaction that fails on a deadlock is run again from the start.
func (d *DB) Import(ctx context.Context, s *Schema, r io.Reader, opts store.ImportOptions) (*store.ImportResult, error) {
	if _, err := d.newImporter(s, opts); err != nil {
		return nil, err
	}
	txo := txOptions{what: "import", lock: "import", rollback: opts.DryRun}
	if rs, ok := r.(io.Seeker); ok {
		if start, err := rs.Seek(0, io.SeekCurrent); err == nil {
			txo.retry = true
			txo.rewind = func() error {
				_, err := rs.Seek(start, io.SeekStart)
				return err
			}
		}
	}
	var imp *importer
	// Warnings wait for the last attempt: a retried transaction reads the
	// input again.
	var warnings []string
	collect := opts
	collect.Warn = func(w string) { warnings = append(warnings, w) }
	txo.audit = func() *store.AuditEntry {
		if imp.entry != nil {
			imp.recordAudit()
		}
		return imp.entry
	}
	err := d.inTx(ctx, txo, func(ctx context.Context, tx *sqlx.Tx) error {
		var err error
		warnings = nil
		if imp, err = d.newImporter(s, collect); err != nil {
			return err
		}
		imp.tx = tx
		imp.entry = d.auditEntry(s, store.AuditImport, "")
		err = imp.run(ctx, passkey.NewExportReader(r))
		slices.SortStableFunc(imp.res.Unmatched, func(a, b store.ImportUser) int { return a.Line - b.Line })
		slices.SortStableFunc(imp.res.Conflicts, func(a, b store.ImportConflict) int { return a.Line - b.Line })
		if err != nil {
			return err
		}
		if len(imp.res.Unmatched) > 0 {
			return imp.unmatchedError()
		}
		if len(imp.res.Conflicts) > 0 {
			return imp.conflictError()
		}
		imp.warnDuplicates()
		return nil
	})
	if opts.Warn != nil {
		for _, w := range warnings {
			opts.Warn(w)
		}
	}
	if imp == nil {
		return nil, err
	}
	return imp.res, err
}

// recordAudit fills the import's audit entry from what the run wrote: the
// passkeys inserted and updated, as known records them (one allocation of
// each list at the end, rather than lists grown batch by batch: an import
// of 100,000 passkeys stays within its memory budget), and their owners.
func (imp *importer) recordAudit() {
	e := imp.entry
	var added, updated int
	for _, k := range imp.known {
		switch k.outcome {
		case outcomeInserted:
			added++
		case outcomeUpdated:
			updated++
		}
	}
	e.Added = make([]store.AuditPasskey, 0, added)
	e.Updated = make([]store.AuditPasskey, 0, updated)
	for id, k := range imp.known {
		switch k.outcome {
		case outcomeInserted:
			e.Added = append(e.Added, store.AuditPasskey{CredentialID: id, UserID: k.owner})
		case outcomeUpdated:
			e.Updated = append(e.Updated, store.AuditPasskey{CredentialID: id, UserID: k.owner, Before: &k.flags[0], After: &k.flags[1]})
		}
	}
	byID := func(a, b store.AuditPasskey) int { return strings.Compare(a.CredentialID, b.CredentialID) }
	slices.SortFunc(e.Added, byID)
	slices.SortFunc(e.Updated, byID)
	// The owners, once each (sized from the run's user map, which has
	// one entry per input user), with the e-mail of those it created.
	email := make(map[string]*string, len(imp.res.UsersCreated))
	for _, u := range imp.res.UsersCreated {
		email[u.TargetID] = u.Email
	}
	seen := make(map[string]bool, len(imp.users))
	e.Users = make([]store.AuditUser, 0, len(imp.users))
	for _, list := range [][]store.AuditPasskey{e.Added, e.Updated} {
		for _, p := range list {
			if !seen[p.UserID] {
				seen[p.UserID] = true
				e.Users = append(e.Users, store.AuditUser{ID: p.UserID, Email: email[p.UserID]})
			}
		}
	}
	e.SetSummary(store.ImportSummary(imp.res))
}

// importer is one Import run.
type importer struct {
	d *DB
	s *Schema
	// target writes the app's rows (the sqlApp's importTarget).
	target importTarget
	// ut is the target app's user table.
	ut   userTable
	opts store.ImportOptions
	tx   *sqlx.Tx
	res  *store.ImportResult
	now  time.Time
	// entry is the audit entry of what the import wrote; nil when d
	// records nothing.
	entry *store.AuditEntry

	// users maps an input user (userKey) to the target user id; failed
	// users map to "".
	users map[string]string
	// byEmail maps lower-cased e-mails of users created in this run to
	// their id, so later records of the same person find them.
	byEmail map[string]string
	// known maps each credential ID (base64url) of the input read so far
	// to its owner in the target, its first line and what became of it.
	known map[string]*knownCredential
	batch []*passkey.Normalized
	// normalized are the records batch points to, reused from batch to
	// batch.
	normalized []*passkey.Normalized
	// duplicateLines are the first lines that repeat a credential.
	duplicateLines []int
	// accountUsers maps the users this import gives an Account row to
	// the line that does (Account.userId UNIQUE only).
	accountUsers map[string]int
	// scratch is a buffer lookups reuse, key one userOf reuses.
	scratch, key []byte
	// inserts, owners and seen are flush's and resolveUsers' storage,
	// reused from batch to batch.
	inserts []*passkey.Normalized
	owners  map[*passkey.Normalized]string
	seen    map[string]bool
	// stored and ends are existing()'s, reused likewise.
	stored []string
	ends   []int
}

// knownCredential is a credential of the input and what import does with
// it.
type knownCredential struct {
	line  int
	owner string
	// outcome is what the first record of the credential became; later
	// records of it are merged into it.
	outcome credentialOutcome
	// pending is the record about to be inserted or updated in the
	// current batch, into which later records of the batch are merged.
	pending *passkey.Normalized
	// flags are, for a passkey updated, its flags before and after
	// (merged records included): its audit entry's Before and After.
	flags *[2]store.AuditFlags
}

// setAfter records n's flags as those an updated passkey is left with:
// the last record's, as merge keeps them.
func (k *knownCredential) setAfter(n *passkey.Normalized) {
	if k.flags != nil {
		k.flags[1] = store.AuditFlags{DeviceType: n.Rec.DeviceType, BackedUp: n.Rec.BackedUp}
	}
}

// credentialOutcome is what import does with a credential.
type credentialOutcome int

const (
	outcomeInserted credentialOutcome = iota
	outcomeUpdated
	outcomeSkipped
	outcomeRefused // a conflict or an unmatched owner
)

func userKey(u passkey.ExportUser) string {
	return string(appendUserKey(nil, u))
}

func appendUserKey(b []byte, u passkey.ExportUser) []byte {
	b = append(b, u.ID...)
	b = append(b, 0)
	if u.Email != nil {
		b = append(b, strings.ToLower(*u.Email)...)
	}
	return b
}

// userOf is imp.users[userKey(u)], without making the key: it is looked
// up for every record.
func (imp *importer) userOf(u passkey.ExportUser) (string, bool) {
	imp.key = appendUserKey(imp.key[:0], u)
	id, ok := imp.users[string(imp.key)]
	return id, ok
}

func (d *DB) newImporter(s *Schema, opts store.ImportOptions) (*importer, error) {
	if opts.OnConflict == "" {
		opts.OnConflict = store.ConflictFail
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = d.Dialect.importBatch
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.Warn == nil {
		opts.Warn = func(string) {}
	}
	imp := &importer{
		d: d, s: s, opts: opts, now: opts.Now().UTC().Truncate(time.Millisecond),
		res:   &store.ImportResult{App: string(s.App), DryRun: opts.DryRun, UsersCreated: []store.ImportUser{}, Unmatched: []store.ImportUser{}, Conflicts: []store.ImportConflict{}},
		users: map[string]string{}, byEmail: map[string]string{}, known: map[string]*knownCredential{},
	}
	// Refuse up front what would fail half-way: missing tables, drift, and
	// NOT NULL columns without a default that no app column explains.
	target, err := s.app().importTarget(d, s, opts)
	if err != nil {
		return nil, err
	}
	imp.target = target
	if imp.ut, err = s.users(); err != nil {
		return nil, err
	}
	return imp, nil
}

func (imp *importer) run(ctx context.Context, rd *passkey.ExportReader) error {
	if q := imp.d.Dialect.importSetup; q != "" {
		if _, err := imp.tx.ExecContext(ctx, q); err != nil {
			return imp.d.Err("import: set up the transaction", err)
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, line, err := rd.Next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, passkey.ErrTornRecord) {
			imp.res.Torn++
			imp.opts.Warn(fmt.Sprintf("line %d: %v was skipped; the other records are imported", line, passkey.ErrTornRecord))
			continue
		}
		if err != nil {
			return err
		}
		imp.res.Read++
		if imp.opts.Progress != nil {
			imp.opts.Progress(imp.res.Read)
		}
		// A passkey that could not sign in at the source is left out
		// whatever else is wrong with its record (--include-broken
		// exports, backups of broken passkeys).
		if rec.Version >= 1 && rec.Version <= passkey.ExportFormatVersion && rec.Status != "" && rec.Status != passkey.StatusOK {
			imp.res.Broken++
			imp.opts.Warn(fmt.Sprintf("line %d: passkey %s left out: status %s at the source (it could not sign in there)", line, rec.CredentialID, rec.Status))
			continue
		}
		// The batch's records are validated into the same Normalized
		// values batch after batch: nothing keeps one after its flush.
		if len(imp.batch) == len(imp.normalized) {
			imp.normalized = append(imp.normalized, new(passkey.Normalized))
		}
		n := imp.normalized[len(imp.batch)]
		err = rec.ValidateInto(line, n)
		var broken *passkey.BrokenRecordError
		if errors.As(err, &broken) {
			imp.res.Broken++
			imp.opts.Warn(fmt.Sprintf("line %d: passkey %s left out: %s (it cannot sign in)", line, rec.CredentialID, broken.Reason))
			continue
		}
		if err != nil {
			return err
		}
		imp.batch = append(imp.batch, n)
		if len(imp.batch) >= imp.opts.BatchSize {
			if err := imp.flush(ctx); err != nil {
				return err
			}
		}
		if imp.tooMany() {
			break
		}
	}
	return imp.flush(ctx)
}

func (imp *importer) tooMany() bool {
	return len(imp.res.Unmatched) >= maxReported || len(imp.res.Conflicts) >= maxReported
}

// failed reports whether the import will write nothing: from then on it
// only reads, to report every problem.
func (imp *importer) failed() bool {
	return len(imp.res.Unmatched) > 0 || len(imp.res.Conflicts) > 0
}

// writing reports whether statements that change the target run: until a
// problem makes the import fail, also in a dry run (rolled back at the
// end), so that it fails where the real import would.
func (imp *importer) writing() bool { return !imp.failed() }

// flush handles the batch: users, conflicts, then the writes.
func (imp *importer) flush(ctx context.Context) error {
	batch := imp.batch
	imp.batch = imp.batch[:0]
	if len(batch) == 0 {
		return nil
	}
	if err := imp.resolveUsers(ctx, batch); err != nil {
		return err
	}
	existing, err := imp.existing(ctx, batch)
	if err != nil {
		return err
	}
	// updates are the target's rows that --on-conflict update writes;
	// merges the rows this import wrote that later records update.
	// inserts and owners keep their storage from batch to batch: nothing
	// holds them after the flush.
	var updates, merges []*passkey.Normalized
	inserts := imp.inserts[:0]
	if imp.owners == nil {
		imp.owners = make(map[*passkey.Normalized]string, len(batch))
	}
	owners := imp.owners
	clear(owners)
	defer func() { imp.inserts = inserts[:0] }()
	for _, n := range batch {
		owner, _ := imp.userOf(n.Rec.User)
		id := n.ID
		if k, ok := imp.known[id]; ok {
			// Another record of a credential an earlier line holds: a
			// backup appended to more than once. One passkey, with the
			// highest counter and the latest flags.
			imp.res.Duplicates++
			imp.duplicateLines = append(imp.duplicateLines, n.Line)
			switch {
			case owner == "" || k.outcome == outcomeRefused:
				// Already reported (unmatched user or conflict).
			case k.owner != owner:
				imp.conflict(n, fmt.Sprintf("line %d of the input gives this credential to user %s, this line to user %s", k.line, k.owner, owner))
			case k.outcome == outcomeSkipped:
			case k.pending != nil:
				merge(k.pending, n)
				k.setAfter(n)
			default:
				// Inserted or updated by an earlier batch: update it.
				owners[n] = owner
				k.pending = n
				k.setAfter(n)
				merges = append(merges, n)
			}
			continue
		}
		if owner == "" {
			imp.known[id] = &knownCredential{line: n.Line, outcome: outcomeRefused}
			continue
		}
		owners[n] = owner
		k := &knownCredential{line: n.Line, owner: owner}
		imp.known[id] = k
		ex, found := existing[id]
		switch {
		case !found || !ex.authenticator && ex.owner == owner:
			// New; an Auth.js Account left behind without its
			// Authenticator (same user) is reused.
			inserts = append(inserts, n)
			k.outcome, k.pending = outcomeInserted, n
		case !ex.authenticator:
			imp.conflict(n, fmt.Sprintf("an Account row of another user (%s) holds this credential ID without an Authenticator", ex.owner))
			k.outcome = outcomeRefused
		case imp.opts.OnConflict == store.ConflictUpdate && ex.owner == owner:
			updates = append(updates, n)
			k.outcome, k.pending = outcomeUpdated, n
			k.flags = &[2]store.AuditFlags{ex.flags}
			k.setAfter(n)
		case imp.opts.OnConflict == store.ConflictSkip,
			n.Rec.RevokedAt != nil && ex.owner == owner && ex.publicKeyIs(n.PublicKey):
			// Kept as it is: --on-conflict skip, or a revoke backup's
			// record of the same passkey still there (that revoke did
			// not commit, or the passkey was restored since): nothing
			// to undo, and the stored row is the newer one.
			imp.res.Skipped++
			k.outcome = outcomeSkipped
		case imp.opts.OnConflict == store.ConflictUpdate:
			imp.conflict(n, fmt.Sprintf("already in %s, owned by another user (%s); revoke it there first", imp.tableName(), ex.owner))
			k.outcome = outcomeRefused
		default:
			imp.conflict(n, "already in "+imp.tableName())
			k.outcome = outcomeRefused
		}
	}
	// Records of this batch are merged; the next batch updates the rows.
	for _, ns := range [][]*passkey.Normalized{inserts, updates, merges} {
		for _, n := range ns {
			imp.known[n.ID].pending = nil
		}
	}
	if err := imp.target.checkCounters(imp, inserts, updates, merges); err != nil {
		return err
	}
	if !imp.failed() {
		imp.res.Inserted += len(inserts)
		imp.res.Updated += len(updates)
	}
	if !imp.writing() {
		return nil
	}
	if err := imp.insert(ctx, inserts, owners, existing); err != nil {
		return err
	}
	return imp.update(ctx, append(updates, merges...))
}

// merge folds a later record of the same credential into n: the highest
// counter (a lower one would reopen the replay window the counter
// closes) and the later record's flags.
func merge(n, later *passkey.Normalized) {
	n.Rec.Counter = max(n.Rec.Counter, later.Rec.Counter)
	n.Rec.DeviceType = later.Rec.DeviceType
	n.Rec.BackedUp = later.Rec.BackedUp
}

// warnDuplicates says that records were merged, and where.
func (imp *importer) warnDuplicates() {
	lines := imp.duplicateLines
	if len(lines) == 0 {
		return
	}
	what, where := "1 record repeats", "line"
	if len(lines) > 1 {
		what, where = fmt.Sprintf("%d records repeat", len(lines)), "lines"
	}
	var show []string
	for _, l := range lines[:min(5, len(lines))] {
		show = append(show, fmt.Sprint(l))
	}
	more := ""
	if len(lines) > 5 {
		more = fmt.Sprintf(" and %d more", len(lines)-5)
	}
	imp.opts.Warn(fmt.Sprintf("%s a credential of an earlier line (%s %s%s): each credential is imported once, with its highest counter and its latest flags",
		what, where, strings.Join(show, ", "), more))
}

func (imp *importer) conflict(n *passkey.Normalized, reason string) {
	if len(imp.res.Conflicts) < maxReported {
		imp.res.Conflicts = append(imp.res.Conflicts, store.ImportConflict{Line: n.Line, CredentialID: n.Rec.CredentialID, Reason: reason})
	}
}

func (imp *importer) tableName() string { return imp.target.passkeyTable(imp) }

type targetUser struct{ id, email string }

// importTarget is what an import writes differently in each app: the
// sqlApp's importTarget gives it (authjs_import.go, betterauth_import.go),
// and the importer's steps are written once against it.
type importTarget interface {
	// passkeyTable is the table of the app's passkeys.
	passkeyTable(imp *importer) string
	// columns names the passkey table's columns the import reads and
	// updates.
	columns() importColumns
	// checkCounters refuses counters the counter column cannot hold.
	checkCounters(imp *importer, groups ...[]*passkey.Normalized) error
	// newUserID is the id of a user import creates: the input's where the
	// app's ids allow it, so that a re-import matches by id; "" where the
	// database numbers users (serialUsers).
	newUserID(imp *importer, u passkey.ExportUser) (string, error)
	// userRow is a new user's columns and values.
	userRow(imp *importer, id, email string, u passkey.ExportUser) ([]string, []any)
	// serialUsers names the user table and id column when the database
	// numbers users (inserted one by one, their ids read back).
	serialUsers() (table, idCol string, ok bool)
	// existingAccounts passes scan the app's account rows that hold the
	// stored IDs, if it keeps one per passkey: a query of the stored ID,
	// the owner, then NULL for the passkey row's key and flags.
	existingAccounts(imp *importer, stored []string, scan func(query string, args []any, accountRows bool) error) error
	// insert writes the new passkeys.
	insert(ctx context.Context, imp *importer, ns []*passkey.Normalized, owners map[*passkey.Normalized]string, existing map[string]existingCredential) error
}

// importColumns are the passkey table's columns an import reads and
// updates.
type importColumns struct {
	credential, user, publicKey, counter, deviceType, backedUp string
}

// insert writes the new passkeys as the app stores them.
func (imp *importer) insert(ctx context.Context, ns []*passkey.Normalized, owners map[*passkey.Normalized]string, existing map[string]existingCredential) error {
	if len(ns) == 0 {
		return nil
	}
	return imp.target.insert(ctx, imp, ns, owners, existing)
}

// resolveUsers maps every new input user of the batch to a target user:
// by id (with the e-mail, when both sides have one, agreeing), else by
// e-mail case-insensitively, else by creating them (CreateUsers).
func (imp *importer) resolveUsers(ctx context.Context, batch []*passkey.Normalized) error {
	type pending struct {
		u    passkey.ExportUser
		line int
	}
	var todo []pending
	if imp.seen == nil {
		imp.seen = map[string]bool{}
	}
	seen := imp.seen
	clear(seen)
	for _, n := range batch {
		if _, ok := imp.userOf(n.Rec.User); ok || seen[string(imp.key)] {
			continue
		}
		seen[string(imp.key)] = true
		todo = append(todo, pending{n.Rec.User, n.Line})
	}
	if len(todo) == 0 {
		return nil
	}
	mode := imp.ut.idMode
	// By id.
	var ids []string
	for _, p := range todo {
		if id, ok := mode.usable(p.u.ID); ok {
			ids = append(ids, id)
		}
	}
	byID, err := imp.lookupUsers(ctx, ids, false, false)
	if err != nil {
		return err
	}
	var rest []pending
	for _, p := range todo {
		k := userKey(p.u)
		id, _ := mode.usable(p.u.ID)
		if tu, ok := byID[id]; ok && len(tu) == 1 {
			t := tu[0]
			if p.u.Email != nil && t.email != "" && !strings.EqualFold(*p.u.Email, t.email) {
				imp.unmatched(p.u, p.line, fmt.Sprintf("the target's user %s has the e-mail %s, not %s", t.id, t.email, *p.u.Email))
				imp.users[k] = ""
				continue
			}
			imp.users[k] = t.id
			imp.res.UsersMatched++
			continue
		}
		rest = append(rest, p)
	}
	// By e-mail: exact first (the index), then case-insensitively.
	var emails []string
	for _, p := range rest {
		if p.u.Email != nil && *p.u.Email != "" {
			emails = append(emails, *p.u.Email)
		}
	}
	byEmail, err := imp.lookupUsers(ctx, emails, true, false)
	if err != nil {
		return err
	}
	var missing []string
	for _, e := range emails {
		if len(byEmail[strings.ToLower(e)]) == 0 {
			missing = append(missing, strings.ToLower(e))
		}
	}
	// Where "=" already ignores case (MySQL's *_ci collations), the exact
	// lookup found every case-insensitive match and this one would find
	// nothing more, reading the whole table for it.
	if len(missing) > 0 && !imp.d.foldsCase(imp.ut.table, imp.ut.email) {
		more, err := imp.lookupUsers(ctx, missing, true, true)
		if err != nil {
			return err
		}
		for k, v := range more {
			byEmail[k] = v
		}
	}
	var create, later []pending
	creating := map[string]bool{}
	for _, p := range rest {
		k := userKey(p.u)
		email := ""
		if p.u.Email != nil {
			email = strings.ToLower(*p.u.Email)
		}
		if id, ok := imp.byEmail[email]; ok && email != "" {
			imp.users[k] = id
			continue
		}
		switch tu := byEmail[email]; {
		case email != "" && len(tu) == 1:
			imp.users[k] = tu[0].id
			imp.res.UsersMatched++
		case email != "" && len(tu) > 1:
			var ids []string
			for _, t := range tu {
				ids = append(ids, t.id)
			}
			imp.unmatched(p.u, p.line, fmt.Sprintf("the e-mail matches %d users in the target (%s)", len(tu), strings.Join(ids, ", ")))
			imp.users[k] = ""
		case !imp.opts.CreateUsers:
			imp.unmatched(p.u, p.line, "")
			imp.users[k] = ""
		case email == "":
			imp.unmatched(p.u, p.line, "no e-mail in the input: cannot create the user")
			imp.users[k] = ""
		case creating[email]:
			// The same person under another input id: one user.
			later = append(later, p)
		default:
			creating[email] = true
			create = append(create, p)
		}
	}
	var us []passkey.ExportUser
	var lines []int
	for _, p := range create {
		us = append(us, p.u)
		lines = append(lines, p.line)
	}
	if err := imp.createUsers(ctx, us, lines); err != nil {
		return err
	}
	for _, p := range later {
		imp.users[userKey(p.u)] = imp.byEmail[strings.ToLower(*p.u.Email)]
	}
	return nil
}

func (imp *importer) unmatched(u passkey.ExportUser, line int, reason string) {
	if len(imp.res.Unmatched) < maxReported {
		imp.res.Unmatched = append(imp.res.Unmatched, store.ImportUser{Line: line, ID: u.ID, Email: u.Email, Reason: reason})
	}
}

// lookupUsers finds the target's users whose id (byEmail false) or e-mail
// (byEmail true; with folded, LOWER(e-mail), for lower-cased values) is
// one of values, and returns them keyed by the value (lower-cased for
// e-mails). Values are compared exactly in Go as well: MySQL's collations
// match case-insensitively.
func (imp *importer) lookupUsers(ctx context.Context, values []string, byEmail, folded bool) (map[string][]targetUser, error) {
	out := map[string][]targetUser{}
	d, ut := imp.d, imp.ut
	expr := d.Q(ut.id)
	switch {
	case byEmail && folded:
		expr = d.Dialect.Lower(d.Q(ut.email))
	case byEmail:
		expr = d.Q(ut.email)
	}
	for chunk := range slices.Chunk(values, 500) {
		in, args := d.inList(expr, chunk)
		query := "SELECT " + d.Q(ut.id) + ", " + d.Q(ut.email) + " FROM " + d.Q(ut.table.Name) + " WHERE " + in
		rows, err := imp.tx.QueryContext(ctx, d.Dialect.Rebind(query), args...)
		if err != nil {
			return nil, d.Err("find users", err)
		}
		want := map[string]bool{}
		for _, v := range chunk {
			if byEmail {
				v = strings.ToLower(v)
			}
			want[v] = true
		}
		for rows.Next() {
			var id string
			var email sql.NullString
			if err := rows.Scan(&id, &email); err != nil {
				rows.Close()
				return nil, d.Err("find users", err)
			}
			key := id
			if byEmail {
				key = strings.ToLower(email.String)
			}
			if !want[key] {
				continue
			}
			out[key] = append(out[key], targetUser{id: id, email: email.String})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, d.Err("find users", err)
		}
	}
	return out, nil
}

// createUsers inserts the users (in batches, or one by one when the
// database numbers them) and records them.
func (imp *importer) createUsers(ctx context.Context, us []passkey.ExportUser, lines []int) error {
	d := imp.d
	serialTable, serialID, serial := imp.target.serialUsers()
	var cols []string
	var rows [][]any
	for i, u := range us {
		email := strings.TrimSpace(*u.Email)
		id, err := imp.target.newUserID(imp, u)
		if err != nil {
			return err
		}
		var vals []any
		cols, vals = imp.target.userRow(imp, id, email, u)
		switch {
		case serial && imp.writing():
			if id, err = imp.insertReturningID(ctx, serialTable, serialID, cols, vals); err != nil {
				return err
			}
		case serial:
			id = fmt.Sprintf("(new %d)", len(imp.res.UsersCreated)+1)
		}
		shown := id
		if serial && imp.opts.DryRun {
			// The number the rolled-back insert drew is not the one a
			// real run would get.
			shown = fmt.Sprintf("(new %d)", len(imp.res.UsersCreated)+1)
		}
		if !serial {
			rows = append(rows, vals)
		}
		imp.users[userKey(u)] = id
		imp.byEmail[passkey.BetterAuthEmail(email)] = id
		imp.res.UsersCreated = append(imp.res.UsersCreated, store.ImportUser{Line: lines[i], ID: u.ID, Email: u.Email, TargetID: shown})
	}
	if !imp.writing() || len(rows) == 0 {
		return nil
	}
	return d.writeRows(ctx, imp.tx, imp.ut.table.Name, cols, "create users", func(w rowWriter) error {
		for _, row := range rows {
			for _, v := range row {
				if err := w.value(v); err != nil {
					return err
				}
			}
			if err := w.endRow(); err != nil {
				return err
			}
		}
		return nil
	})
}

// insertReturningID inserts one row and returns the id the database gave
// it.
func (imp *importer) insertReturningID(ctx context.Context, table, idCol string, cols []string, vals []any) (string, error) {
	d := imp.d
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = d.Q(c)
	}
	query := "INSERT INTO " + d.Q(table) + " (" + strings.Join(quoted, ", ") + ") VALUES (" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	if d.Dialect == MySQL {
		res, err := imp.tx.ExecContext(ctx, query, vals...)
		if err != nil {
			return "", d.Err("create user", err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return "", d.Err("create user", err)
		}
		return fmt.Sprint(id), nil
	}
	var id string
	if err := imp.tx.QueryRowContext(ctx, d.Dialect.Rebind(query+" RETURNING "+d.Q(idCol)), vals...).Scan(&id); err != nil {
		return "", d.Err("create user", err)
	}
	return id, nil
}

// existingCredential is a credential the target already holds.
type existingCredential struct {
	owner string
	// authenticator is false for an Auth.js Account row whose
	// Authenticator is missing.
	authenticator bool
	// publicKey is the stored COSE key (base64) of a passkey row.
	publicKey string
	// flags are a passkey row's, which an update overwrites and its
	// audit entry keeps.
	flags store.AuditFlags
}

// publicKeyIs reports whether the stored key is key (standard base64),
// comparing the decoded bytes.
func (ex existingCredential) publicKeyIs(key string) bool {
	a, err1 := passkey.DecodeBase64(ex.publicKey)
	b, err2 := passkey.DecodeBase64(key)
	return err1 == nil && err2 == nil && len(a) > 0 && bytes.Equal(a, b)
}

// existing returns the batch's credentials that the target already holds,
// keyed by base64url ID, compared exactly.
func (imp *importer) existing(ctx context.Context, batch []*passkey.Normalized) (map[string]existingCredential, error) {
	out := map[string]existingCredential{}
	// The stored IDs, cut from one string (one allocation, not one per
	// passkey); stored's own storage is reused from batch to batch.
	app := imp.s.app()
	arena := imp.scratch[:0]
	ends := imp.ends[:0]
	for _, n := range batch {
		arena = app.appendStoredID(arena, n.RawID)
		ends = append(ends, len(arena))
	}
	all := string(arena)
	imp.scratch, imp.ends = arena, ends
	stored := imp.stored[:0]
	start := 0
	for _, end := range ends {
		stored = append(stored, all[start:end])
		start = end
	}
	imp.stored = stored
	// toURL maps the stored IDs back, made when a row is found (a fresh
	// import finds none).
	var toURL map[string]string
	cols := imp.target.columns()
	table, credCol, userCol, keyCol := imp.tableName(), cols.credential, cols.user, cols.publicKey
	scan := func(query string, args []any, accountRows bool) error {
		rows, err := imp.tx.QueryContext(ctx, imp.d.Dialect.Rebind(query), args...)
		if err != nil {
			return imp.d.Err("check existing credentials", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id, owner string
			var key, dev sql.NullString
			var backed sql.NullBool
			if err := rows.Scan(&id, &owner, &key, &dev, &backed); err != nil {
				return imp.d.Err("check existing credentials", err)
			}
			if toURL == nil {
				toURL = make(map[string]string, len(batch))
				for i, n := range batch {
					toURL[stored[i]] = n.ID
				}
			}
			u, ok := toURL[id]
			if !ok {
				continue // a case-insensitive match on MySQL
			}
			if prev, dup := out[u]; dup && prev.authenticator {
				continue
			}
			out[u] = existingCredential{owner: owner, authenticator: !accountRows, publicKey: key.String, flags: store.AuditFlags{DeviceType: dev.String, BackedUp: backed.Bool}}
		}
		return imp.d.Err("check existing credentials", rows.Err())
	}
	q := imp.d.Q
	// The app's account rows first: a passkey row found next overrides.
	if err := imp.target.existingAccounts(imp, stored, scan); err != nil {
		return nil, err
	}
	query, args := imp.d.selectIn(q(credCol)+", "+q(userCol)+", "+q(keyCol)+", "+q(cols.deviceType)+", "+q(cols.backedUp), q(table), "", nil, q(credCol), stored, &imp.scratch)
	if err := scan(query, args, false); err != nil {
		return nil, err
	}
	return out, nil
}

// checkWidths refuses values that do not fit narrow columns (Prisma's
// VARCHAR(191) on MySQL): a strict server would reject the row, a lax one
// would truncate it and the passkey would never work.
func (imp *importer) checkWidths(ns []*passkey.Normalized, t *Table, values map[string]func(*passkey.Normalized) string) error {
	// In the table's column order, so that the same input always names the
	// same column (a map's order changes from run to run).
	for _, col := range t.Columns {
		colName, f := col.Name, values[col.Name]
		if f == nil {
			continue
		}
		c, ok := t.Column(colName)
		if !ok || c.MaxLength == 0 {
			continue
		}
		for _, n := range ns {
			if v := f(n); len(v) > c.MaxLength {
				return fmt.Errorf("%w: line %d: %s.%s holds %d characters, passkey %s needs %d; nothing was written. Widen the column (see: passkeyctl migrate status)",
					passkey.ErrSchemaNotReady, n.Line, t.Name, colName, c.MaxLength, n.Rec.CredentialID, len(v))
			}
		}
	}
	return nil
}

// update writes the counter and flags of passkeys the target already holds
// for the same user (or that this import wrote and later records update),
// in credential ID order so that concurrent writers lock rows in one
// order. One plain parameterised UPDATE covers up to updateBatch rows:
// no named prepared statement, which behind a transaction-pooling proxy
// would outlive the transaction on a server connection another client
// then gets.
func (imp *importer) update(ctx context.Context, ns []*passkey.Normalized) error {
	if len(ns) == 0 {
		return nil
	}
	d := imp.d
	cols := imp.target.columns()
	table, cred, counter, dev, backed := imp.tableName(), cols.credential, cols.counter, cols.deviceType, cols.backedUp
	type change struct {
		id      string
		counter int64
		dev     string
		backed  bool
	}
	// One change per credential: the highest counter, the last flags.
	byID := map[string]*change{}
	var changes []*change
	for _, n := range ns {
		id := imp.s.app().storedID(n.RawID)
		if c, ok := byID[id]; ok {
			c.counter, c.dev, c.backed = max(c.counter, n.Rec.Counter), n.Rec.DeviceType, n.Rec.BackedUp
			continue
		}
		c := &change{id, n.Rec.Counter, n.Rec.DeviceType, n.Rec.BackedUp}
		byID[id] = c
		changes = append(changes, c)
	}
	slices.SortFunc(changes, func(a, b *change) int { return strings.Compare(a.id, b.id) })
	credCol := d.Q(cred)
	for chunk := range slices.Chunk(changes, updateBatch) {
		// SET col = CASE WHEN <row 1> THEN ... WHEN <row 2> ... END for
		// each column, WHERE the credential is one of the chunk's. The
		// counter never goes down: restoring an old backup over a passkey
		// that has signed in since would otherwise let a replayed or
		// cloned assertion with a counter in between pass the counter
		// rule again.
		var counterSQL, devSQL, backedSQL strings.Builder
		var counterArgs, devArgs, backedArgs []any
		ids := make([]string, len(chunk))
		for i, c := range chunk {
			ids[i] = c.id
			when := " WHEN " + d.ExactEq(credCol) + " THEN "
			counterSQL.WriteString(when + "CASE WHEN " + d.Q(counter) + " > ? THEN " + d.Q(counter) + " ELSE ? END")
			counterArgs = append(counterArgs, c.id, c.id, c.counter, c.counter)
			devSQL.WriteString(when + "?")
			devArgs = append(devArgs, c.id, c.id, c.dev)
			backedSQL.WriteString(when + "?")
			backedArgs = append(backedArgs, c.id, c.id, c.backed)
		}
		in, inArgs := d.inList(credCol, ids)
		query := "UPDATE " + d.Q(table) + " SET " +
			d.Q(counter) + " = CASE" + counterSQL.String() + " ELSE " + d.Q(counter) + " END, " +
			d.Q(dev) + " = CASE" + devSQL.String() + " ELSE " + d.Q(dev) + " END, " +
			d.Q(backed) + " = CASE" + backedSQL.String() + " ELSE " + d.Q(backed) + " END WHERE " + in
		args := slices.Concat(counterArgs, devArgs, backedArgs, inArgs)
		if _, err := imp.tx.ExecContext(ctx, d.Dialect.Rebind(query), args...); err != nil {
			return d.Err("update passkeys", err)
		}
	}
	return nil
}

// updateBatch is how many passkeys one UPDATE covers: ten placeholders
// each, far below every dialect's limit.
const updateBatch = 200

func (imp *importer) unmatchedError() error {
	u := imp.res.Unmatched
	var ex []string
	for _, x := range u[:min(3, len(u))] {
		s := x.ID
		if x.Email != nil {
			s += " <" + *x.Email + ">"
		}
		if x.Reason != "" {
			s += ": " + x.Reason
		}
		ex = append(ex, s)
	}
	more := ""
	if len(u) > 3 {
		more = fmt.Sprintf(" and %d more", len(u)-3)
	}
	return &domainError{msg: fmt.Sprintf("import: %d user(s) of the input are not in the target (%s%s); nothing was written. Create them first or pass --create-users",
		len(u), strings.Join(ex, "; "), more), err: passkey.ErrNotFound}
}

func (imp *importer) conflictError() error {
	c := imp.res.Conflicts
	var ex []string
	for _, x := range c[:min(3, len(c))] {
		ex = append(ex, fmt.Sprintf("line %d: %s %s", x.Line, x.CredentialID, x.Reason))
	}
	more := ""
	if len(c) > 3 {
		more = fmt.Sprintf(" and %d more", len(c)-3)
	}
	return &domainError{msg: fmt.Sprintf("import: %d credential(s) are already in the target (%s%s); nothing was written. Pass --on-conflict skip or --on-conflict update",
		len(c), strings.Join(ex, "; "), more), err: passkey.ErrConflict}
}

// domainError is a message that reads as a whole sentence and still
// matches its domain error with errors.Is.
type domainError struct {
	msg string
	err error
}

func (e *domainError) Error() string { return e.msg }
func (e *domainError) Unwrap() error { return e.err }
