package redis

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
)

// The values the adapter stores are JSON.stringify output: compact, keys
// in the order the JavaScript object got them. The writers here produce
// the same bytes (jsonWriter), in the key orders the fixture records.

// jsonWriter builds compact JSON the way JSON.stringify does.
type jsonWriter struct {
	b     bytes.Buffer
	first bool
}

func (w *jsonWriter) open() { w.b.WriteByte('{'); w.first = true }

func (w *jsonWriter) close() string { w.b.WriteByte('}'); return w.b.String() }

func (w *jsonWriter) key(k string) {
	if !w.first {
		w.b.WriteByte(',')
	}
	w.first = false
	writeJSString(&w.b, k)
	w.b.WriteByte(':')
}

func (w *jsonWriter) str(k, v string)       { w.key(k); writeJSString(&w.b, v) }
func (w *jsonWriter) num(k string, v int64) { w.key(k); w.b.WriteString(strconv.FormatInt(v, 10)) }
func (w *jsonWriter) boolean(k string, v bool) {
	w.key(k)
	w.b.WriteString(strconv.FormatBool(v))
}

// writeJSString writes s as JSON.stringify quotes a string: only '"', '\'
// and control characters are escaped (\b \f \n \r \t, others as \u00xx),
// unlike encoding/json, which also escapes <, >, & and U+2028/U+2029.
// Invalid UTF-8 becomes U+FFFD, as it would on its way into JavaScript.
func writeJSString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20:
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			b.WriteRune(r) // utf8.RuneError for invalid bytes: U+FFFD
		}
	}
	b.WriteByte('"')
}

// jsStringArray is JSON.stringify of an array of strings.
func jsStringArray(ss []string) string {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSString(&b, s)
	}
	b.WriteByte(']')
	return b.String()
}

// authenticatorValue is the adapter's authenticator JSON as read. Fields
// are lenient (raw where a hand-edited value may hold another type), so
// that one odd value is reported rather than stopping a listing.
type authenticatorValue struct {
	ProviderAccountID    string          `json:"providerAccountId"`
	Counter              json.RawMessage `json:"counter"`
	CredentialID         string          `json:"credentialID"`
	CredentialPublicKey  string          `json:"credentialPublicKey"`
	CredentialBackedUp   json.RawMessage `json:"credentialBackedUp"`
	CredentialDeviceType string          `json:"credentialDeviceType"`
	Transports           *string         `json:"transports"`
	UserID               string          `json:"userId"`
}

// parseAuthenticator decodes an authenticator value; ok is false when the
// value is not one (not a JSON object with a credentialID).
func parseAuthenticator(v string) (authenticatorValue, bool) {
	var a authenticatorValue
	if len(v) == 0 || v[0] != '{' {
		return a, false
	}
	if err := json.Unmarshal([]byte(v), &a); err != nil || a.CredentialID == "" {
		return a, false
	}
	return a, true
}

// counter reads the counter as Auth.js would use it: a number (a numeric
// string is accepted as JavaScript's Number() would), else 0.
func (a authenticatorValue) counter() int64 {
	s := strings.Trim(string(a.Counter), `"`)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return int64(f)
	}
	return 0
}

func (a authenticatorValue) backedUp() bool { return string(a.CredentialBackedUp) == "true" }

// authenticatorJSON is the value the adapter writes for a new passkey:
// the AdapterAuthenticator @auth/core builds at registration, in its key
// order; transports is left out when there are none (undefined).
func authenticatorJSON(credID, publicKey string, counter int64, backedUp bool, deviceType string, transports *string, userID string) string {
	var w jsonWriter
	w.open()
	w.str("providerAccountId", credID)
	w.num("counter", counter)
	w.str("credentialID", credID)
	w.str("credentialPublicKey", publicKey)
	w.boolean("credentialBackedUp", backedUp)
	w.str("credentialDeviceType", deviceType)
	if transports != nil {
		w.str("transports", *transports)
	}
	w.str("userId", userID)
	return w.close()
}

// withCounter is the stored authenticator value v with its counter set to
// n, everything else byte for byte and in place: what the adapter's
// updateAuthenticatorCounter writes (it reads the object, sets counter and
// stringifies it again, so the key order stays; a value without a counter
// gets it at the end).
func withCounter(v string, n int64) (string, error) {
	return withFields(v, [][2]string{{"counter", strconv.FormatInt(n, 10)}})
}

// withFields is the JSON object v with each field of set (name, raw JSON)
// replaced in place, or appended in set's order when v lacks it; the other
// fields keep their bytes and order, as a JavaScript object assignment
// followed by JSON.stringify keeps them.
func withFields(v string, set [][2]string) (string, error) {
	dec := json.NewDecoder(strings.NewReader(v))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return "", fmt.Errorf("authenticator value is not a JSON object")
	}
	var out bytes.Buffer
	out.WriteByte('{')
	first := true
	done := make([]bool, len(set))
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return "", err
		}
		k, _ := kt.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return "", err
		}
		if !first {
			out.WriteByte(',')
		}
		first = false
		writeJSString(&out, k)
		out.WriteByte(':')
		replaced := false
		for i, f := range set {
			if f[0] == k {
				out.WriteString(f[1])
				done[i], replaced = true, true
				break
			}
		}
		if !replaced {
			// Strings are re-quoted as JSON.stringify quotes them (a value
			// written elsewhere may escape what JavaScript does not);
			// other values keep their bytes, compacted.
			var str string
			if len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &str) == nil {
				writeJSString(&out, str)
			} else if err := json.Compact(&out, raw); err != nil {
				return "", err
			}
		}
	}
	for i, f := range set {
		if done[i] {
			continue
		}
		if !first {
			out.WriteByte(',')
		}
		first = false
		writeJSString(&out, f[0])
		out.WriteByte(':')
		out.WriteString(f[1])
	}
	out.WriteByte('}')
	return out.String(), nil
}

// accountValue is the adapter's account JSON as read.
type accountValue struct {
	ProviderAccountID string `json:"providerAccountId"`
	Provider          string `json:"provider"`
	Type              string `json:"type"`
	UserID            string `json:"userId"`
	ID                string `json:"id"`
}

func parseAccount(v string) (accountValue, bool) {
	var a accountValue
	if len(v) == 0 || v[0] != '{' || json.Unmarshal([]byte(v), &a) != nil {
		return a, false
	}
	return a, true
}

// accountJSON is the webauthn account @auth/core links at registration,
// as linkAccount stores it ({...account, id}), in the fixture's key order.
func accountJSON(provider, credID, userID string) string {
	var w jsonWriter
	w.open()
	w.str("providerAccountId", credID)
	w.str("provider", provider)
	w.str("type", "webauthn")
	w.str("userId", userID)
	w.str("id", provider+":"+credID)
	return w.close()
}

// userValue is the adapter's user JSON as read. emailVerified is a date
// string or null in Auth.js; anything non-null counts as verified.
type userValue struct {
	ID            string          `json:"id"`
	Email         *string         `json:"email"`
	Name          *string         `json:"name"`
	EmailVerified json.RawMessage `json:"emailVerified"`
}

func parseUser(v string) (userValue, bool) {
	var u userValue
	if len(v) == 0 || v[0] != '{' || json.Unmarshal([]byte(v), &u) != nil || u.ID == "" {
		return u, false
	}
	return u, true
}

func (u userValue) user() passkey.User {
	ev := strings.TrimSpace(string(u.EmailVerified))
	return passkey.User{ID: u.ID, Email: u.Email, Name: u.Name, EmailVerified: ev != "" && ev != "null" && ev != "false"}
}

// userJSON is the user createUser stores for a passkey registration:
// {...user, id} where @auth/core's user has only the e-mail.
func userJSON(id, email string) string {
	var w jsonWriter
	w.open()
	w.str("email", email)
	w.str("id", id)
	return w.close()
}

// sessionValue is the adapter's session JSON as read.
type sessionValue struct {
	SessionToken string `json:"sessionToken"`
	UserID       string `json:"userId"`
}

func parseSession(v string) (sessionValue, bool) {
	var s sessionValue
	if len(v) == 0 || v[0] != '{' || json.Unmarshal([]byte(v), &s) != nil || s.SessionToken == "" {
		return s, false
	}
	return s, true
}

// parseList reads a user's credential-ID list: the JSON array adapter
// 2.x writes. A value that is not an array is taken as one bare ID, what
// releases before the array kept there.
func parseList(v string) []string {
	if v == "" {
		return nil
	}
	if v[0] == '[' {
		var ids []string
		if json.Unmarshal([]byte(v), &ids) == nil {
			return ids
		}
		// An array with non-strings: keep the strings.
		var anyIDs []any
		if json.Unmarshal([]byte(v), &anyIDs) == nil {
			for _, x := range anyIDs {
				if s, ok := x.(string); ok {
					ids = append(ids, s)
				}
			}
			return ids
		}
	}
	return []string{v}
}

// prependToList is the adapter's setAuthenticator list update:
// [credID, ...old] unless credID is already first, in which case the list
// is rewritten as it was. Duplicates are kept, as the adapter keeps them.
func prependToList(old []string, credID string) []string {
	if len(old) > 0 && old[0] == credID {
		return old
	}
	return append([]string{credID}, old...)
}
