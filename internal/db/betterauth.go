package db

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
)

// BetterAuthPasskey is one row of Better Auth's passkey table, in the
// encodings Better Auth stores: CredentialID base64url without padding,
// PublicKey standard padded base64 of the COSE key, Transports
// comma-joined ("" when the browser sent none, nil for NULL).
type BetterAuthPasskey struct {
	// ID is the row's primary key, as text also in integer mode.
	ID           string
	Name         *string
	PublicKey    string
	UserID       string
	CredentialID string
	Counter      int64
	DeviceType   string
	BackedUp     bool
	Transports   *string
	CreatedAt    *time.Time
	AAGUID       *string
}

// BetterAuthPasskeyRow is a passkey with its owner, as read for list and
// export. User fields are nil when the user row is missing.
type BetterAuthPasskeyRow struct {
	BetterAuthPasskey
	Email         *string
	UserName      *string
	EmailVerified bool
	// UserFound is false when no user row has the passkey's userId.
	UserFound bool
}

// Status is the passkey's status as `list` shows it.
func (r BetterAuthPasskeyRow) Status() string {
	_, keyErr := passkey.CheckStoredPublicKey(r.PublicKey)
	return r.status(keyErr)
}

// status is Status given the result of checking the public key.
func (r BetterAuthPasskeyRow) status(keyErr error) string {
	if !r.UserFound {
		return passkey.StatusNoUser
	}
	if keyErr != nil {
		return passkey.StatusBadPublicKey
	}
	return passkey.StatusOK
}

// baPasskeySelect is the SELECT list of a passkey row joined with its
// user, in the order scan expects.
func (d *DB) baPasskeySelect(ba *BetterAuthSchema) string {
	q := d.Q
	p := func(c string) string {
		if c == "" {
			return "NULL"
		}
		return "p." + q(c)
	}
	u := func(c string) string {
		if c == "" {
			return "NULL"
		}
		return "u." + q(c)
	}
	emailVerified := "NULL"
	if ba.U.EmailVerified != "" {
		emailVerified = u(ba.U.EmailVerified)
	}
	createdAt := p(ba.P.CreatedAt)
	if ba.CreatedAt == TimeSeconds && ba.P.CreatedAt != "" {
		createdAt += " * 1000" // read as every integer date: milliseconds
	}
	cols := []string{p(ba.P.ID), p(ba.P.Name), p(ba.P.PublicKey), p(ba.P.UserID), p(ba.P.CredentialID), p(ba.P.Counter),
		p(ba.P.DeviceType), p(ba.P.BackedUp), p(ba.P.Transports), createdAt, p(ba.P.AAGUID),
		u(ba.U.ID), u(ba.U.Email), u(ba.U.Name), emailVerified}
	return "SELECT " + strings.Join(cols, ", ") + " FROM " + q(ba.Passkey.Name) + " p LEFT JOIN " + q(ba.User.Name) +
		" u ON u." + q(ba.U.ID) + " = p." + q(ba.P.UserID)
}

// baScanner scans rows of baPasskeySelect.
type baScanner struct {
	id, userID                   sql.NullString
	name, publicKey, credID      sql.NullString
	counter                      sql.NullInt64
	deviceType, transports       sql.NullString
	backedUp, emailVerified      sql.NullBool
	createdAt                    any
	aaguid, uid, email, userName sql.NullString
}

func (s *baScanner) dest() []any {
	return []any{&s.id, &s.name, &s.publicKey, &s.userID, &s.credID, &s.counter, &s.deviceType, &s.backedUp,
		&s.transports, &s.createdAt, &s.aaguid, &s.uid, &s.email, &s.userName, &s.emailVerified}
}

func (s *baScanner) row() BetterAuthPasskeyRow {
	r := BetterAuthPasskeyRow{
		BetterAuthPasskey: BetterAuthPasskey{
			ID: s.id.String, Name: nullable(s.name), PublicKey: s.publicKey.String, UserID: s.userID.String,
			CredentialID: s.credID.String, Counter: s.counter.Int64, DeviceType: s.deviceType.String,
			BackedUp: s.backedUp.Bool, Transports: nullable(s.transports), CreatedAt: scanTime(s.createdAt),
			AAGUID: nullable(s.aaguid),
		},
		Email: nullable(s.email), UserName: nullable(s.userName), EmailVerified: s.emailVerified.Bool, UserFound: s.uid.Valid,
	}
	return r
}

// BetterAuthListOptions selects the passkeys BetterAuthPasskeys returns.
type BetterAuthListOptions struct {
	// UserID limits the listing to one user, compared exactly; "" lists
	// everyone.
	UserID string
	// Limit caps the number of passkeys; 0 means no limit.
	Limit int
}

// BetterAuthPasskeys calls fn for each passkey of Better Auth's passkey
// table with its user, ordered by user id then credential ID. Rows stream
// from one cursor, so memory stays flat.
func (d *DB) BetterAuthPasskeys(ctx context.Context, s *Schema, opts BetterAuthListOptions, fn func(BetterAuthPasskeyRow) error) error {
	ba, err := s.PasskeyTableReady()
	if err != nil {
		return err
	}
	if opts.Limit < 0 {
		return fmt.Errorf("%w: negative limit %d", passkey.ErrInvalid, opts.Limit)
	}
	query := d.baPasskeySelect(ba)
	var args []any
	if opts.UserID != "" {
		query += " WHERE " + d.ExactEq("p."+d.Q(ba.P.UserID))
		args = append(args, opts.UserID, opts.UserID)
	}
	// By the IDs' bytes, as every store orders: Better Auth's migrator
	// leaves MySQL's default case-insensitive collation on these columns.
	query += " ORDER BY " + d.binary("p."+d.Q(ba.P.UserID)) + ", " + d.binary("p."+d.Q(ba.P.CredentialID))
	if opts.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", opts.Limit)
	}
	return d.eachBetterAuth(ctx, d.X, query, args, fn)
}

func (d *DB) eachBetterAuth(ctx context.Context, q sqlx.QueryerContext, query string, args []any, fn func(BetterAuthPasskeyRow) error) error {
	rows, err := q.QueryContext(ctx, d.Dialect.Rebind(query), args...)
	if err != nil {
		return d.Err("read passkeys", err)
	}
	defer rows.Close()
	var sc baScanner
	dst := sc.dest()
	for rows.Next() {
		sc.createdAt = nil
		if err := rows.Scan(dst...); err != nil {
			return d.Err("read passkeys", err)
		}
		if err := fn(sc.row()); err != nil {
			return err
		}
	}
	return d.Err("read passkeys", rows.Err())
}

// GetBetterAuthPasskey returns the passkey whose credentialID is
// credentialID exactly (Better Auth's lookup: the browser's base64url id as
// sent). ErrNotFound if none; ErrConflict if the table holds it twice.
func (d *DB) GetBetterAuthPasskey(ctx context.Context, s *Schema, credentialID string) (BetterAuthPasskeyRow, error) {
	return d.getBetterAuthPasskey(ctx, d.X, s, credentialID)
}

func (d *DB) getBetterAuthPasskey(ctx context.Context, q sqlx.QueryerContext, s *Schema, credentialID string) (BetterAuthPasskeyRow, error) {
	ba, err := s.PasskeyTableReady()
	if err != nil {
		return BetterAuthPasskeyRow{}, err
	}
	query := d.baPasskeySelect(ba) + " WHERE " + d.ExactEq("p."+d.Q(ba.P.CredentialID))
	var found []BetterAuthPasskeyRow
	err = d.eachBetterAuth(ctx, q, query, []any{credentialID, credentialID}, func(r BetterAuthPasskeyRow) error {
		found = append(found, r)
		return nil
	})
	if err != nil {
		return BetterAuthPasskeyRow{}, err
	}
	switch len(found) {
	case 0:
		return BetterAuthPasskeyRow{}, fmt.Errorf("credential %s: %w", credentialID, passkey.ErrNotFound)
	case 1:
		return found[0], nil
	}
	ids := make([]string, len(found))
	for i, r := range found {
		ids[i] = r.ID
	}
	return BetterAuthPasskeyRow{}, fmt.Errorf("credential %s is stored %d times in %s (ids %s); Better Auth uses whichever the database returns first: delete the extra rows: %w",
		credentialID, len(found), ba.Passkey.Name, strings.Join(ids, ", "), passkey.ErrConflict)
}

// BetterAuthInsertOptions tunes InsertBetterAuthPasskey.
type BetterAuthInsertOptions struct {
	// Now is the clock for createdAt; time.Now when nil.
	Now func() time.Time
	// Rand is the source of generated ids; crypto/rand when nil.
	Rand io.Reader
}

// InsertBetterAuthPasskey stores p as Better Auth's passkey plugin does, in
// one transaction: it refuses a credential ID already present (compared
// exactly; the table has no unique index) with ErrConflict, checks the
// user exists (ErrNotFound), generates p.ID in the table's id mode when
// empty (the database numbers rows in integer mode) and fills CreatedAt
// when nil. Transports nil is written as "" (Better Auth's "none"). It
// returns the row as stored.
func (d *DB) InsertBetterAuthPasskey(ctx context.Context, s *Schema, p BetterAuthPasskey, opts BetterAuthInsertOptions) (BetterAuthPasskeyRow, error) {
	ba, err := s.PasskeyTableReady()
	if err != nil {
		return BetterAuthPasskeyRow{}, err
	}
	if p.Transports == nil {
		empty := ""
		p.Transports = &empty
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if p.CreatedAt == nil {
		t := opts.Now().UTC().Truncate(time.Millisecond)
		p.CreatedAt = &t
	}
	if err := checkBetterAuthPasskey(&p); err != nil {
		return BetterAuthPasskeyRow{}, err
	}
	tx, err := d.X.BeginTxx(ctx, nil)
	if err != nil {
		return BetterAuthPasskeyRow{}, d.Err("begin transaction", err)
	}
	defer tx.Rollback()
	if _, err := d.findBetterAuthUser(ctx, tx, ba, p.UserID, true); err != nil {
		return BetterAuthPasskeyRow{}, fmt.Errorf("passkey owner: %w", err)
	}
	if err := d.insertNewBetterAuthPasskey(ctx, tx, s, ba, &p, opts.Rand); err != nil {
		return BetterAuthPasskeyRow{}, err
	}
	if err := tx.Commit(); err != nil {
		return BetterAuthPasskeyRow{}, d.Err("commit passkey", err)
	}
	return d.GetBetterAuthPasskey(ctx, s, p.CredentialID)
}

// insertNewBetterAuthPasskey writes p in tx unless its credential ID is
// already in the table (ErrConflict): Better Auth's table has no unique
// index that would refuse it.
func (d *DB) insertNewBetterAuthPasskey(ctx context.Context, tx *sqlx.Tx, s *Schema, ba *BetterAuthSchema, p *BetterAuthPasskey, r io.Reader) error {
	if err := d.checkBetterAuthCounter(ba, p.Counter); err != nil {
		return err
	}
	if _, err := d.getBetterAuthPasskey(ctx, tx, s, p.CredentialID); err == nil {
		return fmt.Errorf("credential %s is already registered (it is in table %s): %w", p.CredentialID, ba.Passkey.Name, passkey.ErrConflict)
	} else if !isNotFound(err) {
		return err
	}
	return newBetterAuthWriter(d, ba, r).insert(ctx, tx, []*BetterAuthPasskey{p})
}

// checkBetterAuthPasskey validates a row before it is written.
func checkBetterAuthPasskey(p *BetterAuthPasskey) error {
	raw, err := passkey.DecodeBase64(p.CredentialID)
	if err != nil || len(raw) == 0 {
		return fmt.Errorf("%w: credential ID %q is not base64url", passkey.ErrInvalid, p.CredentialID)
	}
	if passkey.Base64URL(raw) != p.CredentialID {
		return fmt.Errorf("%w: credential ID %q is not in Better Auth's form (base64url without padding: %s)", passkey.ErrInvalid, p.CredentialID, passkey.Base64URL(raw))
	}
	if p.UserID == "" {
		return fmt.Errorf("%w: passkey %s has no user", passkey.ErrInvalid, p.CredentialID)
	}
	if k, err := passkey.DecodeBase64(p.PublicKey); err != nil || len(k) == 0 {
		return fmt.Errorf("%w: public key of %s is not base64", passkey.ErrInvalid, p.CredentialID)
	}
	if p.DeviceType != "singleDevice" && p.DeviceType != "multiDevice" {
		return fmt.Errorf("%w: device type %q of %s: want singleDevice or multiDevice", passkey.ErrInvalid, p.DeviceType, p.CredentialID)
	}
	if p.Counter < 0 || p.Counter > 1<<32-1 {
		return fmt.Errorf("%w: counter %d of %s is not a 32-bit unsigned signature counter", passkey.ErrInvalid, p.Counter, p.CredentialID)
	}
	if p.AAGUID != nil {
		a := strings.ToLower(*p.AAGUID)
		if !uuidPattern.MatchString(a) {
			return fmt.Errorf("%w: aaguid %q of %s is not a UUID", passkey.ErrInvalid, *p.AAGUID, p.CredentialID)
		}
		p.AAGUID = &a
	}
	return nil
}

// betterAuthWriter inserts passkey rows in the table's encodings, many per
// statement. A nil CreatedAt is written as NULL (a passkey moved from
// Auth.js, which never stored it).
type betterAuthWriter struct {
	d    *DB
	ba   *BetterAuthSchema
	rand io.Reader
	// idBuf is newID's storage, reused from row to row.
	idBuf []byte
}

func newBetterAuthWriter(d *DB, ba *BetterAuthSchema, r io.Reader) *betterAuthWriter {
	if r == nil {
		r = rand.Reader
	}
	return &betterAuthWriter{d: d, ba: ba, rand: r}
}

// columns returns the passkey columns an INSERT writes, in order; the id
// is left to the database in integer mode.
func (w *betterAuthWriter) columns() []string {
	c := w.ba.P
	cols := []string{}
	if w.ba.IDMode != IDInteger {
		cols = append(cols, c.ID)
	}
	cols = append(cols, c.PublicKey, c.UserID, c.CredentialID, c.Counter, c.DeviceType, c.BackedUp)
	for _, opt := range []string{c.Name, c.Transports, c.CreatedAt, c.AAGUID, c.WebAuthnUserID} {
		if opt != "" {
			cols = append(cols, opt)
		}
	}
	return cols
}

// newID is NewBetterAuthID for the passkey table's id mode, its random
// bytes read through a buffer of the writer's.
func (w *betterAuthWriter) newID() (string, error) {
	if w.ba.IDMode != IDText {
		return NewBetterAuthID(w.ba.IDMode, w.rand)
	}
	if w.idBuf == nil {
		w.idBuf = make([]byte, 32+64)
	}
	id, err := appendBetterAuthID(w.idBuf[:0:32], w.idBuf[32:], w.rand)
	return string(id), err
}

// webauthnUserIDValue is what Better Auth 1.0 wrote to a new passkey's
// NOT NULL webauthnUserID: ctx.context.generateId({model: "passkey"}),
// which was nanoid() then — 21 random URL-safe characters, a fresh one per
// passkey. Nothing reads it back (sign-in ignores it), so only its shape
// matters.
func webauthnUserIDValue(r io.Reader) (string, error) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
	b := make([]byte, 21)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("generate webauthnUserID: %w", err)
	}
	for i := range b {
		b[i] = alphabet[b[i]&63]
	}
	return string(b), nil
}

// values fills p's generated fields and returns its INSERT arguments in
// the order of columns.
func (w *betterAuthWriter) values(p *BetterAuthPasskey) ([]any, error) {
	var iw insertWriter
	if err := w.row(&iw, p); err != nil {
		return nil, err
	}
	return iw.rows[0], nil
}

// row fills p's generated fields and writes its values to rw in the order
// of columns.
func (w *betterAuthWriter) row(rw rowWriter, p *BetterAuthPasskey) error {
	c := w.ba.P
	if w.ba.IDMode != IDInteger {
		if p.ID == "" {
			id, err := w.newID()
			if err != nil {
				return err
			}
			p.ID = id
		}
		rw.str(p.ID)
	}
	rw.str(p.PublicKey)
	rw.str(p.UserID)
	rw.str(p.CredentialID)
	rw.int(p.Counter)
	rw.str(p.DeviceType)
	rw.bool(p.BackedUp)
	if c.Name != "" {
		rw.nullString(nullString(p.Name))
	}
	if c.Transports != "" {
		rw.nullString(nullString(p.Transports))
	}
	if c.CreatedAt != "" {
		var v any
		if p.CreatedAt != nil {
			v = timeArg(w.ba.CreatedAt, *p.CreatedAt)
		}
		if err := rw.value(v); err != nil {
			return err
		}
	}
	if c.AAGUID != "" {
		rw.nullString(nullString(p.AAGUID))
	}
	if c.WebAuthnUserID != "" {
		id, err := webauthnUserIDValue(w.rand)
		if err != nil {
			return err
		}
		rw.str(id)
	}
	return rw.endRow()
}

// insert writes ps with multi-row INSERTs on q.
func (w *betterAuthWriter) insert(ctx context.Context, q sqlx.ExecerContext, ps []*BetterAuthPasskey) error {
	cols := w.columns()
	var rows [][]any
	for _, p := range ps {
		v, err := w.values(p)
		if err != nil {
			return err
		}
		rows = append(rows, v)
	}
	return w.d.insertRows(ctx, q, w.ba.Passkey.Name, cols, rows, "insert passkey")
}

// insertRows runs INSERT INTO table (cols) VALUES (...), (...) in chunks
// that stay under every dialect's placeholder limit.
func (d *DB) insertRows(ctx context.Context, q sqlx.ExecerContext, table string, cols []string, rows [][]any, what string) error {
	return d.insertRowsInto(ctx, q, d.Q(table), table, cols, rows, what)
}

// insertRowsInto is insertRows into a table whose name is already
// qualified and quoted (passkeyctl's own tables, outside the app's).
func (d *DB) insertRowsInto(ctx context.Context, q sqlx.ExecerContext, qualified, table string, cols []string, rows [][]any, what string) error {
	if len(rows) == 0 {
		return nil
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = d.Q(c)
	}
	head := "INSERT INTO " + qualified + " (" + strings.Join(quoted, ", ") + ") VALUES "
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	per := max(1, 30000/max(1, len(cols)))
	for start := 0; start < len(rows); start += per {
		chunk := rows[start:min(len(rows), start+per)]
		var sb strings.Builder
		sb.WriteString(head)
		args := make([]any, 0, len(chunk)*len(cols))
		for i, r := range chunk {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(tuple)
			args = append(args, r...)
		}
		if _, err := q.ExecContext(ctx, d.Dialect.Rebind(sb.String()), args...); err != nil {
			if d.Dialect.IsDuplicateKey(err) {
				return fmt.Errorf("%s into %s: %s: %w", what, table, d.Target.Scrub(err.Error()), passkey.ErrConflict)
			}
			return d.Err(what+" into "+table, err)
		}
	}
	return nil
}

func nullString(s *string) sql.NullString {
	if s == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: *s, Valid: true}
}

// DeleteBetterAuthPasskey deletes the one passkey row whose credentialID is
// credentialID exactly, and returns it. ErrNotFound if none; ErrConflict,
// deleting nothing, if the ID is stored more than once.
func (d *DB) DeleteBetterAuthPasskey(ctx context.Context, s *Schema, credentialID string) (BetterAuthPasskeyRow, error) {
	ba, err := s.PasskeyTableReady()
	if err != nil {
		return BetterAuthPasskeyRow{}, err
	}
	tx, err := d.X.BeginTxx(ctx, nil)
	if err != nil {
		return BetterAuthPasskeyRow{}, d.Err("begin transaction", err)
	}
	defer tx.Rollback()
	r, err := d.getBetterAuthPasskey(ctx, tx, s, credentialID)
	if err != nil {
		return BetterAuthPasskeyRow{}, err
	}
	query := "DELETE FROM " + d.Q(ba.Passkey.Name) + " WHERE " + d.Q(ba.P.ID) + " = ? AND " + d.ExactEq(d.Q(ba.P.CredentialID))
	res, err := tx.ExecContext(ctx, d.Dialect.Rebind(query), r.ID, credentialID, credentialID)
	if err != nil {
		return BetterAuthPasskeyRow{}, d.Err("delete passkey", err)
	}
	if n, err := res.RowsAffected(); err == nil && n != 1 {
		return BetterAuthPasskeyRow{}, fmt.Errorf("delete passkey %s: %d rows matched, want 1; nothing was deleted: %w", credentialID, n, passkey.ErrConflict)
	}
	if err := tx.Commit(); err != nil {
		return BetterAuthPasskeyRow{}, d.Err("commit", err)
	}
	return r, nil
}

// UpdateBetterAuthCounter writes the signature counter after a successful
// sign-in, as Better Auth does, to the row whose credentialID is
// credentialID exactly. ErrNotFound if none.
func (d *DB) UpdateBetterAuthCounter(ctx context.Context, s *Schema, credentialID string, counter uint32) error {
	ba, err := s.PasskeyTableReady()
	if err != nil {
		return err
	}
	if err := d.checkBetterAuthCounter(ba, int64(counter)); err != nil {
		return err
	}
	return d.updateCounter(ctx, ba.Passkey.Name, ba.P.Counter, ba.P.CredentialID, credentialID, counter)
}

func isNotFound(err error) bool { return errors.Is(err, passkey.ErrNotFound) }
