package passkey

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/fxamacker/cbor/v2"
)

// ParseCredentialID decodes a credential ID given in any form an operator
// may have: standard base64 as Auth.js stores it, base64url as browsers and
// logs show it, with or without padding, or hex. Hex is tried only when the
// text is hex and not valid base64 of the same length would be ambiguous:
// an even-length all-hex string prefixed "hex:" or one that is not valid
// base64 at all.
func ParseCredentialID(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("%w: empty credential ID", ErrInvalid)
	}
	if rest, ok := strings.CutPrefix(s, "hex:"); ok {
		rest = strings.TrimSpace(rest)
		if rest == "" {
			// Zero bytes would be looked up as the empty credential ID.
			return nil, fmt.Errorf("%w: credential ID %q has no hex digits after \"hex:\"", ErrInvalid, s)
		}
		b, err := hex.DecodeString(rest)
		if err != nil {
			return nil, fmt.Errorf("%w: credential ID %q is not valid hex", ErrInvalid, s)
		}
		return b, nil
	}
	if b, err := DecodeBase64(s); err == nil && len(b) > 0 {
		return b, nil
	}
	if b, err := hex.DecodeString(s); err == nil && len(b) > 0 {
		return b, nil
	}
	return nil, fmt.Errorf("%w: credential ID %q is not base64, base64url or hex", ErrInvalid, s)
}

// CredentialIDCandidates returns every byte string that s may denote: its
// base64 decoding and, when s is also valid hex, its hex decoding. Lookups
// try each, so "deadbeef" finds the credential whichever encoding the
// operator meant; a match on more than one is reported as ambiguous.
func CredentialIDCandidates(s string) ([][]byte, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "hex:") {
		b, err := ParseCredentialID(s)
		if err != nil {
			return nil, err
		}
		return [][]byte{b}, nil
	}
	var out [][]byte
	if b, err := DecodeBase64(s); err == nil && len(b) > 0 {
		out = append(out, b)
	}
	if b, err := hex.DecodeString(s); err == nil && len(b) > 0 {
		out = append(out, b)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: credential ID %q is not base64, base64url or hex", ErrInvalid, s)
	}
	return out, nil
}

// DecodeBase64 decodes standard or URL-alphabet base64, padded or not, as
// Auth.js and Better Auth rows may hold either.
func DecodeBase64(s string) ([]byte, error) {
	return decodeBase64Into(nil, s)
}

// decodeBase64Into is DecodeBase64 into dst's storage when it is large
// enough.
func decodeBase64Into(dst []byte, s string) ([]byte, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	enc := base64.RawStdEncoding
	if strings.ContainsAny(s, "-_") {
		if strings.ContainsAny(s, "+/") {
			return nil, fmt.Errorf("%w: mixed base64 alphabets", ErrInvalid)
		}
		enc = base64.RawURLEncoding
	}
	dst = slices.Grow(dst[:0], enc.DecodedLen(len(s)))[:enc.DecodedLen(len(s))]
	n, err := enc.Decode(dst, []byte(s))
	return dst[:n], err
}

// AuthjsCredentialID is the form Auth.js stores in credentialID and
// providerAccountId: standard base64 with padding.
func AuthjsCredentialID(raw []byte) string { return base64.StdEncoding.EncodeToString(raw) }

// Base64URL is the encoding-neutral WebAuthn form (base64url, no padding):
// what browsers send and what Better Auth stores.
func Base64URL(raw []byte) string { return base64.RawURLEncoding.EncodeToString(raw) }

// COSE algorithm identifiers and their JOSE names.
var coseAlgorithms = map[int64]string{
	-7:     "ES256",
	-35:    "ES384",
	-36:    "ES512",
	-8:     "EdDSA",
	-257:   "RS256",
	-258:   "RS384",
	-259:   "RS512",
	-37:    "PS256",
	-38:    "PS384",
	-39:    "PS512",
	-47:    "ES256K",
	-65535: "RS1",
}

// KeyAlgorithm decodes a base64 COSE_Key and returns its algorithm name
// ("ES256", "EdDSA", "RS256", ... or "unknown" for an unlisted alg), or an
// error when the text is not a decodable COSE key.
func KeyAlgorithm(publicKeyBase64 string) (string, error) {
	b, err := DecodeBase64(publicKeyBase64)
	if err != nil || len(b) == 0 {
		return "", fmt.Errorf("%w: public key is not base64", ErrInvalid)
	}
	// Decoding into a struct reads only the two header fields, without the
	// map and the per-entry allocations of a generic decode: list decodes
	// every key it shows (1,000,000 in the benchmark).
	var key struct {
		Kty *int64 `cbor:"1,keyasint"`
		Alg *int64 `cbor:"3,keyasint"`
	}
	if err := cbor.Unmarshal(b, &key); err != nil {
		return "", fmt.Errorf("%w: public key is not a CBOR map: %v", ErrInvalid, err)
	}
	if key.Kty == nil {
		return "", fmt.Errorf("%w: public key has no COSE key type", ErrInvalid)
	}
	if key.Alg == nil {
		return "", fmt.Errorf("%w: public key has no COSE algorithm", ErrInvalid)
	}
	alg := *key.Alg
	if name, ok := coseAlgorithms[alg]; ok {
		return name, nil
	}
	return "unknown", nil
}
