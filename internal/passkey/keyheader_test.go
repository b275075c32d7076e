package passkey

import (
	"encoding/base64"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

func TestKeyHeaderAlgorithm(t *testing.T) {
	enc, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		t.Fatal(err)
	}
	key := func(m map[int]any) []byte {
		b, err := enc.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	coord := make([]byte, 32)
	modulus := make([]byte, 256)
	cases := []struct {
		name string
		key  []byte
		want string
	}{
		{"ES256", key(map[int]any{1: 2, 3: -7, -1: 1, -2: coord, -3: coord}), "ES256"},
		{"EdDSA", key(map[int]any{1: 1, 3: -8, -1: 6, -2: coord}), "EdDSA"},
		{"RS256", key(map[int]any{1: 3, 3: -257, -1: modulus, -2: []byte{1, 0, 1}}), "RS256"},
		{"RS1", key(map[int]any{1: 3, 3: -65535, -1: modulus, -2: []byte{1, 0, 1}}), "RS1"},
		{"no alg", key(map[int]any{1: 2, -1: 1, -2: coord}), "unknown"},
		{"not a map", []byte{0x01, 0x02}, "unknown"},
	}
	for _, c := range cases {
		std := base64.StdEncoding.EncodeToString(c.key)
		url := base64.RawURLEncoding.EncodeToString(c.key)
		for _, in := range []string{std, url, std[:min(len(std), KeyHeaderChars)]} {
			if got := KeyHeaderAlgorithm(in); got != c.want {
				t.Errorf("%s: KeyHeaderAlgorithm(%q) = %q, want %q", c.name, in, got, c.want)
			}
		}
		// The prefix names the algorithm as list does for the whole key.
		if alg, _ := CheckPublicKey(c.key); c.want != "unknown" && alg != c.want {
			t.Errorf("%s: CheckPublicKey says %q", c.name, alg)
		}
	}
	for _, in := range []string{"", "=", "!!!!", "pQ"} {
		if got := KeyHeaderAlgorithm(in); got != "unknown" {
			t.Errorf("KeyHeaderAlgorithm(%q) = %q, want unknown", in, got)
		}
	}
}
