package db

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// ExportFormatVersion is the version of passkeyctl's export format, carried
// by every line. Readers accept unknown fields within a version (fields may
// be added); a change that alters the meaning of a field gets a new version.
const ExportFormatVersion = 1

// ExportRecord is one passkey in passkeyctl's export format: JSON Lines,
// one object per passkey, in encodings that neither app owns. The JSON
// field names are a documented, stable interface (README "Export format").
type ExportRecord struct {
	// Version is ExportFormatVersion.
	Version int `json:"version"`
	// CredentialID is the raw credential ID in base64url without padding:
	// the form browsers send.
	CredentialID string `json:"credentialID"`
	// PublicKey is the COSE_Key in standard padded base64, the form both
	// apps store.
	PublicKey string `json:"publicKey"`
	// Counter is the signature counter.
	Counter int64 `json:"counter"`
	// DeviceType is "singleDevice" or "multiDevice" (the BE flag).
	DeviceType string `json:"deviceType"`
	// BackedUp is the BS flag at registration.
	BackedUp bool `json:"backedUp"`
	// Transports is the browser's list; [] when the source stored "" and
	// null when it stored NULL.
	Transports []string `json:"transports"`
	// Name, CreatedAt (RFC 3339 with milliseconds, UTC) and AAGUID
	// (lower-case UUID) are Better Auth's; null from Auth.js.
	Name      *string `json:"name"`
	CreatedAt *string `json:"createdAt"`
	AAGUID    *string `json:"aaguid"`
	// User is the owner as the source knows them.
	User ExportUser `json:"user"`
	// Status is "ok", or the ownership problem that stops the passkey from
	// signing in at the source (see `list`); import leaves such records
	// out.
	Status string `json:"status"`
	// RevokedAt is set only in the records revoke --backup writes: when
	// (RFC 3339, UTC) the passkey was being revoked. Such a record of a
	// passkey the target still holds, for the same user, is an undo that
	// is not needed (the revoke did not commit, or the passkey was already
	// restored): import skips it instead of calling it a conflict.
	RevokedAt *string `json:"revokedAt,omitempty"`
}

// ExportUser is a passkey owner in the export format.
type ExportUser struct {
	ID            string  `json:"id"`
	Email         *string `json:"email"`
	Name          *string `json:"name"`
	EmailVerified bool    `json:"emailVerified"`
}

// ExportRecordFromBetterAuth converts a Better Auth passkey row.
func ExportRecordFromBetterAuth(r BetterAuthPasskeyRow) ExportRecord {
	rec := ExportRecord{
		Version:      ExportFormatVersion,
		CredentialID: r.CredentialID,
		PublicKey:    r.PublicKey,
		Counter:      r.Counter,
		DeviceType:   r.DeviceType,
		BackedUp:     r.BackedUp,
		Transports:   splitTransportsNullable(r.Transports),
		Name:         r.Name,
		CreatedAt:    formatTime(r.CreatedAt),
		AAGUID:       r.AAGUID,
		User:         ExportUser{ID: r.UserID, Email: r.Email, Name: r.UserName, EmailVerified: r.EmailVerified},
		Status:       r.Status(),
	}
	if raw, err := DecodeBase64(r.CredentialID); err == nil && len(raw) > 0 {
		rec.CredentialID = Base64URL(raw)
	}
	if rec.AAGUID != nil {
		a := strings.ToLower(*rec.AAGUID)
		rec.AAGUID = &a
	}
	return rec
}

// AuthjsExportRow is an Auth.js passkey with what the export format needs
// beyond `list`: whether transports is NULL and the owner's details.
type AuthjsExportRow struct {
	Passkey
	// TransportsNull is true when the transports column is NULL.
	TransportsNull bool
	User           ExportUser
}

// ExportRecordFromAuthjs converts an Auth.js Authenticator row (with its
// status as `list` computes it).
func ExportRecordFromAuthjs(r AuthjsExportRow) ExportRecord {
	rec := ExportRecord{
		Version:      ExportFormatVersion,
		CredentialID: r.CredentialID,
		PublicKey:    r.PublicKey,
		Counter:      r.Counter,
		DeviceType:   r.CredentialDeviceType,
		BackedUp:     r.CredentialBackedUp,
		Transports:   r.Transports,
		User:         r.User,
		Status:       r.Status,
	}
	if r.TransportsNull {
		rec.Transports = nil
	} else if rec.Transports == nil {
		rec.Transports = []string{}
	}
	if raw, err := DecodeBase64(r.CredentialID); err == nil && len(raw) > 0 {
		rec.CredentialID = Base64URL(raw)
	}
	return rec
}

func splitTransportsNullable(s *string) []string {
	if s == nil {
		return nil
	}
	return SplitTransports(sql.NullString{String: *s, Valid: true})
}

// brokenRecordError is a record of the export format whose passkey could
// never sign in (its public key is unusable): import leaves it out with a
// warning, as it leaves out records whose status is not "ok".
type brokenRecordError struct{ reason string }

func (e *brokenRecordError) Error() string { return e.reason }

// normalized is a validated record with its decoded parts.
type normalized struct {
	rec       ExportRecord
	rawID     []byte
	publicKey string // standard padded base64
	createdAt *time.Time
	line      int
}

// validate checks a record read from line and decodes its fields.
func (rec ExportRecord) validate(line int) (*normalized, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: line %d: %s", ErrInvalid, line, fmt.Sprintf(format, args...))
	}
	if rec.Version == 0 {
		return nil, bad("not a passkeyctl export record (no \"version\"); write one with: passkeyctl export")
	}
	if rec.Version > ExportFormatVersion {
		return nil, bad("export format version %d is newer than this passkeyctl understands (%d): upgrade passkeyctl", rec.Version, ExportFormatVersion)
	}
	raw, err := DecodeBase64(rec.CredentialID)
	if err != nil || len(raw) == 0 {
		return nil, bad("credentialID %q is not base64url", rec.CredentialID)
	}
	if len(raw) > 1023 {
		return nil, bad("credentialID is %d bytes; WebAuthn allows at most 1023", len(raw))
	}
	key, err := DecodeBase64(rec.PublicKey)
	if err != nil || len(key) == 0 {
		return nil, &brokenRecordError{reason: "its publicKey is empty or not base64"}
	}
	if rec.DeviceType != "singleDevice" && rec.DeviceType != "multiDevice" {
		return nil, bad("deviceType %q of %s: want singleDevice or multiDevice", rec.DeviceType, rec.CredentialID)
	}
	if rec.Counter < 0 || rec.Counter > 1<<32-1 {
		return nil, bad("counter %d of %s is not a 32-bit unsigned signature counter", rec.Counter, rec.CredentialID)
	}
	if strings.TrimSpace(rec.User.ID) == "" && (rec.User.Email == nil || strings.TrimSpace(*rec.User.Email) == "") {
		return nil, bad("passkey %s has neither a user id nor an e-mail", rec.CredentialID)
	}
	for _, t := range rec.Transports {
		if t == "" || strings.ContainsAny(t, ", ") {
			return nil, bad("transport %q of %s is not a WebAuthn transport name", t, rec.CredentialID)
		}
	}
	n := &normalized{rec: rec, rawID: raw, publicKey: base64.StdEncoding.EncodeToString(key), line: line}
	if rec.CreatedAt != nil {
		t, err := time.Parse(time.RFC3339Nano, *rec.CreatedAt)
		if err != nil {
			return nil, bad("createdAt %q of %s is not an RFC 3339 time", *rec.CreatedAt, rec.CredentialID)
		}
		t = t.UTC()
		n.createdAt = &t
	}
	if rec.AAGUID != nil {
		a := strings.ToLower(*rec.AAGUID)
		if !uuidPattern.MatchString(a) {
			return nil, bad("aaguid %q of %s is not a UUID", *rec.AAGUID, rec.CredentialID)
		}
		n.rec.AAGUID = &a
	}
	if n.rec.Status == "" {
		n.rec.Status = StatusOK
	}
	if n.rec.Status == StatusOK {
		// "ok" must mean the key can verify a signature; records the
		// source already marked broken are left out by their status.
		// A key that cannot is left out with a warning like every broken
		// record, rather than failing the whole import: one bad record in
		// a backup must not stand between the operator and the undo.
		if _, err := CheckPublicKey(key); err != nil {
			return nil, &brokenRecordError{reason: fmt.Sprintf("its publicKey is not a usable COSE key: %v", err)}
		}
	}
	return n, nil
}

// BetterAuthPasskey converts the record into the row Better Auth stores
// for it: base64url credentialID, the COSE key unchanged (standard padded
// base64), transports comma-joined with NULL kept NULL, id left to the
// writer.
func (rec ExportRecord) BetterAuthPasskey(userID string) (BetterAuthPasskey, error) {
	n, err := rec.validate(0)
	if err != nil {
		return BetterAuthPasskey{}, err
	}
	return n.betterAuth(userID), nil
}

func (n *normalized) betterAuth(userID string) BetterAuthPasskey {
	p := BetterAuthPasskey{
		Name:         n.rec.Name,
		PublicKey:    n.publicKey,
		UserID:       userID,
		CredentialID: Base64URL(n.rawID),
		Counter:      n.rec.Counter,
		DeviceType:   n.rec.DeviceType,
		BackedUp:     n.rec.BackedUp,
		CreatedAt:    n.createdAt,
		AAGUID:       n.rec.AAGUID,
	}
	if n.rec.Transports != nil {
		t := strings.Join(n.rec.Transports, ",")
		p.Transports = &t
	}
	return p
}

// AuthjsAuthenticator is an Authenticator row as Auth.js writes it.
type AuthjsAuthenticator struct {
	CredentialID         string
	UserID               string
	ProviderAccountID    string
	CredentialPublicKey  string
	Counter              int64
	CredentialDeviceType string
	CredentialBackedUp   bool
	Transports           sql.NullString
}

// AuthjsAuthenticator converts the record into the Authenticator row
// Auth.js stores for it: credentialID and providerAccountId in standard
// padded base64, transports comma-joined or NULL.
func (rec ExportRecord) AuthjsAuthenticator(userID string) (AuthjsAuthenticator, error) {
	n, err := rec.validate(0)
	if err != nil {
		return AuthjsAuthenticator{}, err
	}
	return n.authjs(userID), nil
}

func (n *normalized) authjs(userID string) AuthjsAuthenticator {
	id := AuthjsCredentialID(n.rawID)
	return AuthjsAuthenticator{
		CredentialID:         id,
		UserID:               userID,
		ProviderAccountID:    id,
		CredentialPublicKey:  n.publicKey,
		Counter:              n.rec.Counter,
		CredentialDeviceType: n.rec.DeviceType,
		CredentialBackedUp:   n.rec.BackedUp,
		Transports:           JoinTransports(n.rec.Transports),
	}
}

// ExportWriter writes records as JSON Lines.
type ExportWriter struct {
	enc *json.Encoder
}

// NewExportWriter returns a writer of the export format on w.
func NewExportWriter(w io.Writer) *ExportWriter {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &ExportWriter{enc: enc}
}

// Write writes one record as one line.
func (w *ExportWriter) Write(rec ExportRecord) error { return w.enc.Encode(rec) }

// ExportReader reads the export format one record at a time; blank lines
// are skipped. A torn record — the start of a line cut short, as a crash or
// a full disk leaves it, possibly followed on the same line by a whole
// record that a later append wrote — is reported as ErrTornRecord and the
// reader goes on with what follows it.
type ExportReader struct {
	sc   *bufio.Scanner
	line int
	// rest is what is left of the current line after a torn record.
	rest []byte
}

// ErrTornRecord marks a line, or the start of one, that holds a record cut
// short: the beginning of a JSON object whose end is missing.
var ErrTornRecord = errors.New("a record cut short (as a crash or a full disk leaves it)")

// NewExportReader returns a reader of the export format on r.
func NewExportReader(r io.Reader) *ExportReader {
	sc := bufio.NewScanner(r)
	// A record is a few hundred bytes; an RSA key and a 1023-byte ID stay
	// far below this.
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	return &ExportReader{sc: sc}
}

// recordStart is how every record passkeyctl writes begins.
var recordStart = []byte(`{"version":`)

// Next returns the next record and its line number, or io.EOF. A torn
// record is an error wrapping ErrTornRecord; calling Next again goes on
// after it.
func (r *ExportReader) Next() (ExportRecord, int, error) {
	for {
		if r.rest == nil {
			if !r.sc.Scan() {
				break
			}
			r.line++
			r.rest = bytes.TrimSpace(r.sc.Bytes())
			if len(r.rest) == 0 {
				r.rest = nil
				continue
			}
		}
		b := r.rest
		r.rest = nil
		var rec ExportRecord
		err := json.Unmarshal(b, &rec)
		if err == nil {
			return rec, r.line, nil
		}
		// A record cut short and, on the same line, what was appended
		// after it: report the torn part, then read the rest.
		if i := bytes.Index(b[1:], recordStart); i >= 0 && torn(b[:i+1]) {
			r.rest = b[i+1:]
			return ExportRecord{}, r.line, fmt.Errorf("line %d: %w", r.line, ErrTornRecord)
		}
		if torn(b) {
			return ExportRecord{}, r.line, fmt.Errorf("line %d: %w", r.line, ErrTornRecord)
		}
		return ExportRecord{}, r.line, fmt.Errorf("%w: line %d: not a JSON object of the export format: %v", ErrInvalid, r.line, err)
	}
	if err := r.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return ExportRecord{}, r.line + 1, fmt.Errorf("%w: line %d is longer than 1 MiB: not the export format", ErrInvalid, r.line+1)
		}
		return ExportRecord{}, r.line, fmt.Errorf("read input: %w", err)
	}
	return ExportRecord{}, r.line, io.EOF
}

// torn reports whether b is the beginning of a JSON object that ends too
// early: what is left of a record whose write was cut short.
func torn(b []byte) bool {
	if len(b) == 0 || b[0] != '{' {
		return false
	}
	var se *json.SyntaxError
	err := json.Unmarshal(b, new(json.RawMessage))
	return errors.As(err, &se) && se.Offset >= int64(len(b))
}

// ExportOptions selects what ExportPasskeys reads.
type ExportOptions struct {
	// ProviderID is the Auth.js Account.provider of passkeys.
	ProviderID string
	// UserID limits the export to one user (compared exactly); "" exports
	// everyone.
	UserID string
	// CredentialIDs, when set, limits the export to these credentials
	// (raw IDs): what revoke --backup saves.
	CredentialIDs [][]byte
}

// ExportPasskeys calls fn with every passkey of the schema's app as an
// export record, broken ones included (Status says which), ordered by user
// then credential ID. Rows stream from one cursor, so memory stays flat.
func (d *DB) ExportPasskeys(ctx context.Context, s *Schema, opts ExportOptions, fn func(ExportRecord) error) error {
	if opts.CredentialIDs != nil {
		return d.exportCredentials(ctx, s, opts, fn)
	}
	if s.App == AppBetterAuth {
		return d.BetterAuthPasskeys(ctx, s, BetterAuthListOptions{UserID: opts.UserID}, func(r BetterAuthPasskeyRow) error {
			return fn(ExportRecordFromBetterAuth(r))
		})
	}
	return d.authjsExportRows(ctx, d.X, s, opts, "", nil, "", func(r AuthjsExportRow) error {
		return fn(ExportRecordFromAuthjs(r))
	})
}

// exportCredentials exports the passkeys of opts.CredentialIDs, in that
// order, each once; IDs not stored are skipped.
func (d *DB) exportCredentials(ctx context.Context, s *Schema, opts ExportOptions, fn func(ExportRecord) error) error {
	stored := make([]string, 0, len(opts.CredentialIDs))
	for _, raw := range opts.CredentialIDs {
		stored = append(stored, storedCredentialID(s.App, raw))
	}
	found := map[string]ExportRecord{}
	want := map[string]bool{}
	for _, v := range stored {
		want[v] = true
	}
	for start := 0; start < len(stored); start += batchSize {
		batch := stored[start:min(len(stored), start+batchSize)]
		var err error
		if s.App == AppBetterAuth {
			ba, e := s.PasskeyTableReady()
			if e != nil {
				return e
			}
			in, args := d.inList("p."+d.Q(ba.P.CredentialID), batch)
			err = d.eachBetterAuth(ctx, d.X, d.baPasskeySelect(ba)+" WHERE "+in, args, func(r BetterAuthPasskeyRow) error {
				if want[r.CredentialID] {
					found[r.CredentialID] = ExportRecordFromBetterAuth(r)
				}
				return nil
			})
		} else {
			in, args := d.inList("a."+d.Q("credentialID"), batch)
			err = d.authjsExportRows(ctx, d.X, s, opts, in, args, "", func(r AuthjsExportRow) error {
				if want[r.CredentialID] {
					found[r.CredentialID] = ExportRecordFromAuthjs(r)
				}
				return nil
			})
		}
		if err != nil {
			return err
		}
	}
	done := map[string]bool{}
	for _, v := range stored {
		if rec, ok := found[v]; ok && !done[v] {
			done[v] = true
			if err := fn(rec); err != nil {
				return err
			}
		}
	}
	return nil
}

// authjsExportRows reads Authenticator rows (alias a) through qx, joined, as
// Auth.js joins them at sign-in, with the Account of the provider (for the
// status) and with the owner's User row. tail replaces the default ORDER BY
// (user, then credential ID): revoke passes its own order and row lock.
func (d *DB) authjsExportRows(ctx context.Context, qx sqlx.QueryerContext, s *Schema, opts ExportOptions, where string, whereArgs []any, tail string, fn func(AuthjsExportRow) error) error {
	if err := readable(s); err != nil {
		return err
	}
	q := d.Q
	col := func(alias, name string) string { return alias + "." + q(name) }
	cols := make([]string, 0, len(passkeyColumns)+5)
	for _, c := range passkeyColumns {
		cols = append(cols, col("a", c))
	}
	userCols := []string{"NULL", "NULL", "NULL", "NULL"}
	userJoin := ""
	if s.User != nil && s.User.Has("id") {
		userJoin = " LEFT JOIN " + q(s.User.Name) + " u ON " + col("u", "id") + " = " + col("a", "userId")
		userCols[0] = col("u", "id")
		if s.User.Has("email") {
			userCols[1] = col("u", "email")
		}
		if s.User.Has("name") {
			userCols[2] = col("u", "name")
		}
		if s.User.Has("emailVerified") {
			userCols[3] = "CASE WHEN " + col("u", "emailVerified") + " IS NULL THEN 0 ELSE 1 END"
		}
	}
	// The same Account join as list's, so that the status is the same.
	accountUser, accountJoin, args := d.accountJoin(s, opts.ProviderID)
	cols = append(cols, userCols[1], accountUser, userCols[0], userCols[2], userCols[3])
	query := "SELECT " + strings.Join(cols, ", ") + " FROM " + q(s.Authenticator.Name) + " a" + userJoin + accountJoin
	var conds []string
	if opts.UserID != "" {
		conds = append(conds, d.ExactEq(col("a", "userId")))
		args = append(args, opts.UserID, opts.UserID)
	}
	if where != "" {
		conds = append(conds, where)
		args = append(args, whereArgs...)
	}
	if len(conds) > 0 {
		query += " WHERE " + strings.Join(conds, " AND ")
	}
	if tail == "" {
		tail = " ORDER BY " + col("a", "userId") + ", " + col("a", "credentialID")
	}
	rows, err := qx.QueryContext(ctx, d.Dialect.Rebind(query+tail), args...)
	if err != nil {
		return d.Err("read passkeys", err)
	}
	defer rows.Close()
	var r passkeyRow
	var uid, name sql.NullString
	var verified sql.NullInt64
	dst := append(r.dest(), &uid, &name, &verified)
	for rows.Next() {
		if err := rows.Scan(dst...); err != nil {
			return d.Err("read passkeys", err)
		}
		r.noUser = 0
		// Only a joined User table can say the user is gone: without an id
		// column nothing was joined and u.id is NULL for every row.
		if userJoin != "" && !uid.Valid {
			r.noUser = 1
		}
		p := r.passkey()
		out := AuthjsExportRow{
			Passkey:        p,
			TransportsNull: !r.transports.Valid,
			User:           ExportUser{ID: p.UserID, Email: p.Email, Name: nullable(name), EmailVerified: verified.Int64 == 1},
		}
		if err := fn(out); err != nil {
			return err
		}
	}
	return d.Err("read passkeys", rows.Err())
}
