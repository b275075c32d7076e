package passkey

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	mrand "math/rand"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/passkeyctl/passkeyctl/internal/ceremony/softauth"
)

// Real keys: the COSE keys a real Auth.js and a real Better Auth stored
// (../shared/fixtures), and softauth's EdDSA and RS256 keys.
const (
	fixtureES256Authjs     = "pQECAyYgASFYIMAYEZESxZA8Oph6Bewn9vMntNwy+Ca7PZbKcHhUMANrIlggZLbNNdO6oJ/2NtR8/An2CHU8ASi/rqmwaztKfyYows4="
	fixtureES256BetterAuth = "pQECAyYgASFYIO3adnofGqCN5eV16BrABmesLTYB5m98AGTRWommB26fIlggNZM8Au+ZzFNN5c6sntdGR9UJbuQrBjaIko/4xw5gr4c="
)

var coseEnc, _ = cbor.CoreDetEncOptions().EncMode()

func coseMap(t testing.TB, b []byte) map[int]any {
	t.Helper()
	var m map[int]any
	if err := cbor.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func coseBytes(t testing.TB, m map[int]any) []byte {
	t.Helper()
	b, err := coseEnc.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// with returns a copy of m with the changes applied; a nil value deletes.
func with(m map[int]any, changes map[int]any) map[int]any {
	out := map[int]any{}
	for k, v := range m {
		out[k] = v
	}
	for k, v := range changes {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

func flipLast(b []byte) []byte {
	c := append([]byte(nil), b...)
	c[len(c)-1] ^= 1
	return c
}

// realKeys are valid keys of every algorithm the check must keep "ok".
func realKeys(t testing.TB) map[string][]byte {
	t.Helper()
	keys := map[string][]byte{
		"ES256 Auth.js fixture":     mustB64(t, fixtureES256Authjs),
		"ES256 Better Auth fixture": mustB64(t, fixtureES256BetterAuth),
	}
	for name, alg := range map[string]int64{"EdDSA softauth": softauth.EdDSA, "ES256 softauth": softauth.ES256, "RS256 softauth": softauth.RS256} {
		a, err := softauth.New(alg)
		if err != nil {
			t.Fatal(err)
		}
		keys[name] = a.COSEKey()
	}
	for name, c := range map[string]struct {
		curve      elliptic.Curve
		alg, crv   int
		coordBytes int
	}{"ES384": {elliptic.P384(), -35, 2, 48}, "ES512": {elliptic.P521(), -36, 3, 66}} {
		k, err := ecdsa.GenerateKey(c.curve, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		x, y := make([]byte, c.coordBytes), make([]byte, c.coordBytes)
		k.X.FillBytes(x)
		k.Y.FillBytes(y)
		keys[name] = coseBytes(t, map[int]any{1: 2, 3: c.alg, -1: c.crv, -2: x, -3: y})
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keys["PS256"] = coseBytes(t, map[int]any{1: 3, 3: -37, -1: rsaKey.N.Bytes(), -2: []byte{1, 0, 1}})
	return keys
}

// unusableKeys are keys no app can verify a signature with, each made
// from a real key with one thing wrong.
func unusableKeys(t testing.TB) map[string][]byte {
	t.Helper()
	es := coseMap(t, mustB64(t, fixtureES256Authjs))
	x, y := es[-2].([]byte), es[-3].([]byte)
	ed, err := softauth.New(softauth.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	okp := coseMap(t, ed.COSEKey())
	edX := okp[-2].([]byte)
	rs, err := softauth.New(softauth.RS256)
	if err != nil {
		t.Fatal(err)
	}
	rsaM := coseMap(t, rs.COSEKey())
	n := rsaM[-1].([]byte)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	x384, y384 := make([]byte, 48), make([]byte, 48)
	p384.X.FillBytes(x384)
	p384.Y.FillBytes(y384)
	es384 := map[int]any{1: 2, 3: -35, -1: 2, -2: x384, -3: y384}
	small := append([]byte(nil), n[:64]...) // 512 bits, odd
	small[63] |= 1
	es256Bytes := mustB64(t, fixtureES256Authjs)
	keys := map[string][]byte{
		"ES256 point off the curve":          coseBytes(t, with(es, map[int]any{-3: flipLast(y)})),
		"ES256 y all zero":                   coseBytes(t, with(es, map[int]any{-3: make([]byte, 32)})),
		"ES256 x of 31 bytes":                coseBytes(t, with(es, map[int]any{-2: x[1:]})),
		"ES256 y of 33 bytes":                coseBytes(t, with(es, map[int]any{-3: append([]byte{0}, y...)})),
		"ES256 without y":                    coseBytes(t, with(es, map[int]any{-3: nil})),
		"ES256 without crv":                  coseBytes(t, with(es, map[int]any{-1: nil})),
		"ES256 on curve P-384":               coseBytes(t, with(es, map[int]any{-1: 2})),
		"ES256 key claiming EdDSA":           coseBytes(t, with(es, map[int]any{3: -8})),
		"ES256 key claiming ES512":           coseBytes(t, with(es, map[int]any{3: -36})),
		"ES256 key with key type OKP":        coseBytes(t, with(es, map[int]any{1: 1})),
		"ES256 key with key type RSA":        coseBytes(t, with(es, map[int]any{1: 3})),
		"ES256 key claiming ES256K":          coseBytes(t, with(es, map[int]any{3: -47, -1: 8})),
		"ES256 without alg":                  coseBytes(t, with(es, map[int]any{3: nil})),
		"ES256 without kty":                  coseBytes(t, with(es, map[int]any{1: nil})),
		"ES256 with an unknown alg":          coseBytes(t, with(es, map[int]any{3: -999})),
		"ES256 x as a text string":           coseBytes(t, with(es, map[int]any{-2: string(x)})),
		"ES256 with a trailing byte":         append(append([]byte(nil), es256Bytes...), 0),
		"ES256 cut short":                    es256Bytes[:len(es256Bytes)-1],
		"ES256 with a duplicate alg label":   append([]byte{0xa6, 0x03, 0x26}, es256Bytes[1:]...),
		"ES256 in an indefinite-length map":  append(append([]byte{0xbf}, es256Bytes[1:]...), 0xff),
		"ES256 under a CBOR tag":             append([]byte{0xd8, 0x18}, es256Bytes...),
		"ES384 point off the curve":          coseBytes(t, with(es384, map[int]any{-3: flipLast(y384)})),
		"ES384 with P-256 coordinate sizes":  coseBytes(t, with(es384, map[int]any{-2: x, -3: y})),
		"EdDSA x of 31 bytes":                coseBytes(t, with(okp, map[int]any{-2: edX[1:]})),
		"EdDSA x of 33 bytes":                coseBytes(t, with(okp, map[int]any{-2: append([]byte{0}, edX...)})),
		"EdDSA on curve P-256":               coseBytes(t, with(okp, map[int]any{-1: 1})),
		"EdDSA without crv":                  coseBytes(t, with(okp, map[int]any{-1: nil})),
		"EdDSA key claiming ES256":           coseBytes(t, with(okp, map[int]any{3: -7})),
		"EdDSA key with the Ed25519 alg -19": coseBytes(t, with(okp, map[int]any{3: -19})),
		"EdDSA x as an integer":              coseBytes(t, with(okp, map[int]any{-2: 5})),
		"EdDSA key with key type EC2":        coseBytes(t, with(okp, map[int]any{1: 2})),
		"RS256 modulus of 512 bits":          coseBytes(t, with(rsaM, map[int]any{-1: small})),
		"RS256 even modulus":                 coseBytes(t, with(rsaM, map[int]any{-1: flipLast(n)})),
		"RS256 exponent 0":                   coseBytes(t, with(rsaM, map[int]any{-2: []byte{0}})),
		"RS256 exponent 1":                   coseBytes(t, with(rsaM, map[int]any{-2: []byte{1}})),
		"RS256 even exponent":                coseBytes(t, with(rsaM, map[int]any{-2: []byte{1, 0, 0}})),
		"RS256 empty exponent":               coseBytes(t, with(rsaM, map[int]any{-2: []byte{}})),
		"RS256 without modulus":              coseBytes(t, with(rsaM, map[int]any{-1: nil})),
		"RS256 modulus as an integer":        coseBytes(t, with(rsaM, map[int]any{-1: 7})),
		"RS256 key claiming ES256":           coseBytes(t, with(rsaM, map[int]any{3: -7})),
		"RS256 key with key type EC2":        coseBytes(t, with(rsaM, map[int]any{1: 2})),
		"symmetric key type":                 coseBytes(t, map[int]any{1: 4, 3: 5, -1: make([]byte, 32)}),
		"an empty map":                       coseBytes(t, map[int]any{}),
		"not CBOR":                           []byte("not a COSE key"),
	}
	keys["a CBOR array"] = []byte{0x83, 0x01, 0x02, 0x03}
	return keys
}

// TestCheckPublicKey: every real key is usable and keeps its algorithm
// name; every unusable key is refused, in every base64 form list reads.
func TestCheckPublicKey(t *testing.T) {
	for name, key := range realKeys(t) {
		t.Run("ok/"+name, func(t *testing.T) {
			alg, err := CheckPublicKey(key)
			if err != nil {
				t.Fatalf("CheckPublicKey: %v", err)
			}
			if want := name[:5]; alg != want && !(want == "EdDSA" && alg == "EdDSA") {
				t.Fatalf("algorithm %q, want %q", alg, want)
			}
			for _, s := range []string{base64.StdEncoding.EncodeToString(key), base64.RawURLEncoding.EncodeToString(key)} {
				if _, err := CheckStoredPublicKey(s); err != nil {
					t.Fatalf("CheckStoredPublicKey(%s): %v", s, err)
				}
			}
		})
	}
	bad := unusableKeys(t)
	if len(bad) < 25 {
		t.Fatalf("only %d unusable keys", len(bad))
	}
	for name, key := range bad {
		t.Run("bad/"+name, func(t *testing.T) {
			alg, err := CheckPublicKey(key)
			if err == nil {
				t.Fatalf("CheckPublicKey accepted it (algorithm %s)", alg)
			}
			if _, err := CheckStoredPublicKey(base64.StdEncoding.EncodeToString(key)); err == nil {
				t.Fatal("CheckStoredPublicKey accepted it")
			}
			t.Logf("%s: %v", alg, err)
		})
	}
}

// TestCheckPublicKeyFastPath checks that the allocation-free parser never
// answers differently from go-webauthn's own: on every real and unusable
// key and on random corruptions of them.
func TestCheckPublicKeyFastPath(t *testing.T) {
	var corpus [][]byte
	for _, k := range realKeys(t) {
		corpus = append(corpus, k)
	}
	for _, k := range unusableKeys(t) {
		corpus = append(corpus, k)
	}
	corpus = append(corpus, keyAlgorithmCorpus(t)...)
	fast := 0
	rng := mrand.New(mrand.NewSource(1))
	for _, b := range corpus {
		if _, ok := parseCOSEKeyFast(b); ok {
			fast++
		}
		sameAsSlow(t, b)
		for i := 0; i < 200 && len(b) > 0; i++ {
			m := append([]byte(nil), b...)
			m[rng.Intn(len(m))] ^= byte(1 + rng.Intn(255))
			if rng.Intn(4) == 0 {
				m = m[:rng.Intn(len(m))]
			}
			sameAsSlow(t, m)
		}
	}
	if fast < 30 {
		t.Fatalf("the fast path took only %d corpus keys", fast)
	}
}

func sameAsSlow(t testing.TB, b []byte) {
	t.Helper()
	gotAlg, gotErr := CheckPublicKey(b)
	wantAlg, wantErr := checkPublicKeySlow(b)
	if (gotErr == nil) != (wantErr == nil) || (gotErr == nil && gotAlg != wantAlg) {
		t.Fatalf("%x: fast path %q, %v; go-webauthn path %q, %v", b, gotAlg, gotErr, wantAlg, wantErr)
	}
}

// FuzzCheckPublicKey compares the fast path with go-webauthn's parser on
// any input:
// go test ./internal/db -run '^$' -fuzz FuzzCheckPublicKey -fuzztime 30s
func FuzzCheckPublicKey(f *testing.F) {
	for _, k := range realKeys(f) {
		f.Add(k)
	}
	for _, k := range unusableKeys(f) {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, b []byte) { sameAsSlow(t, b) })
}

// BenchmarkCheckStoredPublicKey is the per-row cost list pays for the
// check, per algorithm.
func BenchmarkCheckStoredPublicKey(b *testing.B) {
	for name, key := range realKeys(b) {
		s := base64.StdEncoding.EncodeToString(key)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := CheckStoredPublicKey(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
