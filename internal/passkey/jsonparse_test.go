package passkey

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// parseRecords are records in every field form AppendJSON writes.
func parseRecords() []ExportRecord {
	var recs []ExportRecord
	for i, s := range jsonAppendStrings {
		str := s
		recs = append(recs,
			ExportRecord{Version: 1, CredentialID: s, PublicKey: s, Counter: int64(i), DeviceType: s, BackedUp: true, Transports: []string{s, "usb", s},
				Name: &str, CreatedAt: &str, AAGUID: &str, Authenticator: &str, User: ExportUser{ID: s, Email: &str, Name: &str, EmailVerified: true}, Status: s, RevokedAt: &str},
			ExportRecord{Version: 1, Transports: []string{}, User: ExportUser{ID: s}, Counter: -int64(i)},
			ExportRecord{Status: s, Version: -7, Counter: 999_999_999_999_999_999},
			ExportRecord{Version: 1, CredentialID: "AAEC", PublicKey: "pQECAyYg", DeviceType: "multiDevice", Transports: []string{"hybrid", "internal"},
				User: ExportUser{ID: "u1", Email: &str}, Status: StatusOK, Counter: math.MaxUint32},
		)
	}
	return recs
}

// wantParsed is what encoding/json makes of b.
func wantParsed(t testing.TB, b []byte) (ExportRecord, error) {
	t.Helper()
	var rec ExportRecord
	err := json.Unmarshal(b, &rec)
	return rec, err
}

func TestParseExportRecord(t *testing.T) {
	for _, rec := range parseRecords() {
		b := rec.AppendJSON(nil)
		want, err := wantParsed(t, b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		got, ok := parseExportRecord(b, nil)
		// Strings with escapes or invalid UTF-8 are encoding/json's; every
		// other record written by AppendJSON is taken.
		plain := !strings.ContainsAny(string(b), "\\") && utf8.Valid(b)
		if ok != plain {
			t.Errorf("%s: parsed %v, want %v", b, ok, plain)
		}
		if ok && !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %#v\nwant %#v", b, got, want)
		}
	}
	// Read after another record, whose user's strings it shares where
	// they are the same (not its pointers): the same records.
	recs := parseRecords()
	for i, rec := range recs {
		b := rec.AppendJSON(nil)
		want, err := wantParsed(t, b)
		if err != nil {
			t.Fatal(err)
		}
		for _, prev := range []ExportUser{recs[(i+len(recs)-1)%len(recs)].User, want.User, {}} {
			got, ok := parseExportRecord(b, &prev)
			if !ok {
				continue
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s after user %+v:\n got %#v\nwant %#v", b, prev, got, want)
			}
			if got.User.Email != nil && got.User.Email == prev.Email || got.User.Name != nil && got.User.Name == prev.Name {
				t.Errorf("%s: shares a pointer of the previous record's user", b)
			}
		}
	}
	// Lines of the format that are not AppendJSON's exact form are left
	// to encoding/json.
	base := string(parseRecords()[3].AppendJSON(nil))
	for _, in := range []string{
		strings.Replace(base, `"version":1`, `"version": 1`, 1),
		strings.Replace(base, `"version":1`, `"Version":1`, 1),
		strings.Replace(base, `"version":1`, `"version":01`, 1),
		strings.Replace(base, `"version":1`, `"version":1.0`, 1),
		strings.Replace(base, `"version":1`, `"version":1e0`, 1),
		strings.Replace(base, `"counter":4294967295`, `"counter":1234567890123456789`, 1),
		strings.Replace(base, `"AAEC"`, `"AA\u0045C"`, 1),
		strings.Replace(base, `"u1"`, "\"u\xff1\"", 1),
		strings.Replace(base, `"u1"`, "\"u\t1\"", 1),
		strings.Replace(base, `"backedUp":false`, `"backedUp":0`, 1),
		strings.Replace(base, `"name":null`, `"name":null,"extra":1`, 1),
		strings.Replace(base, `["hybrid","internal"]`, `["hybrid" ,"internal"]`, 1),
		strings.Replace(base, `["hybrid","internal"]`, `["hybrid",]`, 1),
		strings.Replace(base, `["hybrid","internal"]`, `["hybrid",null]`, 1),
		base + " ",
		base + "{}",
		base[:len(base)-1],
		strings.TrimSuffix(base, "}") + `,"revokedAt":null}`,
		`{"version":1}`,
		"",
	} {
		if got, ok := parseExportRecord([]byte(in), nil); ok {
			t.Errorf("%s: parsed as %#v", in, got)
		}
	}
	if _, ok := parseExportRecord([]byte(base), nil); !ok {
		t.Errorf("%s: not parsed", base)
	}
}

// FuzzParseExportRecord: whatever parseExportRecord takes, encoding/json
// decodes to the same record.
func FuzzParseExportRecord(f *testing.F) {
	for _, rec := range parseRecords() {
		f.Add(rec.AppendJSON(nil))
	}
	email, name := "a@example.com", "A"
	prev := ExportUser{ID: "u1", Email: &email, Name: &name}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := parseExportRecord(b, nil)
		if !ok {
			return
		}
		want, err := wantParsed(t, b)
		if err != nil {
			t.Fatalf("%q: parsed, encoding/json: %v", b, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %#v\nwant %#v", b, got, want)
		}
		for _, p := range []ExportUser{got.User, prev} {
			if again, ok := parseExportRecord(b, &p); !ok || !reflect.DeepEqual(again, want) {
				t.Fatalf("%q after user %+v: %v %#v", b, p, ok, again)
			}
		}
	})
}

func BenchmarkParseExportRecord(b *testing.B) {
	line := parseRecords()[3].AppendJSON(nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := parseExportRecord(line, nil); !ok {
			b.Fatal("not parsed")
		}
	}
}

// TestValidate_encodings: Normalized.ID is the credential ID in base64url
// and PublicKey the key in padded standard base64, whichever form the
// record holds them in; the record's own strings where they already are.
func TestValidate_encodings(t *testing.T) {
	const key = "pQECAyYgASFYIMAYEZESxZA8Oph6Bewn9vMntNwy+Ca7PZbKcHhUMANrIlggZLbNNdO6oJ/2NtR8/An2CHU8ASi/rqmwaztKfyYows4="
	urlKey := strings.NewReplacer("+", "-", "/", "_", "=", "").Replace(key)
	for _, c := range []struct{ id, key, wantID string }{
		{"-_8A", key, "-_8A"},
		{"+/8A", key, "-_8A"},
		{"+/8=", key, "-_8"},
		{"-_8", urlKey, "-_8"},
		{" -_8 ", key, "-_8"},
	} {
		email := "a@example.com"
		rec := ExportRecord{Version: 1, CredentialID: c.id, PublicKey: c.key, DeviceType: "multiDevice", User: ExportUser{Email: &email}}
		n, err := rec.Validate(1)
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if n.ID != c.wantID || n.ID != Base64URL(n.RawID) || n.PublicKey != key {
			t.Errorf("%+v: ID %q, PublicKey %q", c, n.ID, n.PublicKey)
		}
	}
}
