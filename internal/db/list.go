package db

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// passkeyColumns are the Authenticator columns a Passkey is read from.
// Every known variant has them; a drifted table that lacks one cannot be
// read.
var passkeyColumns = []string{
	"credentialID", "userId", "providerAccountId", "credentialPublicKey",
	"counter", "credentialDeviceType", "credentialBackedUp", "transports",
}

// passkeyQuery is the one SELECT that reads passkeys with everything their
// status needs, built from the detected Schema. list, list --user, get and
// revoke all add a WHERE/ORDER BY to it, so the status is computed the same
// way everywhere.
type passkeyQuery struct {
	// sel is "SELECT ... FROM Authenticator a LEFT JOIN ...", with the
	// provider placeholders of the Account join; args are their values.
	sel  string
	args []any
	d    *DB
}

// passkeyQueryFor builds the SELECT for s. The Account join is the one
// Auth.js makes at sign-in: provider = providerID and providerAccountId =
// the Authenticator row's providerAccountId, compared byte-exactly.
func (d *DB) passkeyQueryFor(s *Schema, providerID string) (*passkeyQuery, error) {
	if err := readable(s); err != nil {
		return nil, err
	}
	owner := d.authjsOwnerOf(s, providerID)
	return &passkeyQuery{sel: d.passkeySelect(s, owner), args: owner.args, d: d}, nil
}

// passkeySelect is "SELECT ... FROM Authenticator a" with owner's joins:
// the columns passkeyRow.dest scans (the Authenticator's, the text ones
// through Dialect.RawText, then owner's e-mail and status code), then
// extra.
func (d *DB) passkeySelect(s *Schema, owner authjsOwner, extra ...string) string {
	cols := make([]string, 0, len(passkeyColumns)+2+len(extra))
	for _, c := range passkeyColumns {
		expr := "a." + d.Q(c)
		if c != "counter" && c != "credentialBackedUp" {
			expr = d.Dialect.RawText(expr)
		}
		cols = append(cols, expr)
	}
	cols = append(append(cols, d.Dialect.RawText(owner.email), owner.statusCode), extra...)
	return "SELECT " + strings.Join(cols, ", ") + " FROM " + d.Q(s.Authenticator.Name) + " a" + owner.joins
}

// authjsOwner is how a passkeyctl query joins an Auth.js passkey (the
// Authenticator row "a") to what Auth.js finds at sign-in: its User row,
// as "u", and the Account row of the provider, as "ac". list, get,
// export, revoke and stats all read passkeys through it, so the status is
// computed the same way everywhere, by the database.
type authjsOwner struct {
	// joins are the LEFT JOINs, args their arguments.
	joins string
	args  []any
	// status is the passkey's status as far as these rows say, in the
	// order Better Auth's are given: passkey.StatusNoAccount, then
	// StatusAccountUserMismatch, StatusNoUser or StatusOK. Whether the key
	// can verify a signature is the client's to check (keyStatus).
	status string
	// statusCode is status as its index in ownerStatuses: a row reads a
	// small integer, which the driver passes without an allocation.
	statusCode string
	// email is the user's e-mail, NULL without a User table or column.
	email string
	// user is the User table's alias, "" when none is joined.
	user string
}

// authjsOwnerOf builds the authjsOwner of s's tables for the Passkey
// provider providerID.
func (d *DB) authjsOwnerOf(s *Schema, providerID string) authjsOwner {
	q := d.Q
	col := func(alias, name string) string { return alias + "." + q(name) }
	o := authjsOwner{email: "NULL"}
	accountUser, accountJoin, args := d.accountJoin(s, providerID)
	type when struct{ cond, status string }
	cases := []when{{accountUser + " IS NULL", passkey.StatusNoAccount}}
	if accountJoin != "" {
		// Byte-exact, not under MySQL's case-insensitive collations.
		mismatch := d.binary(accountUser) + " <> " + d.binary(col("a", "userId"))
		cases = append(cases, when{mismatch, passkey.StatusAccountUserMismatch})
	}
	if s.User != nil && s.User.Has("id") {
		// Without a foreign key (Prisma's relationMode = "prisma") a
		// passkey can outlive its User row: Auth.js then finds no user at
		// sign-in.
		o.user = "u"
		cases = append(cases, when{col("u", "id") + " IS NULL", passkey.StatusNoUser})
		if s.User.Has("email") {
			o.email = col("u", "email")
		}
		o.joins = " LEFT JOIN " + q(s.User.Name) + " u ON " + col("u", "id") + " = " + col("a", "userId")
	}
	o.joins += accountJoin
	o.args = args
	o.status, o.statusCode = "CASE", "CASE"
	for _, c := range cases {
		o.status += " WHEN " + c.cond + " THEN '" + c.status + "'"
		o.statusCode += " WHEN " + c.cond + " THEN " + strconv.Itoa(slices.Index(ownerStatuses, c.status))
	}
	o.status += " ELSE '" + passkey.StatusOK + "' END"
	o.statusCode += " ELSE " + strconv.Itoa(slices.Index(ownerStatuses, passkey.StatusOK)) + " END"
	return o
}

// accountJoin is the LEFT JOIN, as "ac", of the Account row that Auth.js
// finds at sign-in for the Authenticator row "a": provider = providerID
// and providerAccountId = the Authenticator's providerAccountId, compared
// byte-exactly. It returns the joined row's userId ("NULL" without a
// usable Account table), the join and the join's arguments.
func (d *DB) accountJoin(s *Schema, providerID string) (userID, join string, args []any) {
	if s.Account == nil || !s.Account.Has("provider") || !s.Account.Has("providerAccountId") || !s.Account.Has("userId") {
		return "NULL", "", nil
	}
	col := func(alias, name string) string { return alias + "." + d.Q(name) }
	// The plain "=" lets MySQL use Account's (provider, providerAccountId)
	// key; under Prisma's utf8mb4_unicode_ci it also matches IDs that
	// differ in case, which the binary test then rules out. Comparing an
	// ascii_bin column with a utf8mb4 one is allowed: MySQL converts the
	// ASCII side.
	on := d.ExactEq(col("ac", "provider")) + " AND " + d.exactColumnsEq(col("ac", "providerAccountId"), col("a", "providerAccountId"))
	return col("ac", "userId"), " LEFT JOIN " + d.Q(s.Account.Name) + " ac ON " + on, []any{providerID, providerID}
}

// readable reports whether s has an Authenticator table passkeyctl can
// read: a drifted table is read as long as the columns are there.
func readable(s *Schema) error {
	if s == nil || s.Authenticator == nil {
		return s.MissingPasskeyTable()
	}
	var missing []string
	for _, c := range passkeyColumns {
		if !s.Authenticator.Has(c) {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: table %s has no column %s (see: passkeyctl migrate status)", passkey.ErrDrift, s.Authenticator.Name, strings.Join(missing, ", "))
	}
	return nil
}

// where returns the full query text (rebound for the dialect) and its
// arguments for a condition and tail ("ORDER BY ...") with their own
// arguments.
func (pq *passkeyQuery) build(where, tail string, args ...any) (string, []any) {
	query := pq.sel
	if where != "" {
		query += " WHERE " + where
	}
	if tail != "" {
		query += " " + tail
	}
	all := make([]any, 0, len(pq.args)+len(args))
	all = append(append(all, pq.args...), args...)
	return pq.d.Dialect.Rebind(query), all
}

// each runs the query and calls fn for every row, streaming: rows are
// scanned one at a time and never collected.
func (pq *passkeyQuery) each(ctx context.Context, q sqlx.QueryerContext, query string, args []any, fn func(passkey.Passkey) error) error {
	return pq.eachRow(ctx, q, query, args, func(r *passkeyRow) error { return fn(r.passkey()) })
}

// eachRow is each before the rows are decoded into Passkeys; r is reused
// for the next row.
func (pq *passkeyQuery) eachRow(ctx context.Context, q sqlx.QueryerContext, query string, args []any, fn func(r *passkeyRow) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return pq.d.Err("read passkeys", err)
	}
	defer rows.Close()
	var r passkeyRow
	dst := r.dest()
	for rows.Next() {
		if err := r.scan(rows, dst); err != nil {
			return pq.d.Err("read passkeys", err)
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return pq.d.Err("read passkeys", rows.Err())
}

// passkeyRow holds one scanned row of passkeyQuery. Non-key columns are
// nullable so that a drifted table with a NULL in them is still listed
// rather than aborting the whole listing. The text columns are rawText,
// selected through Dialect.RawText (passkeySelect).
type passkeyRow struct {
	credentialID, userID, providerAccountID rawText
	publicKey, deviceType, transports       rawText
	counter                                 rawInt
	backedUp                                rawBool
	email                                   rawText
	// status is authjsOwner.statusCode.
	status rawInt
	text   rowText
	// lastTransports is the last transports text split, lastSplit its
	// list (splitTransports); nil before the first.
	lastTransports string
	lastSplit      []string
}

// splitTransports is passkey.SplitTransports, sharing the list with the
// previous row when both have the same transports (as most neighbours
// do: a handful of combinations over a whole table). Nothing changes a
// Passkey's Transports in place.
func (r *passkeyRow) splitTransports(s string) []string {
	if r.lastSplit == nil || s != r.lastTransports {
		r.lastTransports, r.lastSplit = s, passkey.SplitTransports(s)
	}
	return r.lastSplit
}

// dest is where the columns of passkeySelect are scanned.
func (r *passkeyRow) dest() []any {
	return []any{&r.credentialID, &r.userID, &r.providerAccountID, &r.publicKey, &r.counter,
		&r.deviceType, &r.backedUp, &r.transports, &r.email, &r.status}
}

// scan scans the current row into dst (dest's columns and those a reader
// added) and refuses a NULL key column, as scanning it into a string did.
func (r *passkeyRow) scan(rows *sql.Rows, dst []any) error {
	if err := rows.Scan(dst...); err != nil {
		return err
	}
	for i, c := range []*rawText{&r.credentialID, &r.userID, &r.providerAccountID} {
		if !c.valid {
			return fmt.Errorf("column %s of a passkey is NULL", []string{"credentialID", "userId", "providerAccountId"}[i])
		}
	}
	return nil
}

// passkey turns the row into a Passkey with Algorithm and Status computed
// the way Auth.js would fare signing in with it. Its strings share one
// allocation (rowText).
func (r *passkeyRow) passkey() passkey.Passkey {
	p := r.unchecked()
	checkKey(&p)
	return p
}

// unchecked is passkey before its key is checked: Status is the owner
// status (authjsOwner), Algorithm empty; checkKey completes it.
func (r *passkeyRow) unchecked() passkey.Passkey {
	p, _ := r.uncheckedNamed(nil)
	return p
}

// ownerText is a row's nullable owner strings, which a Passkey and an
// export record point to: one allocation for both.
type ownerText struct{ email, name string }

// uncheckedNamed is unchecked, and the text of the column name (the
// user's name, which export reads) as a string of the same allocation
// as the others; nil when name is nil or NULL.
func (r *passkeyRow) uncheckedNamed(name *rawText) (passkey.Passkey, *string) {
	var s [8]string
	cols := [8]*rawText{&r.credentialID, &r.userID, &r.providerAccountID, &r.publicKey, &r.deviceType, &r.transports, &r.email, name}
	n := len(cols)
	if name == nil {
		n--
	}
	r.text.strings(cols[:n], s[:n])
	p := passkey.Passkey{
		CredentialID:         s[0],
		UserID:               s[1],
		Counter:              r.counter.v,
		CredentialDeviceType: s[4],
		CredentialBackedUp:   r.backedUp.v,
		Transports:           r.splitTransports(s[5]),
		PublicKey:            s[3],
		ProviderAccountID:    s[2],
		Status:               ownerStatus(r.status.v),
	}
	var owner *ownerText
	if r.email.valid || name != nil && name.valid {
		owner = &ownerText{email: s[6], name: s[7]}
	}
	if r.email.valid {
		p.Email = &owner.email
	}
	if name != nil && name.valid {
		return p, &owner.name
	}
	return p, nil
}

// checkKey sets the Algorithm of an unchecked passkey and, when its key
// cannot verify a signature, its Status (keyStatus).
func checkKey(p *passkey.Passkey) {
	alg, keyErr := passkey.CheckStoredPublicKey(p.PublicKey)
	p.Algorithm = alg
	p.Status = keyStatus(p.Status, keyErr)
}

// ownerStatuses are the values of authjsOwner.status, indexed by its
// statusCode.
var ownerStatuses = []string{passkey.StatusOK, passkey.StatusNoAccount, passkey.StatusAccountUserMismatch, passkey.StatusNoUser}

// ownerStatus is the status whose authjsOwner.statusCode is code.
func ownerStatus(code int64) string {
	if code < 0 || code >= int64(len(ownerStatuses)) {
		return "unknown"
	}
	return ownerStatuses[code]
}

// keyStatus is a passkey's status once its key is checked: a key that
// cannot verify a signature makes a passkey its rows call ok
// StatusBadPublicKey; who owns it is told first.
func keyStatus(ownerStatus string, keyErr error) string {
	if ownerStatus == passkey.StatusOK && keyErr != nil {
		return passkey.StatusBadPublicKey
	}
	return ownerStatus
}

// GetPasskey returns the passkey whose credential ID is raw (compared
// byte-exactly against the stored standard-base64 form, using the index),
// with Email, Algorithm and Status filled. ErrNotFound if none.
func (d *DB) GetPasskey(ctx context.Context, s *Schema, raw []byte, providerID string) (passkey.Passkey, error) {
	return d.getPasskey(ctx, d.X, s, raw, providerID)
}

func (d *DB) getPasskey(ctx context.Context, q sqlx.QueryerContext, s *Schema, raw []byte, providerID string) (passkey.Passkey, error) {
	return s.app().getPasskey(d, ctx, q, s, raw, providerID)
}

// ListPasskeys calls fn for each passkey, ordered by user ID then
// credential ID, with Email, Algorithm and Status filled. fn's error stops
// the listing and is returned as is.
//
// Memory stays flat however large the table: the rows stream from one
// cursor and are never collected. For the whole table, one goroutine reads
// and decodes rows while fn (typically JSON encoding) runs on another, in
// batches of streamBatch rows.
//
// One query rather than keyset pages: measured on 1,000,000 passkeys in
// PostgreSQL, paging along the primary key turns the joins with Account
// and User into one random index lookup per row and takes several times
// longer than one hash join and sort, which is also what a psql \copy of
// the same rows does.
func (d *DB) ListPasskeys(ctx context.Context, s *Schema, opts store.ListOptions, fn func(passkey.Passkey) error) error {
	return s.app().listPasskeys(d, ctx, s, opts, fn)
}

// streamBatch is how many rows pass between the reading and the calling
// goroutine at a time; with streamBuffer batches in flight the memory held
// is a few hundred kilobytes.
const (
	streamBatch  = 256
	streamBuffer = 4
)

// stream is each with the reading of rows on its own goroutine (see
// pipeline).
func (pq *passkeyQuery) stream(ctx context.Context, query string, args []any, fn func(passkey.Passkey) error) error {
	return pipeline(ctx, func(ctx context.Context, emit func(passkey.Passkey) error) error {
		return pq.eachRow(ctx, pq.d.X, query, args, func(r *passkeyRow) error {
			return emit(r.unchecked())
		})
	}, func(p passkey.Passkey) error {
		// The key is checked on fn's side: the reading goroutine, with
		// the driver's work, was the busier of the two (a sixth faster on
		// PostgreSQL with the check moved here).
		checkKey(&p)
		return fn(p)
	})
}

// pipeline runs read on its own goroutine and fn on the caller's for each
// value read emits, in order, so that the driver's work (receiving and
// parsing rows, decoding them) and fn's (typically JSON encoding) run at
// the same time on two cores. Values pass in batches of streamBatch, whose
// storage goes back to the reader once fn has seen them: the listing of a
// million passkeys allocates no batch after the first few.
//
// fn's error stops read (through its context) and is returned as is; so
// is read's.
func pipeline[T any](ctx context.Context, read func(ctx context.Context, emit func(T) error) error, fn func(T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	full := make(chan []T, streamBuffer)
	empty := make(chan []T, streamBuffer+1)
	readErr := make(chan error, 1)
	go func() {
		defer close(full)
		batch := make([]T, 0, streamBatch)
		send := func() error {
			select {
			case full <- batch:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case batch = <-empty:
			default:
				batch = make([]T, 0, streamBatch)
			}
			return nil
		}
		err := read(ctx, func(v T) error {
			batch = append(batch, v)
			if len(batch) < streamBatch {
				return nil
			}
			return send()
		})
		if err == nil && len(batch) > 0 {
			err = send()
		}
		readErr <- err
	}()
	var zero T
	for batch := range full {
		for i := range batch {
			if err := fn(batch[i]); err != nil {
				cancel()
				for range full {
					// Let the reader see the cancellation and finish.
				}
				return err
			}
			batch[i] = zero // nothing of it stays reachable from the pool
		}
		select {
		case empty <- batch[:0]:
		default:
		}
	}
	return <-readErr
}

// StatusNoAuthenticator is the status of an Orphan.
const StatusNoAuthenticator = passkey.StatusNoAuthenticator

// ListOrphans calls fn for each orphan Account row (see Orphan) of
// opts.ProviderID, ordered by user ID then credential ID, streaming like
// ListPasskeys. opts.UserID limits it to one user.
//
// An Account belongs to the Authenticator whose credentialID equals its
// providerAccountId (Auth.js writes the same string to both); the test
// uses the credentialID unique index, so it stays fast on large tables.
func (d *DB) ListOrphans(ctx context.Context, s *Schema, opts store.ListOptions, fn func(store.Orphan) error) error {
	return s.app().listOrphans(d, ctx, s, opts, fn)
}

// WrongProviderHint returns, when the collected passkeys' "webauthn"
// Account rows are under providers other than providerID, the sentence
// that names the provider to use; "" otherwise (and on Better Auth, which
// has no Account row per passkey).
func (d *DB) WrongProviderHint(ctx context.Context, s *Schema, c *store.ProviderCheck, providerID string) (string, error) {
	return d.wrongProviderHint(ctx, d.X, s, c, providerID)
}

func (d *DB) wrongProviderHint(ctx context.Context, q sqlx.QueryerContext, s *Schema, c *store.ProviderCheck, providerID string) (string, error) {
	return s.app().wrongProviderHint(d, ctx, q, s, c, providerID)
}
