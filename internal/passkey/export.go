package passkey

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
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
	// Authenticator is the name AuthenticatorName gives the AAGUID, for
	// people reading the file; left out when unknown. It is derived, so
	// import ignores it.
	Authenticator *string `json:"authenticator,omitempty"`
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
	if id, ok := stdToURLBase64(r.CredentialID); ok {
		rec.CredentialID = id
	} else if raw, err := DecodeBase64(r.CredentialID); err == nil && len(raw) > 0 {
		rec.CredentialID = Base64URL(raw)
	}
	return rec
}

// stdToURLBase64 is Base64URL of the bytes s encodes, for s in canonical
// padded standard base64 (as Auth.js stores every credential ID): the
// same characters with '+' and '/' swapped for '-' and '_' and without
// the padding. ok is false for anything else (other forms, whitespace,
// bits set past the last byte), which goes the long way round, through
// DecodeBase64. An export of a million passkeys saves a decode and an
// encode per row.
func stdToURLBase64(s string) (string, bool) {
	if len(s) == 0 || len(s)%4 != 0 {
		return "", false
	}
	data, unused := s, uint(0)
	if data[len(data)-1] == '=' {
		data, unused = data[:len(data)-1], 2
		if data[len(data)-1] == '=' {
			data, unused = data[:len(data)-1], 4
		}
	}
	// On the stack for the usual IDs (32 bytes: 43 characters), so that
	// the string below is the one allocation.
	var stack [64]byte
	out := stack[:0]
	if len(data) > len(stack) {
		out = make([]byte, len(data))
	}
	out = out[:len(data)]
	for i := 0; i < len(data); i++ {
		if out[i] = stdToURL[data[i]]; out[i] == 0 {
			return "", false
		}
	}
	// Canonical: the bits of the last character past the last byte are 0.
	if last := strings.IndexByte(stdAlphabet, data[len(data)-1]); last&(1<<unused-1) != 0 {
		return "", false
	}
	return string(out), true
}

const stdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// stdToURL maps each character of standard base64 to its base64url
// counterpart; every other byte to 0.
var stdToURL = func() (t [256]byte) {
	const url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(stdAlphabet) {
		t[stdAlphabet[i]] = url[i]
	}
	return t
}()

// BrokenRecordError is a record of the export format whose passkey could
// never sign in (its public key is unusable): import leaves it out with a
// warning, as it leaves out records whose status is not "ok".
type BrokenRecordError struct{ Reason string }

func (e *BrokenRecordError) Error() string { return e.Reason }

// Normalized is a validated record with its decoded parts.
type Normalized struct {
	// Rec is the record, with its AAGUID in lower case and an empty status
	// read as "ok".
	Rec ExportRecord
	// RawID is the decoded credential ID.
	RawID []byte
	// ID is RawID in base64url without padding (Base64URL).
	ID string
	// PublicKey is the COSE key in standard padded base64.
	PublicKey string
	// CreatedAt is the parsed createdAt, in UTC.
	CreatedAt *time.Time
	// Line is where the record was read (0 when it was not read from a
	// file).
	Line int
	// key holds the decoded public key while ValidateInto checks it.
	key []byte
}

// Validate checks a record read from line and decodes its fields.
func (rec ExportRecord) Validate(line int) (*Normalized, error) {
	n := new(Normalized)
	if err := rec.ValidateInto(line, n); err != nil {
		return nil, err
	}
	n.key = nil
	return n, nil
}

// ValidateInto is Validate into n, whose storage it reuses (RawID's, and
// its buffer for the key): an import validates batch after batch of
// records into the same Normalized values. After an error n holds
// nothing of use.
func (rec ExportRecord) ValidateInto(line int, n *Normalized) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: line %d: %s", ErrInvalid, line, fmt.Sprintf(format, args...))
	}
	if rec.Version == 0 {
		return bad("not a passkeyctl export record (no \"version\"); write one with: passkeyctl export")
	}
	if rec.Version > ExportFormatVersion {
		return bad("export format version %d is newer than this passkeyctl understands (%d): upgrade passkeyctl", rec.Version, ExportFormatVersion)
	}
	raw, err := decodeBase64Into(n.RawID, rec.CredentialID)
	if err != nil || len(raw) == 0 {
		return bad("credentialID %q is not base64url", rec.CredentialID)
	}
	if len(raw) > 1023 {
		return bad("credentialID is %d bytes; WebAuthn allows at most 1023", len(raw))
	}
	key, err := decodeBase64Into(n.key, rec.PublicKey)
	if err != nil || len(key) == 0 {
		return &BrokenRecordError{Reason: "its publicKey is empty or not base64"}
	}
	if rec.DeviceType != "singleDevice" && rec.DeviceType != "multiDevice" {
		return bad("deviceType %q of %s: want singleDevice or multiDevice", rec.DeviceType, rec.CredentialID)
	}
	if rec.Counter < 0 || rec.Counter > 1<<32-1 {
		return bad("counter %d of %s is not a 32-bit unsigned signature counter", rec.Counter, rec.CredentialID)
	}
	if strings.TrimSpace(rec.User.ID) == "" && (rec.User.Email == nil || strings.TrimSpace(*rec.User.Email) == "") {
		return bad("passkey %s has neither a user id nor an e-mail", rec.CredentialID)
	}
	for _, t := range rec.Transports {
		if t == "" || strings.ContainsAny(t, ", ") {
			return bad("transport %q of %s is not a WebAuthn transport name", t, rec.CredentialID)
		}
	}
	*n = Normalized{Rec: rec, RawID: raw, ID: reencoded(base64.RawURLEncoding, raw, rec.CredentialID),
		PublicKey: reencoded(base64.StdEncoding, key, rec.PublicKey), Line: line, key: key}
	if rec.CreatedAt != nil {
		t, err := time.Parse(time.RFC3339Nano, *rec.CreatedAt)
		if err != nil {
			return bad("createdAt %q of %s is not an RFC 3339 time", *rec.CreatedAt, rec.CredentialID)
		}
		t = t.UTC()
		n.CreatedAt = &t
	}
	if rec.AAGUID != nil {
		a := strings.ToLower(*rec.AAGUID)
		if !IsUUID(a) {
			return bad("aaguid %q of %s is not a UUID", *rec.AAGUID, rec.CredentialID)
		}
		n.Rec.AAGUID = &a
	}
	if n.Rec.Status == "" {
		n.Rec.Status = StatusOK
	}
	if n.Rec.Status == StatusOK {
		// "ok" must mean the key can verify a signature; records the
		// source already marked broken are left out by their status.
		// A key that cannot is left out with a warning like every broken
		// record, rather than failing the whole import: one bad record in
		// a backup must not stand between the operator and the undo.
		if _, err := CheckPublicKey(key); err != nil {
			return &BrokenRecordError{Reason: fmt.Sprintf("its publicKey is not a usable COSE key: %v", err)}
		}
	}
	return nil
}

// reencoded is b in enc: s itself when s is already that encoding (the
// usual record), so that the record's string is shared, not copied.
func reencoded(enc *base64.Encoding, b []byte, s string) string {
	var buf [512]byte
	if n := enc.EncodedLen(len(b)); n == len(s) && n <= len(buf) {
		enc.Encode(buf[:n], b)
		if string(buf[:n]) == s {
			return s
		}
	}
	return enc.EncodeToString(b)
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
	// Transports is nil for NULL.
	Transports *string
}

// AuthjsAuthenticator converts the record into the Authenticator row
// Auth.js stores for it: credentialID and providerAccountId in standard
// padded base64, transports comma-joined or NULL.
func (rec ExportRecord) AuthjsAuthenticator(userID string) (AuthjsAuthenticator, error) {
	n, err := rec.Validate(0)
	if err != nil {
		return AuthjsAuthenticator{}, err
	}
	return n.Authjs(userID), nil
}

func (n *Normalized) Authjs(userID string) AuthjsAuthenticator {
	id := AuthjsCredentialID(n.RawID)
	return AuthjsAuthenticator{
		CredentialID:         id,
		UserID:               userID,
		ProviderAccountID:    id,
		CredentialPublicKey:  n.PublicKey,
		Counter:              n.Rec.Counter,
		CredentialDeviceType: n.Rec.DeviceType,
		CredentialBackedUp:   n.Rec.BackedUp,
		Transports:           JoinTransports(n.Rec.Transports),
	}
}

// ExportWriter writes records as JSON Lines: the bytes of an
// encoding/json Encoder without HTML escaping, one Write per line, encoded
// by ExportRecord.AppendJSON into a buffer reused from line to line.
type ExportWriter struct {
	w   io.Writer
	buf []byte
}

// NewExportWriter returns a writer of the export format on w.
func NewExportWriter(w io.Writer) *ExportWriter {
	return &ExportWriter{w: w}
}

// Write writes one record as one line.
func (w *ExportWriter) Write(rec ExportRecord) error {
	w.buf = append(rec.AppendJSON(w.buf[:0]), '\n')
	_, err := w.w.Write(w.buf)
	return err
}

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
	// user is the user of the last record parseExportRecord read, whose
	// strings the next record shares when it has the same.
	user ExportUser
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
		if rec, ok := parseExportRecord(b, &r.user); ok {
			r.user = rec.User
			return rec, r.line, nil
		}
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
