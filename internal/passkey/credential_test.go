package passkey_test

import (
	"errors"
	"testing"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
)

// "hex:" with nothing after it is no credential ID: it decoded to zero
// bytes and was looked up as the empty ID.
func TestParseCredentialID_emptyHex(t *testing.T) {
	for _, s := range []string{"hex:", " hex: ", "hex:  "} {
		if b, err := passkey.ParseCredentialID(s); !errors.Is(err, passkey.ErrInvalid) {
			t.Errorf("ParseCredentialID(%q) = %x, %v; want ErrInvalid", s, b, err)
		}
		if c, err := passkey.CredentialIDCandidates(s); !errors.Is(err, passkey.ErrInvalid) {
			t.Errorf("CredentialIDCandidates(%q) = %x, %v; want ErrInvalid", s, c, err)
		}
	}
	if b, err := passkey.ParseCredentialID("hex:00"); err != nil || len(b) != 1 {
		t.Errorf("hex:00 = %x, %v; want one zero byte", b, err)
	}
}

func TestSplitTransports(t *testing.T) {
	for in, want := range map[string][]string{
		"": {}, ",": {}, "usb": {"usb"}, "hybrid,internal": {"hybrid", "internal"}, " usb , nfc ,,": {"usb", "nfc"}, ",ble": {"ble"},
	} {
		got := passkey.SplitTransports(in)
		if got == nil || len(got) != len(want) {
			t.Errorf("SplitTransports(%q) = %#v, want %#v", in, got, want)
			continue
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("SplitTransports(%q) = %#v, want %#v", in, got, want)
			}
		}
	}
}
