package passkey

import (
	"encoding/base64"
	"fmt"
	"math"
	"math/bits"
	"strings"

	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// A passkey is "ok" only if its stored COSE key can verify a signature:
// the key parses as go-webauthn parses it at sign-in (webauthncose, strict
// CTAP2 CBOR: no trailing bytes, no duplicate labels, no indefinite
// lengths or tags), and it is a key Auth.js and Better Auth (both
// @simplewebauthn/server on Web Crypto) and go-webauthn can all verify
// with. CheckPublicKey is that one check; list, export and import use it.

// verifiableAlg is one COSE algorithm both apps verify: its key type, the
// curve it requires (0 for RSA) and, for EC2, the coordinate length.
type verifiableAlg struct {
	name     string
	kty      int64
	crv      int64
	coordLen int
}

// COSE key types and curves (RFC 9053).
const (
	coseKtyOKP = 1
	coseKtyEC2 = 2
	coseKtyRSA = 3

	coseCrvP256    = 1
	coseCrvP384    = 2
	coseCrvP521    = 3
	coseCrvEd25519 = 6
)

// verifiableAlgs are the algorithms @simplewebauthn/server (9.x under
// Auth.js, 13.x under Better Auth) verifies: ECDSA on P-256/P-384/P-521,
// Ed25519, RSA PKCS#1 v1.5 and PSS; go-webauthn verifies them all too. ES256K is left out (Web Crypto has no secp256k1),
// and so are the fully specified Ed25519 (-19) and ESP* identifiers, which
// neither app knows.
var verifiableAlgs = map[int64]verifiableAlg{
	-7:     {"ES256", coseKtyEC2, coseCrvP256, 32},
	-35:    {"ES384", coseKtyEC2, coseCrvP384, 48},
	-36:    {"ES512", coseKtyEC2, coseCrvP521, 66},
	-8:     {"EdDSA", coseKtyOKP, coseCrvEd25519, 32},
	-257:   {"RS256", coseKtyRSA, 0, 0},
	-258:   {"RS384", coseKtyRSA, 0, 0},
	-259:   {"RS512", coseKtyRSA, 0, 0},
	-37:    {"PS256", coseKtyRSA, 0, 0},
	-38:    {"PS384", coseKtyRSA, 0, 0},
	-39:    {"PS512", coseKtyRSA, 0, 0},
	-65535: {"RS1", coseKtyRSA, 0, 0},
}

// RSA limits: Go's crypto/rsa refuses moduli under 1024 bits, even moduli
// and even or huge exponents; 16384 bits is far above any authenticator's.
const (
	minRSABits = 1024
	maxRSABits = 16384
)

// coseKey is the part of a COSE_Key the check looks at. For EC2 and OKP,
// label -1 is the curve and -2/-3 the coordinates; for RSA, -1 is the
// modulus and -2 the exponent. Byte fields alias the decoded input.
type coseKey struct {
	kty, alg int64
	// crv is label -1 when it is an integer; hasCrv tells 0 from absent.
	crv    int64
	hasCrv bool
	// b1, b2, b3 are labels -1, -2, -3 when they are byte strings.
	b1, b2, b3 []byte
}

// PublicKeyError is CheckPublicKey's error: why the key cannot verify a
// signature. It matches ErrInvalid.
type PublicKeyError struct{ Reason string }

func (e *PublicKeyError) Error() string { return e.Reason }

// Unwrap makes errors.Is(err, ErrInvalid) hold.
func (e *PublicKeyError) Unwrap() error { return ErrInvalid }

func badKey(format string, args ...any) error {
	return &PublicKeyError{Reason: fmt.Sprintf(format, args...)}
}

// CheckPublicKey reports whether a COSE_Key can verify a passkey
// signature (the rules are at the top of this file) and returns its algorithm
// name ("ES256", "EdDSA", "RS256", ...). When the key is unusable the name
// is still its declared algorithm where that can be read ("unknown" when
// not), and the error says what is wrong.
func CheckPublicKey(key []byte) (alg string, err error) {
	if k, ok := parseCOSEKeyFast(key); ok {
		return k.check()
	}
	return checkPublicKeySlow(key)
}

// checkPublicKeySlow parses with go-webauthn itself: the reference for
// every input the fast parser does not take.
func checkPublicKeySlow(key []byte) (string, error) {
	parsed, err := webauthncose.ParsePublicKey(key)
	if err != nil {
		name := "unknown"
		if n, e := KeyAlgorithm(base64.StdEncoding.EncodeToString(key)); e == nil {
			name = n
		}
		return name, badKey("not a COSE key go-webauthn accepts: %s", webauthnErr(err))
	}
	var k coseKey
	switch p := parsed.(type) {
	case webauthncose.OKPPublicKeyData:
		k = coseKey{kty: p.KeyType, alg: p.Algorithm, crv: p.Curve, hasCrv: p.Curve != 0, b2: p.XCoord}
	case webauthncose.EC2PublicKeyData:
		k = coseKey{kty: p.KeyType, alg: p.Algorithm, crv: p.Curve, hasCrv: p.Curve != 0, b2: p.XCoord, b3: p.YCoord}
	case webauthncose.RSAPublicKeyData:
		k = coseKey{kty: p.KeyType, alg: p.Algorithm, b1: p.Modulus, b2: p.Exponent}
	default:
		// AKP (ML-DSA): go-webauthn knows it, neither app does.
		name := "unknown"
		if n, e := KeyAlgorithm(base64.StdEncoding.EncodeToString(key)); e == nil {
			name = n
		}
		return name, badKey("its key type is not one Auth.js or Better Auth can verify")
	}
	return k.check()
}

// webauthnErr is go-webauthn's error (its details) on one line; a
// CBOR decoding error comes through as is.
func webauthnErr(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", " ")
}

func algName(alg int64) string {
	if a, ok := verifiableAlgs[alg]; ok {
		return a.name
	}
	if n, ok := coseAlgorithms[alg]; ok {
		return n
	}
	return "unknown"
}

// check applies the verifiability rules to a decoded key.
func (k *coseKey) check() (string, error) {
	name := algName(k.alg)
	a, ok := verifiableAlgs[k.alg]
	if !ok {
		return name, badKey("algorithm %d (%s) is not one Auth.js or Better Auth can verify", k.alg, name)
	}
	if k.kty != a.kty {
		return name, badKey("algorithm %s needs key type %d, the key has %d", a.name, a.kty, k.kty)
	}
	switch a.kty {
	case coseKtyEC2:
		if !k.hasCrv || k.crv != a.crv {
			return name, badKey("algorithm %s needs curve %d, the key has %s", a.name, a.crv, k.curveText())
		}
		if len(k.b2) != a.coordLen || len(k.b3) != a.coordLen {
			return name, badKey("%s coordinates must be %d bytes, the key has x %d and y %d", a.name, a.coordLen, len(k.b2), len(k.b3))
		}
		if !onCurve(a.crv, k.b2, k.b3) {
			return name, badKey("the %s point is not on its curve", a.name)
		}
	case coseKtyOKP:
		if !k.hasCrv || k.crv != a.crv {
			return name, badKey("EdDSA needs curve 6 (Ed25519), the key has %s", k.curveText())
		}
		// Only the length, as go-webauthn checks it: whether the 32 bytes
		// decode to a curve point takes a field square root (about 20 µs,
		// 20 s per million keys listed), and only a corrupted key fails it.
		if len(k.b2) != 32 {
			return name, badKey("an Ed25519 key is 32 bytes, the key has %d", len(k.b2))
		}
	case coseKtyRSA:
		n, e := k.b1, k.b2
		for len(n) > 0 && n[0] == 0 {
			n = n[1:]
		}
		nBits := 0
		if len(n) > 0 {
			nBits = (len(n)-1)*8 + bits.Len8(n[0])
		}
		if nBits < minRSABits || nBits > maxRSABits {
			return name, badKey("RSA modulus of %d bits; want %d to %d", nBits, minRSABits, maxRSABits)
		}
		if n[len(n)-1]&1 == 0 {
			return name, badKey("RSA modulus is even")
		}
		var exp uint64
		for _, c := range e {
			if exp > math.MaxInt32>>8 {
				exp = math.MaxInt32 + 1
				break
			}
			exp = exp<<8 | uint64(c)
		}
		if len(e) == 0 || exp < 3 || exp > math.MaxInt32 || exp&1 == 0 {
			return name, badKey("RSA exponent must be odd, at least 3 and fit 31 bits")
		}
	}
	return name, nil
}

func (k *coseKey) curveText() string {
	if !k.hasCrv {
		return "none"
	}
	return fmt.Sprint(k.crv)
}

// parseCOSEKeyFast decodes the COSE keys authenticators actually send: a
// definite-length CBOR map of at most 16 entries whose labels are small
// integers, each once, and whose values are integers or byte strings, with
// nothing after it. It allocates nothing. Anything else returns ok false
// and goes to go-webauthn's own parser, so the answer is always the one
// go-webauthn's parsing gives (TestCheckPublicKeyFastPath and
// FuzzCheckPublicKey compare the two).
func parseCOSEKeyFast(b []byte) (k coseKey, ok bool) {
	head := func() (major byte, arg uint64, ok bool) {
		if len(b) == 0 {
			return 0, 0, false
		}
		major, info := b[0]>>5, b[0]&0x1f
		b = b[1:]
		switch {
		case info < 24:
			return major, uint64(info), true
		case info <= 27:
			size := 1 << (info - 24)
			if len(b) < size {
				return 0, 0, false
			}
			for _, c := range b[:size] {
				arg = arg<<8 | uint64(c)
			}
			b = b[size:]
			return major, arg, true
		}
		return 0, 0, false // indefinite length or reserved
	}
	integer := func(major byte, arg uint64) (int64, bool) {
		if arg > math.MaxInt64 {
			return 0, false
		}
		switch major {
		case 0:
			return int64(arg), true
		case 1:
			return -1 - int64(arg), true
		}
		return 0, false
	}
	major, pairs, ok := head()
	if !ok || major != 5 || pairs > 16 {
		return k, false
	}
	var seen [16]int64
	var hasKty, hasAlg bool
	for i := uint64(0); i < pairs; i++ {
		km, ka, ok := head()
		if !ok {
			return k, false
		}
		label, ok := integer(km, ka)
		if !ok {
			return k, false
		}
		for _, l := range seen[:i] {
			if l == label {
				return k, false // duplicate label
			}
		}
		seen[i] = label
		vm, va, ok := head()
		if !ok {
			return k, false
		}
		switch vm {
		case 0, 1:
			v, ok := integer(vm, va)
			if !ok {
				return k, false
			}
			switch label {
			case 1:
				k.kty, hasKty = v, true
			case 3:
				k.alg, hasAlg = v, true
			case -1:
				k.crv, k.hasCrv = v, true
			case -2, -3:
				return k, false // an integer where a byte string belongs
			}
		case 2:
			if va > uint64(len(b)) {
				return k, false
			}
			v := b[:va:va]
			b = b[va:]
			switch label {
			case 1, 3:
				return k, false // a byte string where an integer belongs
			case -1:
				k.b1 = v
			case -2:
				k.b2 = v
			case -3:
				k.b3 = v
			}
		default:
			return k, false
		}
	}
	if len(b) != 0 || !hasKty || !hasAlg {
		return k, false
	}
	// Which of label -1's forms counts depends on the key type; the
	// other form is a type mismatch, which go-webauthn reports.
	switch k.kty {
	case coseKtyRSA:
		if k.hasCrv || k.b3 != nil {
			return k, false
		}
	case coseKtyEC2, coseKtyOKP:
		if k.b1 != nil {
			return k, false
		}
		if k.hasCrv && k.crv == 0 {
			return k, false // crv 0 reads as absent in go-webauthn
		}
		if k.kty == coseKtyOKP && k.b3 != nil {
			return k, false
		}
	default:
		return k, false
	}
	return k, true
}

// CheckStoredPublicKey is CheckPublicKey for a stored key in any base64
// form, decoded into a stack buffer when it fits: list checks every key it
// shows (a million in the benchmark).
func CheckStoredPublicKey(publicKeyBase64 string) (string, error) {
	var buf [1024]byte
	s := strings.TrimRight(publicKeyBase64, "=")
	// The fast path takes unpadded standard base64 only. Decode rejects
	// the URL alphabet and blanks by itself, but skips line breaks, which
	// DecodeBase64 (the slow path) treats its own way; two IndexByte scans
	// cost a tenth of one ContainsAny.
	if len(s) > 0 && base64.RawStdEncoding.DecodedLen(len(s)) <= len(buf) && strings.IndexByte(s, '\n') < 0 && strings.IndexByte(s, '\r') < 0 {
		if n, err := base64.RawStdEncoding.Decode(buf[:], []byte(s)); err == nil && n > 0 {
			if k, ok := parseCOSEKeyFast(buf[:n]); ok {
				return k.check()
			}
			return checkPublicKeySlow(append([]byte(nil), buf[:n]...))
		}
	}
	b, err := DecodeBase64(publicKeyBase64)
	if err != nil || len(b) == 0 {
		return "unknown", badKey("not base64")
	}
	return CheckPublicKey(b)
}
