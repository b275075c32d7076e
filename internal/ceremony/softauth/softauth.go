// Package softauth is a software WebAuthn platform authenticator and
// client for tests: it answers the options passkeyctl's ceremony server
// sends as navigator.credentials.create/get would, with attestation "none".
//
// descope/virtualwebauthn v1.0.5 has no Ed25519 keys (the key type
// Chromium makes with Auth.js's defaults) and always signs a packed
// attestation, so this small one does what passkeyctl's tests need: EdDSA,
// ES256 and RS256 keys, chosen BE/BS/UV flags and counter steps, imported
// keys (to replay a real Auth.js registration), and ways to misbehave.
// It is not a secure authenticator and must never hold a real key.
package softauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/fxamacker/cbor/v2"
)

// COSE algorithm identifiers the Auth.js Passkey provider accepts.
const (
	EdDSA int64 = -8
	ES256 int64 = -7
	RS256 int64 = -257
)

// Authenticator holds one discoverable credential.
type Authenticator struct {
	Alg    int64
	Key    crypto.Signer
	CredID []byte
	// UserHandle is remembered from the registration and returned in
	// assertions, as a discoverable credential does.
	UserHandle []byte
	Counter    uint32
	// Step is added to Counter by each assertion; 0 keeps it (synced
	// passkeys report 0).
	Step uint32
	// BE, BS and UV are the flags the authenticator sets.
	BE, BS, UV bool
	Transports []string
	// Origin is the page origin the client reports in clientDataJSON.
	Origin string
	// IgnoreLists makes the client ignore excludeCredentials and
	// allowCredentials, as a forged answer would.
	IgnoreLists bool
}

// New returns an authenticator with a fresh key of the algorithm (EdDSA,
// ES256 or RS256), a random 20-byte credential ID, BE, BS and UV set, and
// transports hybrid,internal.
func New(alg int64) (*Authenticator, error) {
	a := &Authenticator{Alg: alg, Step: 1, BE: true, BS: true, UV: true, Transports: []string{"hybrid", "internal"}}
	var err error
	switch alg {
	case EdDSA:
		_, a.Key, err = ed25519.GenerateKey(rand.Reader)
	case ES256:
		a.Key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RS256:
		a.Key, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		return nil, fmt.Errorf("softauth: unsupported algorithm %d", alg)
	}
	if err != nil {
		return nil, err
	}
	a.CredID = make([]byte, 20)
	if _, err := rand.Read(a.CredID); err != nil {
		return nil, err
	}
	return a, nil
}

// coseEncoding is deterministic, so COSEKey returns the same bytes on
// every call (Go's map order is random).
var coseEncoding, _ = cbor.CoreDetEncOptions().EncMode()

// COSEKey is the credential's public key as a COSE_Key.
func (a *Authenticator) COSEKey() []byte {
	var m map[int]any
	switch k := a.Key.Public().(type) {
	case ed25519.PublicKey:
		m = map[int]any{1: 1, 3: EdDSA, -1: 6, -2: []byte(k)}
	case *ecdsa.PublicKey:
		b, _ := k.Bytes() // uncompressed point: 0x04 || X || Y
		m = map[int]any{1: 2, 3: ES256, -1: 1, -2: b[1:33], -3: b[33:]}
	case *rsa.PublicKey:
		m = map[int]any{1: 3, 3: RS256, -1: k.N.Bytes(), -2: big.NewInt(int64(k.E)).Bytes()}
	}
	b, err := coseEncoding.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

func (a *Authenticator) flags(attested bool) byte {
	f := byte(0x01) // UP
	if a.UV {
		f |= 0x04
	}
	if a.BE {
		f |= 0x08
	}
	if a.BS {
		f |= 0x10
	}
	if attested {
		f |= 0x40
	}
	return f
}

func (a *Authenticator) authData(rpID string, attested bool) []byte {
	h := sha256.Sum256([]byte(rpID))
	out := append([]byte{}, h[:]...)
	out = append(out, a.flags(attested))
	out = binary.BigEndian.AppendUint32(out, a.Counter)
	if attested {
		out = append(out, make([]byte, 16)...) // AAGUID: none
		out = binary.BigEndian.AppendUint16(out, uint16(len(a.CredID)))
		out = append(out, a.CredID...)
		out = append(out, a.COSEKey()...)
	}
	return out
}

func (a *Authenticator) sign(msg []byte) ([]byte, error) {
	switch k := a.Key.(type) {
	case ed25519.PrivateKey:
		return ed25519.Sign(k, msg), nil
	case *ecdsa.PrivateKey:
		d := sha256.Sum256(msg)
		return ecdsa.SignASN1(rand.Reader, k, d[:])
	case *rsa.PrivateKey:
		d := sha256.Sum256(msg)
		return rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, d[:])
	}
	return nil, fmt.Errorf("softauth: unsupported key %T", a.Key)
}

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func clientData(typ, challenge, origin string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": origin, "crossOrigin": false})
	return b
}

// ErrExcluded is what a browser raises (InvalidStateError) when the
// authenticator holds an excluded credential.
var ErrExcluded = errors.New("InvalidStateError: the authenticator holds an excluded credential")

// ErrNotAllowed is what a browser raises (NotAllowedError) when the
// authenticator holds none of the allowed credentials.
var ErrNotAllowed = errors.New("NotAllowedError: no allowed credential")

// Create answers navigator.credentials.create for the options JSON the
// server sent ({"publicKey": {...}}), returning the JSON the page posts.
func (a *Authenticator) Create(options []byte) ([]byte, error) {
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
			RP        struct {
				ID string `json:"id"`
			} `json:"rp"`
			User struct {
				ID string `json:"id"`
			} `json:"user"`
			Params []struct {
				Alg int64 `json:"alg"`
			} `json:"pubKeyCredParams"`
			Exclude []struct {
				ID string `json:"id"`
			} `json:"excludeCredentials"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, err
	}
	pk := o.PublicKey
	ok := false
	for _, p := range pk.Params {
		ok = ok || p.Alg == a.Alg
	}
	if !ok {
		return nil, fmt.Errorf("NotSupportedError: algorithm %d not offered", a.Alg)
	}
	if !a.IgnoreLists {
		for _, ex := range pk.Exclude {
			if ex.ID == b64u(a.CredID) {
				return nil, ErrExcluded
			}
		}
	}
	uh, err := base64.RawURLEncoding.DecodeString(pk.User.ID)
	if err != nil {
		return nil, fmt.Errorf("user.id is not base64url: %v", err)
	}
	a.UserHandle = uh
	att, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": a.authData(pk.RP.ID, true)})
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64u(a.CredID), "rawId": b64u(a.CredID), "type": "public-key",
		"authenticatorAttachment": "platform",
		"clientExtensionResults":  map[string]any{"credProps": map[string]any{"rk": true}},
		"response": map[string]any{
			"clientDataJSON":    b64u(clientData("webauthn.create", pk.Challenge, a.Origin)),
			"attestationObject": b64u(att),
			"transports":        a.Transports,
		},
	})
}

// Get answers navigator.credentials.get.
func (a *Authenticator) Get(options []byte) ([]byte, error) {
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
			RPID      string `json:"rpId"`
			Allow     []struct {
				ID string `json:"id"`
			} `json:"allowCredentials"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, err
	}
	pk := o.PublicKey
	if len(pk.Allow) > 0 && !a.IgnoreLists {
		found := false
		for _, c := range pk.Allow {
			found = found || c.ID == b64u(a.CredID)
		}
		if !found {
			return nil, ErrNotAllowed
		}
	}
	return a.Assert(pk.RPID, pk.Challenge)
}

// Assert signs an assertion for the challenge (base64url, as sent),
// after adding Step to the counter.
func (a *Authenticator) Assert(rpID, challenge string) ([]byte, error) {
	a.Counter += a.Step
	ad := a.authData(rpID, false)
	cd := clientData("webauthn.get", challenge, a.Origin)
	h := sha256.Sum256(cd)
	sig, err := a.sign(append(append([]byte{}, ad...), h[:]...))
	if err != nil {
		return nil, err
	}
	resp := map[string]any{
		"clientDataJSON":    b64u(cd),
		"authenticatorData": b64u(ad),
		"signature":         b64u(sig),
	}
	if a.UserHandle != nil {
		resp["userHandle"] = b64u(a.UserHandle)
	}
	return json.Marshal(map[string]any{
		"id": b64u(a.CredID), "rawId": b64u(a.CredID), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": resp,
	})
}
