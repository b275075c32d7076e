package db

import (
	"encoding/base64"
	"math/rand"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// keyAlgorithmCorpus is COSE keys and near-misses in the shapes
// keyAlgorithm's fast path takes and those it must hand on.
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

// TestKeyAlgorithmFastPath checks that the fast path never answers
// differently from KeyAlgorithm: on the corpus, in every base64 form, and
// on random corruptions of it.
func TestKeyAlgorithmFastPath(t *testing.T) {
	same := func(s string) {
		t.Helper()
		want, wantErr := KeyAlgorithm(s)
		got, gotErr := keyAlgorithm(s)
		if got != want || (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("%q: fast path %q, %v; KeyAlgorithm %q, %v", s, got, gotErr, want, wantErr)
		}
	}
	rng := rand.New(rand.NewSource(1))
	fast := 0
	for _, b := range keyAlgorithmCorpus(t) {
		for _, s := range []string{base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b), " " + base64.StdEncoding.EncodeToString(b)} {
			same(s)
		}
		if _, ok := coseAlgFast(b); ok {
			fast++
		}
		for i := 0; i < 300 && len(b) > 0; i++ {
			m := append([]byte(nil), b...)
			m[rng.Intn(len(m))] ^= byte(1 + rng.Intn(255))
			if rng.Intn(4) == 0 {
				m = m[:rng.Intn(len(m))]
			}
			same(base64.StdEncoding.EncodeToString(m))
		}
	}
	if fast < 5 {
		t.Fatalf("the fast path took only %d corpus keys", fast)
	}
}

// FuzzKeyAlgorithm compares the fast path with KeyAlgorithm on any input:
// go test ./internal/db -run '^$' -fuzz FuzzKeyAlgorithm -fuzztime 30s
func FuzzKeyAlgorithm(f *testing.F) {
	for _, b := range keyAlgorithmCorpus(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s := base64.StdEncoding.EncodeToString(b)
		want, wantErr := KeyAlgorithm(s)
		got, gotErr := keyAlgorithm(s)
		if got != want || (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("%x: fast path %q, %v; KeyAlgorithm %q, %v", b, got, gotErr, want, wantErr)
		}
	})
}
