package ceremony

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
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// softAuthenticator is a software platform authenticator holding one
// discoverable credential, for tests. descope/virtualwebauthn v1.0.5 has
// no Ed25519 keys (the key type Chromium makes with Auth.js's defaults) and
// always signs a packed attestation, so this small one does what the tests
// need: EdDSA, ES256 and RS256 keys, attestation "none", chosen BE/BS
// flags and counter steps, and a way to misbehave.
type softAuthenticator struct {
	alg    int64 // -8, -7 or -257
	key    crypto.Signer
	credID []byte
	// userHandle is remembered from the registration and returned in
	// assertions, as a discoverable credential does.
	userHandle []byte
	counter    uint32
	// step is added to the counter by each assertion; 0 keeps it (synced
	// passkeys report 0).
	step       uint32
	be, bs, uv bool
	transports []string
	origin     string
}

func newSoftAuthenticator(t testing.TB, alg int64) *softAuthenticator {
	t.Helper()
	a := &softAuthenticator{alg: alg, step: 1, be: true, bs: true, uv: true, transports: []string{"hybrid", "internal"}}
	var err error
	switch alg {
	case -8:
		_, a.key, err = ed25519.GenerateKey(rand.Reader)
	case -7:
		a.key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case -257:
		a.key, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		t.Fatalf("softAuthenticator: unsupported alg %d", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	a.credID = make([]byte, 20)
	rand.Read(a.credID)
	return a
}

// coseKey is the credential's public key as a COSE_Key.
func (a *softAuthenticator) coseKey() []byte {
	var m map[int]any
	switch k := a.key.Public().(type) {
	case ed25519.PublicKey:
		m = map[int]any{1: 1, 3: -8, -1: 6, -2: []byte(k)}
	case *ecdsa.PublicKey:
		b, _ := k.Bytes() // uncompressed point: 0x04 || X || Y
		m = map[int]any{1: 2, 3: -7, -1: 1, -2: b[1:33], -3: b[33:]}
	case *rsa.PublicKey:
		m = map[int]any{1: 3, 3: -257, -1: k.N.Bytes(), -2: big.NewInt(int64(k.E)).Bytes()}
	}
	b, err := coseEncoding.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// coseEncoding is deterministic, so coseKey returns the same bytes on every
// call (Go's map order is random).
var coseEncoding, _ = cbor.CoreDetEncOptions().EncMode()

func (a *softAuthenticator) flags(attested bool) byte {
	f := byte(0x01) // UP
	if a.uv {
		f |= 0x04
	}
	if a.be {
		f |= 0x08
	}
	if a.bs {
		f |= 0x10
	}
	if attested {
		f |= 0x40
	}
	return f
}

func (a *softAuthenticator) authData(rpID string, attested bool) []byte {
	h := sha256.Sum256([]byte(rpID))
	out := append([]byte{}, h[:]...)
	out = append(out, a.flags(attested))
	out = binary.BigEndian.AppendUint32(out, a.counter)
	if attested {
		out = append(out, make([]byte, 16)...) // AAGUID: none
		out = binary.BigEndian.AppendUint16(out, uint16(len(a.credID)))
		out = append(out, a.credID...)
		out = append(out, a.coseKey()...)
	}
	return out
}

func (a *softAuthenticator) sign(msg []byte) []byte {
	var sig []byte
	var err error
	switch k := a.key.(type) {
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, msg)
	case *ecdsa.PrivateKey:
		d := sha256.Sum256(msg)
		sig, err = ecdsa.SignASN1(rand.Reader, k, d[:])
	case *rsa.PrivateKey:
		d := sha256.Sum256(msg)
		sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, d[:])
	}
	if err != nil {
		panic(err)
	}
	return sig
}

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func unb64u(s string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func clientData(typ, challenge, origin string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": origin, "crossOrigin": false})
	return b
}

// errExcluded is what a browser raises (InvalidStateError) when the
// authenticator holds an excluded credential.
var errExcluded = errors.New("InvalidStateError")

// create answers navigator.credentials.create with the options JSON the
// server sent ({"publicKey": {...}}), as a browser would.
func (a *softAuthenticator) create(options []byte) ([]byte, error) {
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
		ok = ok || p.Alg == a.alg
	}
	if !ok {
		return nil, fmt.Errorf("NotSupportedError: alg %d not offered", a.alg)
	}
	for _, ex := range pk.Exclude {
		if ex.ID == b64u(a.credID) {
			return nil, errExcluded
		}
	}
	a.userHandle = unb64u(pk.User.ID)
	att, _ := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": a.authData(pk.RP.ID, true)})
	return json.Marshal(map[string]any{
		"id": b64u(a.credID), "rawId": b64u(a.credID), "type": "public-key",
		"authenticatorAttachment": "platform",
		"clientExtensionResults":  map[string]any{"credProps": map[string]any{"rk": true}},
		"response": map[string]any{
			"clientDataJSON":    b64u(clientData("webauthn.create", pk.Challenge, a.origin)),
			"attestationObject": b64u(att),
			"transports":        a.transports,
		},
	})
}

// get answers navigator.credentials.get.
func (a *softAuthenticator) get(options []byte) ([]byte, error) {
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
	if len(pk.Allow) > 0 {
		found := false
		for _, c := range pk.Allow {
			found = found || c.ID == b64u(a.credID)
		}
		if !found {
			return nil, errors.New("NotAllowedError: no allowed credential")
		}
	}
	return a.assert(pk.RPID, pk.Challenge), nil
}

// assert signs a fresh assertion for the challenge, advancing the counter.
func (a *softAuthenticator) assert(rpID, challenge string) []byte {
	a.counter += a.step
	ad := a.authData(rpID, false)
	cd := clientData("webauthn.get", challenge, a.origin)
	h := sha256.Sum256(cd)
	sig := a.sign(append(append([]byte{}, ad...), h[:]...))
	resp := map[string]any{
		"clientDataJSON":    b64u(cd),
		"authenticatorData": b64u(ad),
		"signature":         b64u(sig),
	}
	if a.userHandle != nil {
		resp["userHandle"] = b64u(a.userHandle)
	}
	b, _ := json.Marshal(map[string]any{
		"id": b64u(a.credID), "rawId": b64u(a.credID), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": resp,
	})
	return b
}
