package db

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

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
	return "", fmt.Errorf("%w: --on-conflict %q: use fail, skip or update", ErrInvalid, s)
}

// ImportOptions tunes Import.
type ImportOptions struct {
	// ProviderID is Account.provider for an Auth.js target.
	ProviderID string
	// CreateUsers creates the users that are not in the target.
	CreateUsers bool
	// OnConflict is what to do with a credential ID already present.
	OnConflict ConflictPolicy
	// DryRun reads and checks everything and writes nothing.
	DryRun bool
	// BatchSize is how many passkeys one round of lookups and multi-row
	// INSERTs handles; 500 when 0.
	BatchSize int
	// Now is the clock for createdAt/updatedAt; time.Now when nil.
	Now func() time.Time
	// Rand is the source of generated ids; crypto/rand when nil.
	Rand io.Reader
	// Warn receives one line per record left out (broken at the source).
	Warn func(string)
}

// ImportResult says what Import wrote (or, with DryRun, would write). The
// JSON field names are a documented, stable interface.
type ImportResult struct {
	App    App  `json:"app"`
	DryRun bool `json:"dryRun"`
	// Read counts the records read.
	Read     int `json:"read"`
	Inserted int `json:"inserted"`
	Updated  int `json:"updated"`
	// Skipped counts credentials already present (--on-conflict skip).
	Skipped int `json:"skipped"`
	// Broken counts records whose status was not "ok": left out.
	Broken int `json:"broken"`
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
func (d *DB) Import(ctx context.Context, s *Schema, r io.Reader, opts ImportOptions) (*ImportResult, error) {
	imp, err := d.newImporter(s, opts)
	if err != nil {
		return nil, err
	}
	tx, err := d.X.BeginTxx(ctx, nil)
	if err != nil {
		return nil, d.Err("begin transaction", err)
	}
	defer tx.Rollback()
	imp.tx = tx
	err = imp.run(ctx, NewExportReader(r))
	slices.SortStableFunc(imp.res.Unmatched, func(a, b ImportUser) int { return a.Line - b.Line })
	slices.SortStableFunc(imp.res.Conflicts, func(a, b ImportConflict) int { return a.Line - b.Line })
	if err != nil {
		return imp.res, err
	}
	if len(imp.res.Unmatched) > 0 {
		return imp.res, imp.unmatchedError()
	}
	if len(imp.res.Conflicts) > 0 {
		return imp.res, imp.conflictError()
	}
	if opts.DryRun {
		return imp.res, nil
	}
	if err := tx.Commit(); err != nil {
		return imp.res, d.Err("commit import", err)
	}
	return imp.res, nil
}

// importer is one Import run.
type importer struct {
	d  *DB
	s  *Schema
	ba *BetterAuthSchema
	// ut is the target app's user table.
	ut   userTable
	opts ImportOptions
	tx   *sqlx.Tx
	res  *ImportResult
	now  time.Time

	// users maps an input user (userKey) to the target user id; failed
	// users map to "".
	users map[string]string
	// byEmail maps lower-cased e-mails of users created in this run to
	// their id, so later records of the same person find them.
	byEmail map[string]string
	// known maps each credential ID (base64url) written or planned in this
	// run to its owner in the target and its first line.
	known map[string]knownCredential
	batch []*normalized
}

type knownCredential struct {
	line  int
	owner string
}

func userKey(u ExportUser) string {
	e := ""
	if u.Email != nil {
		e = strings.ToLower(*u.Email)
	}
	return u.ID + "\x00" + e
}

func (d *DB) newImporter(s *Schema, opts ImportOptions) (*importer, error) {
	if opts.OnConflict == "" {
		opts.OnConflict = ConflictFail
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 500
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
		res:   &ImportResult{App: s.App, DryRun: opts.DryRun, UsersCreated: []ImportUser{}, Unmatched: []ImportUser{}, Conflicts: []ImportConflict{}},
		users: map[string]string{}, byEmail: map[string]string{}, known: map[string]knownCredential{},
	}
	// Refuse up front what would fail half-way: missing tables, drift, and
	// NOT NULL columns without a default that no app column explains.
	if s.App == AppBetterAuth {
		ba, err := s.PasskeyTableReady()
		if err != nil {
			return nil, err
		}
		imp.ba = ba
		if ba.IDMode == IDInteger {
			// SQLite numbers an INTEGER PRIMARY KEY itself (the rowid).
			rowid := d.Dialect == SQLite && slices.Equal(ba.Passkey.PrimaryKey(), []string{ba.P.ID})
			if c, ok := ba.Passkey.Column(ba.P.ID); ok && !c.HasDefault && !rowid {
				return nil, fmt.Errorf("%w: %s.%s is an integer without a default: Better Auth's serial ids need one", ErrSchemaNotReady, ba.Passkey.Name, ba.P.ID)
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
	} else {
		if err := authjsWritable(s); err != nil {
			return nil, err
		}
		if opts.ProviderID == "" {
			return nil, fmt.Errorf("%w: empty provider id", ErrInvalid)
		}
		if err := checkFillable(s.Authenticator, authjsAuthenticatorColumns, AppAuthjs); err != nil {
			return nil, err
		}
		if err := checkFillable(s.Account, authjsAccountColumns, AppAuthjs); err != nil {
			return nil, err
		}
		if opts.CreateUsers {
			if err := checkFillable(s.User, importUserColumns, AppAuthjs); err != nil {
				return nil, err
			}
		}
	}
	var err error
	if imp.ut, err = s.users(); err != nil {
		return nil, err
	}
	return imp, nil
}

func (imp *importer) run(ctx context.Context, rd *ExportReader) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, line, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		imp.res.Read++
		n, err := rec.validate(line)
		if err != nil {
			return err
		}
		if n.rec.Status != StatusOK {
			imp.res.Broken++
			imp.opts.Warn(fmt.Sprintf("line %d: passkey %s left out: status %s at the source (it could not sign in there)", line, n.rec.CredentialID, n.rec.Status))
			continue
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

// writing reports whether statements that change the target run.
func (imp *importer) writing() bool { return !imp.opts.DryRun && !imp.failed() }

// flush handles the batch: users, conflicts, then the writes.
func (imp *importer) flush(ctx context.Context) error {
	batch := imp.batch
	imp.batch = nil
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
	var inserts, updates []*normalized
	owners := map[*normalized]string{}
	for _, n := range batch {
		owner := imp.users[userKey(n.rec.User)]
		if owner == "" {
			continue
		}
		owners[n] = owner
		id := Base64URL(n.rawID)
		where := ""
		ex, found := existing[id]
		if k, ok := imp.known[id]; ok {
			ex, found = existingCredential{owner: k.owner, authenticator: true}, true
			where = fmt.Sprintf("line %d of the input", k.line)
		} else if found {
			where = imp.tableName()
		}
		switch {
		case !found || !ex.authenticator && ex.owner == owner:
			// New; an Auth.js Account left behind without its
			// Authenticator (same user) is reused.
			inserts = append(inserts, n)
			imp.known[id] = knownCredential{line: n.line, owner: owner}
		case !ex.authenticator:
			imp.conflict(n, fmt.Sprintf("an Account row of another user (%s) holds this credential ID without an Authenticator", ex.owner))
		case imp.opts.OnConflict == ConflictSkip:
			imp.res.Skipped++
		case imp.opts.OnConflict == ConflictUpdate && ex.owner == owner:
			updates = append(updates, n)
		case imp.opts.OnConflict == ConflictUpdate:
			imp.conflict(n, fmt.Sprintf("already in %s, owned by another user (%s); revoke it there first", where, ex.owner))
		default:
			imp.conflict(n, "already in "+where)
		}
	}
	if err := imp.checkAuthjsCounters(inserts, updates); err != nil {
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
	return imp.update(ctx, updates)
}

// checkAuthjsCounters refuses, as CreatePasskey does, a counter that
// Auth.js's signed 32-bit counter column cannot hold: PostgreSQL and MySQL
// would reject it (or, not in strict mode, clamp it), and SQLite would
// store a row Prisma cannot read.
func (imp *importer) checkAuthjsCounters(groups ...[]*normalized) error {
	if imp.ba != nil {
		return nil
	}
	for _, ns := range groups {
		for _, n := range ns {
			if n.rec.Counter > math.MaxInt32 {
				return fmt.Errorf("%w: line %d: signature counter %d of %s does not fit %s.counter (a 32-bit INT); nothing was written",
					ErrSchemaNotReady, n.line, n.rec.Counter, n.rec.CredentialID, imp.s.Authenticator.Name)
			}
		}
	}
	return nil
}

func (imp *importer) conflict(n *normalized, reason string) {
	if len(imp.res.Conflicts) < maxReported {
		imp.res.Conflicts = append(imp.res.Conflicts, ImportConflict{Line: n.line, CredentialID: n.rec.CredentialID, Reason: reason})
	}
}

func (imp *importer) tableName() string {
	if imp.ba != nil {
		return imp.ba.Passkey.Name
	}
	return imp.s.Authenticator.Name
}

type targetUser struct{ id, email string }

// resolveUsers maps every new input user of the batch to a target user:
// by id (with the e-mail, when both sides have one, agreeing), else by
// e-mail case-insensitively, else by creating them (CreateUsers).
func (imp *importer) resolveUsers(ctx context.Context, batch []*normalized) error {
	type pending struct {
		u    ExportUser
		line int
	}
	var todo []pending
	seen := map[string]bool{}
	for _, n := range batch {
		k := userKey(n.rec.User)
		if _, ok := imp.users[k]; ok || seen[k] {
			continue
		}
		seen[k] = true
		todo = append(todo, pending{n.rec.User, n.line})
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
	var us []ExportUser
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

func (imp *importer) unmatched(u ExportUser, line int, reason string) {
	if len(imp.res.Unmatched) < maxReported {
		imp.res.Unmatched = append(imp.res.Unmatched, ImportUser{Line: line, ID: u.ID, Email: u.Email, Reason: reason})
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
func (imp *importer) createUsers(ctx context.Context, us []ExportUser, lines []int) error {
	d := imp.d
	serial := imp.ba != nil && imp.ba.UserIDMode == IDInteger
	var cols []string
	var rows [][]any
	for i, u := range us {
		email := strings.TrimSpace(*u.Email)
		id, err := imp.newUserID(u)
		if err != nil {
			return err
		}
		var vals []any
		if imp.ba != nil {
			cols, vals = betterAuthUserRow(d.Dialect, imp.ba, id, email, u.Name, u.EmailVerified, imp.now)
		} else {
			cols, vals = imp.authjsUserRow(id, email, u)
		}
		switch {
		case serial && imp.writing():
			if id, err = imp.insertReturningID(ctx, imp.ba.User.Name, imp.ba.U.ID, cols, vals); err != nil {
				return err
			}
		case serial:
			id = fmt.Sprintf("(new %d)", len(imp.res.UsersCreated)+1)
		default:
			rows = append(rows, vals)
		}
		imp.users[userKey(u)] = id
		imp.byEmail[strings.ToLower(email)] = id
		imp.res.UsersCreated = append(imp.res.UsersCreated, ImportUser{Line: lines[i], ID: u.ID, Email: u.Email, TargetID: id})
	}
	if !imp.writing() || len(rows) == 0 {
		return nil
	}
	return d.insertRows(ctx, imp.tx, imp.ut.table.Name, cols, rows, "create users")
}

// newUserID is the id of a user import creates: the input's id where the
// target's id mode allows it, so that a re-import matches by id, else a
// new one in the target's form; "" where the database numbers users.
func (imp *importer) newUserID(u ExportUser) (string, error) {
	if imp.ba == nil {
		if u.ID != "" {
			return u.ID, nil
		}
		return NewCUID(imp.now, imp.opts.Rand)
	}
	switch imp.ba.UserIDMode {
	case IDInteger:
		return "", nil
	case IDUUID:
		if id := strings.ToLower(u.ID); uuidPattern.MatchString(id) {
			return id, nil
		}
		return NewBetterAuthID(IDUUID, imp.opts.Rand)
	}
	if c, _ := imp.ba.User.Column(imp.ba.U.ID); u.ID != "" && (c.MaxLength == 0 || len(u.ID) <= c.MaxLength) {
		return u.ID, nil
	}
	return NewBetterAuthID(IDText, imp.opts.Rand)
}

// authjsUserRow returns the columns and values of a new Auth.js User:
// id, e-mail, the name and emailVerified (the import time when verified)
// where the table has them, and the dates that have no database default.
func (imp *importer) authjsUserRow(id, email string, u ExportUser) ([]string, []any) {
	t := imp.s.User
	cols, vals := []string{"id", "email"}, []any{id, email}
	if t.Has("name") {
		cols, vals = append(cols, "name"), append(vals, nullString(u.Name))
	}
	if t.Has("emailVerified") {
		var v any
		if u.EmailVerified {
			col, _ := t.Column("emailVerified")
			v = imp.d.timeValue(col, AppAuthjs, imp.now)
		}
		cols, vals = append(cols, "emailVerified"), append(vals, v)
	}
	for _, c := range []string{"createdAt", "updatedAt"} {
		if t.NeedsValue(c) {
			col, _ := t.Column(c)
			cols, vals = append(cols, c), append(vals, imp.d.timeValue(col, AppAuthjs, imp.now))
		}
	}
	return cols, vals
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
}

// existing returns the batch's credentials that the target already holds,
// keyed by base64url ID, compared exactly.
func (imp *importer) existing(ctx context.Context, batch []*normalized) (map[string]existingCredential, error) {
	out := map[string]existingCredential{}
	var stored []string
	toURL := map[string]string{}
	for _, n := range batch {
		v := storedCredentialID(imp.s.App, n.rawID)
		stored = append(stored, v)
		toURL[v] = Base64URL(n.rawID)
	}
	table, credCol, userCol := imp.tableName(), "credentialID", "userId"
	if imp.ba != nil {
		credCol, userCol = imp.ba.P.CredentialID, imp.ba.P.UserID
	}
	scan := func(query string, args []any, accountRows bool) error {
		rows, err := imp.tx.QueryContext(ctx, imp.d.Dialect.Rebind(query), args...)
		if err != nil {
			return imp.d.Err("check existing credentials", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id, owner string
			if err := rows.Scan(&id, &owner); err != nil {
				return imp.d.Err("check existing credentials", err)
			}
			u, ok := toURL[id]
			if !ok {
				continue // a case-insensitive match on MySQL
			}
			if prev, dup := out[u]; dup && prev.authenticator {
				continue
			}
			out[u] = existingCredential{owner: owner, authenticator: !accountRows}
		}
		return imp.d.Err("check existing credentials", rows.Err())
	}
	q := imp.d.Q
	if imp.ba == nil {
		// Account rows first: an Authenticator row found next overrides.
		in, args := imp.d.inList(q("providerAccountId"), stored)
		query := "SELECT " + q("providerAccountId") + ", " + q("userId") + " FROM " + q(imp.s.Account.Name) +
			" WHERE " + imp.d.ExactEq(q("provider")) + " AND " + in
		if err := scan(query, append([]any{imp.opts.ProviderID, imp.opts.ProviderID}, args...), true); err != nil {
			return nil, err
		}
	}
	in, args := imp.d.inList(q(credCol), stored)
	query := "SELECT " + q(credCol) + ", " + q(userCol) + " FROM " + q(table) + " WHERE " + in
	if err := scan(query, args, false); err != nil {
		return nil, err
	}
	return out, nil
}

// insert writes the new passkeys: one passkey row each for Better Auth;
// the Account (unless one of the same user is already there) and the
// Authenticator for Auth.js, Account first as Auth.js does.
func (imp *importer) insert(ctx context.Context, ns []*normalized, owners map[*normalized]string, existing map[string]existingCredential) error {
	if len(ns) == 0 {
		return nil
	}
	if imp.ba != nil {
		w := newBetterAuthWriter(imp.d, imp.ba, imp.opts.Rand)
		ps := make([]*BetterAuthPasskey, len(ns))
		for i, n := range ns {
			p := n.betterAuth(owners[n])
			ps[i] = &p
		}
		if err := imp.checkWidths(ns, imp.ba.Passkey, map[string]func(*normalized) string{
			imp.ba.P.CredentialID: func(n *normalized) string { return Base64URL(n.rawID) },
			imp.ba.P.PublicKey:    func(n *normalized) string { return n.publicKey },
		}); err != nil {
			return err
		}
		return w.insert(ctx, imp.tx, ps)
	}
	s := imp.s
	if err := imp.checkWidths(ns, s.Authenticator, map[string]func(*normalized) string{
		"credentialID":        func(n *normalized) string { return AuthjsCredentialID(n.rawID) },
		"providerAccountId":   func(n *normalized) string { return AuthjsCredentialID(n.rawID) },
		"credentialPublicKey": func(n *normalized) string { return n.publicKey },
		"transports":          func(n *normalized) string { return JoinTransports(n.rec.Transports).String },
	}); err != nil {
		return err
	}
	if err := imp.checkWidths(ns, s.Account, map[string]func(*normalized) string{
		"providerAccountId": func(n *normalized) string { return AuthjsCredentialID(n.rawID) },
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
	var authRows, acctRows [][]any
	for _, n := range ns {
		a := n.authjs(owners[n])
		var row []any
		if authID {
			id, err := NewCUID(imp.now, imp.opts.Rand)
			if err != nil {
				return err
			}
			row = append(row, id)
		}
		row = append(row, a.CredentialID, a.UserID, a.ProviderAccountID, a.CredentialPublicKey, a.Counter, a.CredentialDeviceType, a.CredentialBackedUp, a.Transports)
		authRows = append(authRows, row)
		if ex, ok := existing[Base64URL(n.rawID)]; ok && !ex.authenticator {
			continue // the user's own Account row is already there
		}
		var arow []any
		if acctID {
			id, err := NewCUID(imp.now, imp.opts.Rand)
			if err != nil {
				return err
			}
			arow = append(arow, id)
		}
		arow = append(arow, a.UserID, "webauthn", imp.opts.ProviderID, a.ProviderAccountID)
		for _, c := range acctTimes {
			col, _ := s.Account.Column(c)
			arow = append(arow, imp.d.timeValue(col, AppAuthjs, imp.now))
		}
		acctRows = append(acctRows, arow)
	}
	if err := imp.d.insertRows(ctx, imp.tx, s.Account.Name, acctCols, acctRows, "insert Account"); err != nil {
		if errors.Is(err, ErrConflict) && s.Account.IsUnique("userId") {
			return fmt.Errorf("%w (%s.userId is UNIQUE, as in the Auth.js MySQL docs schema: a user can own only one passkey there; drop that unique index)", err, s.Account.Name)
		}
		return err
	}
	return imp.d.insertRows(ctx, imp.tx, s.Authenticator.Name, authCols, authRows, "insert Authenticator")
}

// checkWidths refuses values that do not fit narrow columns (Prisma's
// VARCHAR(191) on MySQL): a strict server would reject the row, a lax one
// would truncate it and the passkey would never work.
func (imp *importer) checkWidths(ns []*normalized, t *Table, values map[string]func(*normalized) string) error {
	for colName, f := range values {
		c, ok := t.Column(colName)
		if !ok || c.MaxLength == 0 {
			continue
		}
		for _, n := range ns {
			if v := f(n); len(v) > c.MaxLength {
				return fmt.Errorf("%w: line %d: %s.%s holds %d characters, passkey %s needs %d; nothing was written. Widen the column (see: passkeyctl migrate status)",
					ErrSchemaNotReady, n.line, t.Name, colName, c.MaxLength, n.rec.CredentialID, len(v))
			}
		}
	}
	return nil
}

// update writes the counter and flags of passkeys the target already holds
// for the same user.
func (imp *importer) update(ctx context.Context, ns []*normalized) error {
	if len(ns) == 0 {
		return nil
	}
	d := imp.d
	table, cred, counter, dev, backed := imp.tableName(), "credentialID", "counter", "credentialDeviceType", "credentialBackedUp"
	if imp.ba != nil {
		cred, counter, dev, backed = imp.ba.P.CredentialID, imp.ba.P.Counter, imp.ba.P.DeviceType, imp.ba.P.BackedUp
	}
	// The counter never goes down: restoring an old backup over a passkey
	// that has signed in since would otherwise let a replayed or cloned
	// assertion with a counter in between pass the counter rule again.
	keep := "CASE WHEN " + d.Q(counter) + " > ? THEN " + d.Q(counter) + " ELSE ? END"
	query := d.Dialect.Rebind("UPDATE " + d.Q(table) + " SET " + d.Q(counter) + " = " + keep + ", " + d.Q(dev) + " = ?, " + d.Q(backed) + " = ? WHERE " + d.ExactEq(d.Q(cred)))
	stmt, err := imp.tx.PreparexContext(ctx, query)
	if err != nil {
		return d.Err("update passkeys", err)
	}
	defer stmt.Close()
	for _, n := range ns {
		id := storedCredentialID(imp.s.App, n.rawID)
		if _, err := stmt.ExecContext(ctx, n.rec.Counter, n.rec.Counter, n.rec.DeviceType, n.rec.BackedUp, id, id); err != nil {
			return d.Err("update passkey "+id, err)
		}
	}
	return nil
}

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
		len(u), strings.Join(ex, "; "), more), err: ErrNotFound}
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
		len(c), strings.Join(ex, "; "), more), err: ErrConflict}
}

// domainError is a message that reads as a whole sentence and still
// matches its domain error with errors.Is.
type domainError struct {
	msg string
	err error
}

func (e *domainError) Error() string { return e.msg }
func (e *domainError) Unwrap() error { return e.err }
