package passkey

import (
	"encoding/base64"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// keyAlgorithmCorpus is COSE keys and near-misses in the shapes
// CheckPublicKey's fast path takes and those it must hand on.
func keyAlgorithmCorpus(t testing.TB) [][]byte {
	t.Helper()
	enc := func(v any) []byte {
		b, err := cbor.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return [][]byte{
		// The Auth.js fixture's ES256 key.
		mustB64(t, "pQECAyYgASFYIMAYEZESxZA8Oph6Bewn9vMntNwy+Ca7PZbKcHhUMANrIlggZLbNNdO6oJ/2NtR8/An2CHU8ASi/rqmwaztKfyYows4="),
		enc(map[int]any{1: 1, 3: -8, -1: 6, -2: make([]byte, 32)}),
		enc(map[int]any{1: 3, 3: -257, -1: make([]byte, 256), -2: []byte{1, 0, 1}}),
		enc(map[int]any{1: 2, 3: -999}),
		enc(map[int]any{1: 2}),
		enc(map[int]any{3: -7}),
		enc(map[int]any{1: 2, 3: "ES256"}),
		enc(map[int]any{1: "EC2", 3: -7}),
		enc(map[int]any{1: 2, 3: -7, 4: []int{1, 2}}),
		enc(map[int]any{1: 2, 3: -7, -1: true}),
		enc(map[string]any{"1": 2, "3": -7}),
		enc(map[int]any{1: 2, 3: []byte{1}}),
		enc([]int{1, 2, 3}),
		enc(uint64(1) << 63),
		{0xa2, 0x01, 0x02, 0x03, 0x26, 0x00},       // trailing byte
		{0xa2, 0x01, 0x02, 0x03},                   // truncated
		{0xa3, 0x01, 0x02, 0x03, 0x26, 0x03, 0x27}, // duplicate alg
		{0xbf, 0x01, 0x02, 0x03, 0x26, 0xff},       // indefinite map
		{0xa2, 0x01, 0x02, 0x03, 0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, // alg below MinInt64
		{0xa2, 0x01, 0x02, 0x03, 0x38, 0x18},                                           // alg -25, one-byte argument
		{0xa2, 0x01, 0x02, 0x18, 0x03, 0x26},                                           // key 3 in a non-minimal head
		{0xa2, 0x01, 0x02, 0x03, 0x5f},                                                 // indefinite byte string value
		{0xa1, 0x01, 0x02},
		{},
	}
}

func mustB64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
