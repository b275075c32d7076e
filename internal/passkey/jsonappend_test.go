package passkey

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

// marshalLikeWriters is what the writers produced before AppendJSON: an
// Encoder without HTML escaping, less its newline.
func marshalLikeWriters(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// jsonAppendStrings are strings with everything encoding/json treats
// specially.
var jsonAppendStrings = []string{
	"", "plain", "a\"b\\c", "<&>", "\x00\x01\b\f\n\r\t\x1f\x7f", "é ü 日本 😀",
	"bad \xff utf8 \xc3", "\u2028 and \u2029", "trailing\\", "\xed\xa0\x80 surrogate",
	"AAAA+/==", "user@example.com",
}

func TestAppendJSON(t *testing.T) {
	when := time.Date(2025, 1, 2, 3, 4, 5, 600_000_000, time.FixedZone("x", 3600))
	for i, s := range jsonAppendStrings {
		str := s
		ps := []Passkey{
			{CredentialID: s, UserID: s, Email: &str, Counter: int64(i) - 3, CredentialDeviceType: s, CredentialBackedUp: i%2 == 0,
				Transports: []string{s, "usb"}, Algorithm: s, Status: s, Name: &str, CreatedAt: &when, AAGUID: &str, Authenticator: &str, PublicKey: s, ProviderAccountID: s},
			{CredentialID: s, Transports: []string{}, Counter: math.MaxInt64},
			{Status: s, Counter: math.MinInt64},
		}
		for _, p := range ps {
			got, err := p.AppendJSON([]byte("prefix"))
			if err != nil {
				t.Fatal(err)
			}
			if want := append([]byte("prefix"), marshalLikeWriters(t, p)...); !bytes.Equal(got, want) {
				t.Errorf("Passkey %q:\n got %s\nwant %s", s, got, want)
			}
		}
		recs := []ExportRecord{
			{Version: 1, CredentialID: s, PublicKey: s, Counter: int64(i), DeviceType: s, BackedUp: true, Transports: []string{s},
				Name: &str, CreatedAt: &str, AAGUID: &str, Authenticator: &str, User: ExportUser{ID: s, Email: &str, Name: &str, EmailVerified: true}, Status: s, RevokedAt: &str},
			{Version: 1, Transports: []string{}, User: ExportUser{ID: s}},
			{Status: s},
		}
		for _, rec := range recs {
			if got, want := rec.AppendJSON(nil), marshalLikeWriters(t, rec); !bytes.Equal(got, want) {
				t.Errorf("ExportRecord %q:\n got %s\nwant %s", s, got, want)
			}
		}
	}
	// A time encoding/json refuses is refused.
	bad := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := (&Passkey{CreatedAt: &bad}).AppendJSON(nil); err == nil {
		t.Error("a year past 9999 encoded")
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range jsonAppendStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := appendJSONString(nil, s), marshalLikeWriters(t, s); !bytes.Equal(got, want) {
			t.Errorf("%q:\n got %s\nwant %s", s, got, want)
		}
	})
}

// TestAppendJSONString_everyPosition puts each kind of byte that needs
// care at every position of strings up to three words long, since
// appendJSONString skips plain bytes eight at a time.
func TestAppendJSONString_everyPosition(t *testing.T) {
	for _, special := range []string{`"`, `\`, "\x00", "\x1f", "\n", "\x7f", " ", "~", "é", "\u2028", "\xff", "€"} {
		for n := 1; n <= 24; n++ {
			for at := 0; at < n; at++ {
				s := strings.Repeat("a", at) + special + strings.Repeat("Z", n-at-1)
				if got, want := appendJSONString(nil, s), marshalLikeWriters(t, s); !bytes.Equal(got, want) {
					t.Fatalf("%q:\n got %s\nwant %s", s, got, want)
				}
			}
		}
	}
}
