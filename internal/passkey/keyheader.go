package passkey

import (
	"encoding/base64"
	"strings"
)

// KeyHeaderChars is how many base64 characters of a stored COSE key hold
// its header: 12 characters are 9 bytes, the map header and the kty, alg
// and crv pairs of every key authenticators make (EC2 "pQECAyYgASFY",
// OKP, and RSA up to the modulus' length). Grouping stored keys by this
// prefix in SQL leaves one group per algorithm, whose name Go then reads
// once per group with KeyHeaderAlgorithm instead of decoding every key.
const KeyHeaderChars = 12

// KeyHeaderAlgorithm returns the algorithm name ("ES256", "EdDSA",
// "RS256", ...) a COSE key declares in its first bytes, given the start of
// its base64 text (standard or URL alphabet, a whole key or a prefix such
// as KeyHeaderChars characters), or "unknown" when the label-3 pair is not
// among the integer pairs those bytes hold. It does not check the key: a
// key that names ES256 and cannot verify is counted ES256, as list names
// it.
func KeyHeaderAlgorithm(b64 string) string {
	s := strings.TrimRight(b64, "=")
	s = strings.NewReplacer("-", "+", "_", "/").Replace(s)
	if len(s)%4 == 1 {
		s = s[:len(s)-1] // a lone character holds no whole byte
	}
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil || len(b) == 0 {
		return "unknown"
	}
	// A COSE_Key is a CBOR map (major type 5) whose labels and the kty,
	// alg and crv values are integers; the first value that is not one
	// (a coordinate or modulus) ends the header.
	major, n, rest, ok := cborHead(b)
	if !ok || major != 5 {
		return "unknown"
	}
	for i := uint64(0); i < n; i++ {
		label, r, ok := cborInt(rest)
		if !ok {
			break
		}
		value, r, ok := cborInt(r)
		if !ok {
			break
		}
		if label == 3 {
			return algName(value)
		}
		rest = r
	}
	return "unknown"
}

// cborHead reads one CBOR data item's head: its major type and argument.
func cborHead(b []byte) (major byte, arg uint64, rest []byte, ok bool) {
	if len(b) == 0 {
		return 0, 0, nil, false
	}
	major, info := b[0]>>5, b[0]&0x1f
	b = b[1:]
	switch {
	case info < 24:
		return major, uint64(info), b, true
	case info <= 27:
		size := 1 << (info - 24)
		if len(b) < size {
			return 0, 0, nil, false
		}
		for _, c := range b[:size] {
			arg = arg<<8 | uint64(c)
		}
		return major, arg, b[size:], true
	}
	return 0, 0, nil, false
}

// cborInt reads a CBOR integer (major type 0 or 1) that fits an int64.
func cborInt(b []byte) (int64, []byte, bool) {
	major, arg, rest, ok := cborHead(b)
	if !ok || major > 1 || arg > 1<<62 {
		return 0, nil, false
	}
	if major == 1 {
		return -1 - int64(arg), rest, true
	}
	return int64(arg), rest, true
}
