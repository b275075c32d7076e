package passkey

import (
	"unicode/utf8"
)

// parseExportRecord decodes b when it is a record exactly as
// ExportRecord.AppendJSON writes it (every line passkeyctl's export and
// revoke --backup write): the fields in that order, no spaces, strings
// without escapes, integers without fraction or exponent. It reports
// false for anything else, which ExportReader then hands to
// encoding/json: every line it takes decodes to what encoding/json gives
// (TestParseExportRecord and FuzzParseExportRecord compare them).
//
// encoding/json decodes through reflection, with a string per field and
// more for its own state: that was a third of an import's client CPU and
// of its allocations. Here a record costs a string per field that is not
// a constant (the names of the device types, the transports and "ok"
// come from constants) and the pointers of the nullable fields; and the
// user's strings are prev's (the previous record's user, when not nil)
// where they are the same, as they are for a user's passkeys one after
// the other in an export.
func parseExportRecord(b []byte, prev *ExportUser) (rec ExportRecord, ok bool) {
	p := jsonParser{b: b}
	if prev == nil {
		prev = &ExportUser{}
	}
	var v int64
	if !p.lit(`{"version":`) {
		return rec, false
	}
	if v, ok = p.int(); !ok || v > 1<<31-1 || v < -1<<31 {
		return rec, false
	}
	rec.Version = int(v)
	ok = p.lit(`,"credentialID":`) && p.str(&rec.CredentialID) &&
		p.lit(`,"publicKey":`) && p.str(&rec.PublicKey) &&
		p.lit(`,"counter":`)
	if !ok {
		return rec, false
	}
	if rec.Counter, ok = p.int(); !ok {
		return rec, false
	}
	ok = p.lit(`,"deviceType":`) && p.str(&rec.DeviceType) &&
		p.lit(`,"backedUp":`) && p.bool(&rec.BackedUp) &&
		p.lit(`,"transports":`) && p.strs(&rec.Transports) &&
		p.lit(`,"name":`) && p.strPtr(&rec.Name) &&
		p.lit(`,"createdAt":`) && p.strPtr(&rec.CreatedAt) &&
		p.lit(`,"aaguid":`) && p.strPtr(&rec.AAGUID)
	if !ok {
		return rec, false
	}
	if p.lit(`,"authenticator":`) {
		var a string
		if !p.str(&a) {
			return rec, false
		}
		rec.Authenticator = &a
	}
	ok = p.lit(`,"user":{"id":`) && p.strAs(&rec.User.ID, &prev.ID) &&
		p.lit(`,"email":`) && p.strPtrAs(&rec.User.Email, prev.Email) &&
		p.lit(`,"name":`) && p.strPtrAs(&rec.User.Name, prev.Name) &&
		p.lit(`,"emailVerified":`) && p.bool(&rec.User.EmailVerified) &&
		p.lit(`},"status":`) && p.str(&rec.Status)
	if !ok {
		return rec, false
	}
	if p.lit(`,"revokedAt":`) {
		var r string
		if !p.str(&r) {
			return rec, false
		}
		rec.RevokedAt = &r
	}
	if !p.lit("}") || p.i != len(p.b) {
		return rec, false
	}
	return rec, true
}

// jsonParser reads the fixed form parseExportRecord takes.
type jsonParser struct {
	b []byte
	i int
}

// lit consumes s if the input continues with it.
func (p *jsonParser) lit(s string) bool {
	if len(p.b)-p.i < len(s) || string(p.b[p.i:p.i+len(s)]) != s {
		return false
	}
	p.i += len(s)
	return true
}

// int reads an integer as JSON writes one: an optional minus, no leading
// zero, at most 18 digits (so that it cannot overflow).
func (p *jsonParser) int() (int64, bool) {
	neg := p.i < len(p.b) && p.b[p.i] == '-'
	if neg {
		p.i++
	}
	start := p.i
	var v int64
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		v = v*10 + int64(p.b[p.i]-'0')
		p.i++
	}
	n := p.i - start
	if n == 0 || n > 18 || n > 1 && p.b[start] == '0' {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}

func (p *jsonParser) bool(dst *bool) bool {
	switch {
	case p.lit("true"):
		*dst = true
	case p.lit("false"):
		*dst = false
	default:
		return false
	}
	return true
}

// raw reads a string without escapes or control characters, in valid
// UTF-8: the bytes encoding/json would decode it to.
func (p *jsonParser) raw() ([]byte, bool) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return nil, false
	}
	start := p.i + 1
	ascii := true
	for i := start; i < len(p.b); i++ {
		switch c := p.b[i]; {
		case c == '"':
			s := p.b[start:i]
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			p.i = i + 1
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

func (p *jsonParser) str(dst *string) bool {
	s, ok := p.raw()
	if ok {
		*dst = internJSON(s)
	}
	return ok
}

func (p *jsonParser) strPtr(dst **string) bool {
	if p.lit("null") {
		*dst = nil
		return true
	}
	s, ok := p.raw()
	if ok {
		v := internJSON(s)
		*dst = &v
	}
	return ok
}

// strAs is str, giving *same itself when the string is the same.
func (p *jsonParser) strAs(dst, same *string) bool {
	s, ok := p.raw()
	switch {
	case !ok:
	case string(s) == *same:
		*dst = *same
	default:
		*dst = internJSON(s)
	}
	return ok
}

// strPtrAs is strPtr, pointing to a copy of *same (sharing its string,
// not the pointer) when the string is the same.
func (p *jsonParser) strPtrAs(dst **string, same *string) bool {
	if p.lit("null") {
		*dst = nil
		return true
	}
	s, ok := p.raw()
	if !ok {
		return false
	}
	var v string
	if same != nil && string(s) == *same {
		v = *same
	} else {
		v = internJSON(s)
	}
	*dst = &v
	return true
}

func (p *jsonParser) strs(dst *[]string) bool {
	if p.lit("null") {
		*dst = nil
		return true
	}
	if !p.lit("[") {
		return false
	}
	if p.lit("]") {
		*dst = []string{}
		return true
	}
	// One allocation for the usual list: a capacity of the commas before
	// the first ']' plus one.
	n := 1
	for _, c := range p.b[p.i:] {
		if c == ']' {
			break
		}
		if c == ',' {
			n++
		}
	}
	out := make([]string, 0, n)
	for {
		s, ok := p.raw()
		if !ok {
			return false
		}
		out = append(out, internJSON(s))
		if p.lit("]") {
			*dst = out
			return true
		}
		if !p.lit(",") {
			return false
		}
	}
}

// internJSON returns the values that most records repeat as constants,
// and a new string for the others.
func internJSON(s []byte) string {
	switch string(s) {
	case "":
		return ""
	case StatusOK:
		return StatusOK
	case "singleDevice":
		return "singleDevice"
	case "multiDevice":
		return "multiDevice"
	case "internal":
		return "internal"
	case "hybrid":
		return "hybrid"
	case "usb":
		return "usb"
	case "nfc":
		return "nfc"
	case "ble":
		return "ble"
	case "smart-card":
		return "smart-card"
	}
	return string(s)
}
