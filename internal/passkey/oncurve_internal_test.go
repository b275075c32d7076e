package passkey

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"math/big"
	"testing"
)

// onCurveECDH is the reference onCurve replaced: crypto/ecdh's test of an
// uncompressed point.
func onCurveECDH(crv int64, x, y []byte) bool {
	c := map[int64]ecdh.Curve{coseCrvP256: ecdh.P256(), coseCrvP384: ecdh.P384(), coseCrvP521: ecdh.P521()}[crv]
	if c == nil {
		return false
	}
	_, err := c.NewPublicKey(append(append([]byte{4}, x...), y...))
	return err == nil
}

func TestOnCurve(t *testing.T) {
	for crv, f := range nistFields {
		curve := map[int64]ecdh.Curve{coseCrvP256: ecdh.P256(), coseCrvP384: ecdh.P384(), coseCrvP521: ecdh.P521()}[crv]
		n := f.coordLen
		check := func(what string, x, y []byte) {
			t.Helper()
			if got, want := onCurve(crv, x, y), onCurveECDH(crv, x, y); got != want {
				t.Errorf("curve %d, %s: onCurve = %v, crypto/ecdh says %v (x %x, y %x)", crv, what, got, want, x, y)
			}
		}
		var p [66]byte
		var pb big.Int
		for i := f.n - 1; i >= 0; i-- {
			pb.Lsh(&pb, 64)
			pb.Or(&pb, new(big.Int).SetUint64(f.p[i]))
		}
		pBytes := pb.FillBytes(p[:n])
		pMinus1 := new(big.Int).Sub(&pb, big.NewInt(1)).FillBytes(make([]byte, n))
		for i := 0; i < 300; i++ {
			k, err := curve.GenerateKey(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			pub := k.PublicKey().Bytes()
			x, y := pub[1:1+n], pub[1+n:]
			if !onCurve(crv, x, y) {
				t.Fatalf("curve %d: a generated key is not on the curve", crv)
			}
			check("generated", x, y)
			// y+1, x+1 and -y (p - y, on the curve as well).
			y1 := new(big.Int).Add(new(big.Int).SetBytes(y), big.NewInt(1))
			if y1.Cmp(&pb) < 0 {
				check("y+1", x, y1.FillBytes(make([]byte, n)))
			}
			x1 := new(big.Int).Add(new(big.Int).SetBytes(x), big.NewInt(1))
			if x1.Cmp(&pb) < 0 {
				check("x+1", x1.FillBytes(make([]byte, n)), y)
			}
			neg := new(big.Int).Sub(&pb, new(big.Int).SetBytes(y)).FillBytes(make([]byte, n))
			check("-y", x, neg)
			// y + p does not fit for P-256/P-384 coordinates of n bytes
			// unless small; try it where it fits.
			yp := new(big.Int).Add(new(big.Int).SetBytes(y), &pb)
			if yp.BitLen() <= 8*n {
				check("y+p", x, yp.FillBytes(make([]byte, n)))
			}
			r := make([]byte, 2*n)
			rand.Read(r)
			check("random", r[:n], r[n:])
		}
		zero, ones := make([]byte, n), bytes.Repeat([]byte{0xff}, n)
		for _, x := range [][]byte{zero, ones, pBytes, pMinus1} {
			for _, y := range [][]byte{zero, ones, pBytes, pMinus1} {
				check("edge", x, y)
			}
		}
		check("short", zero[1:], zero)
	}
}

func BenchmarkOnCurve(b *testing.B) {
	k, _ := ecdh.P256().GenerateKey(rand.Reader)
	pub := k.PublicKey().Bytes()
	b.Run("montgomery", func(b *testing.B) {
		for range b.N {
			onCurve(coseCrvP256, pub[1:33], pub[33:])
		}
	})
	b.Run("crypto_ecdh", func(b *testing.B) {
		for range b.N {
			onCurveECDH(coseCrvP256, pub[1:33], pub[33:])
		}
	})
}
