package passkey

import (
	"strconv"
	"unicode/utf8"
)

// The appenders below write Passkey and ExportRecord as encoding/json does
// (field order, null for nil pointers and slices, omitempty, no HTML
// escaping, as the writers set it) without reflection: `list -o jsonl` and
// `export` write one object per passkey, a million in the benchmark, and
// reflection was a tenth of the client's CPU per row. TestAppendJSON
// compares them with encoding/json on every field form.

// AppendJSON appends p as encoding/json marshals it (without HTML
// escaping), without the trailing newline an Encoder adds.
func (p *Passkey) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"credentialID":`...)
	b = appendJSONString(b, p.CredentialID)
	b = append(b, `,"userId":`...)
	b = appendJSONString(b, p.UserID)
	b = append(b, `,"email":`...)
	b = appendJSONStringPtr(b, p.Email)
	b = append(b, `,"counter":`...)
	b = strconv.AppendInt(b, p.Counter, 10)
	b = append(b, `,"credentialDeviceType":`...)
	b = appendJSONString(b, p.CredentialDeviceType)
	b = append(b, `,"credentialBackedUp":`...)
	b = strconv.AppendBool(b, p.CredentialBackedUp)
	b = append(b, `,"transports":`...)
	b = appendJSONStrings(b, p.Transports)
	b = append(b, `,"algorithm":`...)
	b = appendJSONString(b, p.Algorithm)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, p.Status)
	if p.Name != nil {
		b = append(b, `,"name":`...)
		b = appendJSONString(b, *p.Name)
	}
	if p.CreatedAt != nil {
		t, err := p.CreatedAt.MarshalJSON()
		if err != nil {
			return b, err
		}
		b = append(b, `,"createdAt":`...)
		b = append(b, t...)
	}
	if p.AAGUID != nil {
		b = append(b, `,"aaguid":`...)
		b = appendJSONString(b, *p.AAGUID)
	}
	if p.Authenticator != nil {
		b = append(b, `,"authenticator":`...)
		b = appendJSONString(b, *p.Authenticator)
	}
	return append(b, '}'), nil
}

// AppendJSON appends rec as encoding/json marshals it (without HTML
// escaping), without the trailing newline.
func (rec *ExportRecord) AppendJSON(b []byte) []byte {
	b = append(b, `{"version":`...)
	b = strconv.AppendInt(b, int64(rec.Version), 10)
	b = append(b, `,"credentialID":`...)
	b = appendJSONString(b, rec.CredentialID)
	b = append(b, `,"publicKey":`...)
	b = appendJSONString(b, rec.PublicKey)
	b = append(b, `,"counter":`...)
	b = strconv.AppendInt(b, rec.Counter, 10)
	b = append(b, `,"deviceType":`...)
	b = appendJSONString(b, rec.DeviceType)
	b = append(b, `,"backedUp":`...)
	b = strconv.AppendBool(b, rec.BackedUp)
	b = append(b, `,"transports":`...)
	b = appendJSONStrings(b, rec.Transports)
	b = append(b, `,"name":`...)
	b = appendJSONStringPtr(b, rec.Name)
	b = append(b, `,"createdAt":`...)
	b = appendJSONStringPtr(b, rec.CreatedAt)
	b = append(b, `,"aaguid":`...)
	b = appendJSONStringPtr(b, rec.AAGUID)
	if rec.Authenticator != nil {
		b = append(b, `,"authenticator":`...)
		b = appendJSONString(b, *rec.Authenticator)
	}
	b = append(b, `,"user":{"id":`...)
	b = appendJSONString(b, rec.User.ID)
	b = append(b, `,"email":`...)
	b = appendJSONStringPtr(b, rec.User.Email)
	b = append(b, `,"name":`...)
	b = appendJSONStringPtr(b, rec.User.Name)
	b = append(b, `,"emailVerified":`...)
	b = strconv.AppendBool(b, rec.User.EmailVerified)
	b = append(b, `},"status":`...)
	b = appendJSONString(b, rec.Status)
	if rec.RevokedAt != nil {
		b = append(b, `,"revokedAt":`...)
		b = appendJSONString(b, *rec.RevokedAt)
	}
	return append(b, '}')
}

func appendJSONStringPtr(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendJSONString(b, *s)
}

func appendJSONStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

const jsonHex = "0123456789abcdef"

// ones and high are the byte-wise constants of appendJSONString's
// word-at-a-time scan.
const ones, high = 0x0101010101010101, 0x8080808080808080

// jsonPlain marks the bytes a JSON string holds as they are: printable
// ASCII but '"' and '\\'. A table lookup per byte, because the strings
// written (IDs, base64 keys) are almost all such bytes.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendJSONString is encoding/json's string encoding with HTML escaping
// off: '"' and '\\' escaped, control characters as \b \f \n \r \t or
// \u00XX, invalid UTF-8 as \ufffd, U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// Eight plain bytes at a time: none with its high bit set (non-
		// ASCII), below 0x20, '"' or '\\'. With no high bit set each
		// "some byte is" test below is exact.
		for i+8 <= len(s) {
			w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
				uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
			q, bs := w^(ones*'"'), w^(ones*'\\')
			if (w|(w-ones*0x20)&^w|(q-ones)&^q|(bs-ones)&^bs)&high != 0 {
				break
			}
			i += 8
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if jsonPlain[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', jsonHex[c>>4], jsonHex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', jsonHex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
