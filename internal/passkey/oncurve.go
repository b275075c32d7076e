package passkey

import (
	"crypto/elliptic"
	"encoding/binary"
	"math/big"
	"math/bits"
)

// nistField is the prime field of a NIST curve with what onCurve needs to
// test y² = x³ - 3x + b without allocating: Montgomery multiplication
// (CIOS) on little-endian 64-bit limbs, n of them (4 for P-256, 6 for
// P-384, 9 for P-521). crypto/ecdh's NewPublicKey makes the same test but
// allocates four objects per key, which was most of list's key check (a
// million keys in the benchmark); TestOnCurve compares the two on valid,
// off-curve and out-of-range points.
type nistField struct {
	n     int
	p     fieldElem
	b     fieldElem // the curve's b times R⁻¹
	three fieldElem
	r2    fieldElem // R² mod p, R = 2^(64n)
	// pinv is -p⁻¹ mod 2^64.
	pinv     uint64
	coordLen int
}

// fieldElem is a field element (or a coordinate read from a key) in
// little-endian 64-bit limbs; the limbs past the field's n are zero.
type fieldElem [9]uint64

var nistFields = map[int64]*nistField{
	coseCrvP256: newNISTField(elliptic.P256(), 32),
	coseCrvP384: newNISTField(elliptic.P384(), 48),
	coseCrvP521: newNISTField(elliptic.P521(), 66),
}

func newNISTField(c elliptic.Curve, coordLen int) *nistField {
	params := c.Params()
	f := &nistField{n: (params.P.BitLen() + 63) / 64, coordLen: coordLen}
	setLimbs(&f.p, params.P)
	r := new(big.Int).Lsh(big.NewInt(1), uint(64*f.n))
	setLimbs(&f.r2, new(big.Int).Mod(new(big.Int).Mul(r, r), params.P))
	// -p⁻¹ mod 2^64 by Newton's iteration (p is odd).
	inv := uint64(1)
	for range 6 {
		inv *= 2 - f.p[0]*inv
	}
	f.pinv = -inv
	var b fieldElem
	setLimbs(&b, params.B)
	one := fieldElem{1}
	f.mul(&f.b, &b, &one)
	f.three = fieldElem{3}
	return f
}

func setLimbs(z *fieldElem, x *big.Int) {
	var buf [9 * 8]byte
	x.FillBytes(buf[:])
	z.setBytes(buf[:])
}

// setBytes sets z to the big-endian b (at most 72 bytes): whole limbs
// from the end, then the bytes left at the front (P-521's 66 bytes).
func (z *fieldElem) setBytes(b []byte) {
	*z = fieldElem{}
	i := 0
	for ; len(b) >= 8; i++ {
		z[i] = binary.BigEndian.Uint64(b[len(b)-8:])
		b = b[:len(b)-8]
	}
	for _, c := range b {
		z[i] = z[i]<<8 | uint64(c)
	}
}

// less reports whether x < f.p.
func (f *nistField) less(x *fieldElem) bool {
	for i := len(x) - 1; i >= 0; i-- {
		if x[i] != f.p[i] {
			return x[i] < f.p[i]
		}
	}
	return false
}

// mul sets z = x·y·R⁻¹ mod p for x, y < p.
func (f *nistField) mul(z, x, y *fieldElem) {
	if f.n == 4 {
		f.mul4(z, x, y)
		return
	}
	n := f.n
	var t [11]uint64
	for i := 0; i < n; i++ {
		var c uint64
		for j := 0; j < n; j++ {
			c, t[j] = madd(x[j], y[i], t[j], c)
		}
		var cc uint64
		t[n], cc = bits.Add64(t[n], c, 0)
		t[n+1] = cc
		m := t[0] * f.pinv
		c, _ = madd(m, f.p[0], t[0], 0)
		for j := 1; j < n; j++ {
			c, t[j-1] = madd(m, f.p[j], t[j], c)
		}
		t[n-1], cc = bits.Add64(t[n], c, 0)
		t[n] = t[n+1] + cc
	}
	// t < 2p: subtract p once if t >= p.
	var d fieldElem
	var borrow uint64
	for j := 0; j < n; j++ {
		d[j], borrow = bits.Sub64(t[j], f.p[j], borrow)
	}
	_, borrow = bits.Sub64(t[n], 0, borrow)
	*z = fieldElem{}
	if borrow == 0 {
		copy(z[:n], d[:n])
	} else {
		copy(z[:n], t[:n])
	}
}

// mul4 is mul for P-256's four limbs, written out (CIOS, one block per
// limb of y): with no loop and no slice the compiler keeps everything in
// registers, which makes the key check of a listing several times faster
// (P-256 is almost every passkey's curve).
func (f *nistField) mul4(z, x, y *fieldElem) {
	p0, p1, p2, p3, pinv := f.p[0], f.p[1], f.p[2], f.p[3], f.pinv
	x0, x1, x2, x3 := x[0], x[1], x[2], x[3]
	y0, y1, y2, y3 := y[0], y[1], y[2], y[3]
	var t0, t1, t2, t3, t4, t5, c, cc, m uint64
	// Limb 0 of y.
	c, t0 = madd(x0, y0, t0, 0)
	c, t1 = madd(x1, y0, t1, c)
	c, t2 = madd(x2, y0, t2, c)
	c, t3 = madd(x3, y0, t3, c)
	t4, cc = bits.Add64(t4, c, 0)
	t5 = cc
	m = t0 * pinv
	c, _ = madd(m, p0, t0, 0)
	c, t0 = madd(m, p1, t1, c)
	c, t1 = madd(m, p2, t2, c)
	c, t2 = madd(m, p3, t3, c)
	t3, cc = bits.Add64(t4, c, 0)
	t4 = t5 + cc
	// Limb 1 of y.
	c, t0 = madd(x0, y1, t0, 0)
	c, t1 = madd(x1, y1, t1, c)
	c, t2 = madd(x2, y1, t2, c)
	c, t3 = madd(x3, y1, t3, c)
	t4, cc = bits.Add64(t4, c, 0)
	t5 = cc
	m = t0 * pinv
	c, _ = madd(m, p0, t0, 0)
	c, t0 = madd(m, p1, t1, c)
	c, t1 = madd(m, p2, t2, c)
	c, t2 = madd(m, p3, t3, c)
	t3, cc = bits.Add64(t4, c, 0)
	t4 = t5 + cc
	// Limb 2 of y.
	c, t0 = madd(x0, y2, t0, 0)
	c, t1 = madd(x1, y2, t1, c)
	c, t2 = madd(x2, y2, t2, c)
	c, t3 = madd(x3, y2, t3, c)
	t4, cc = bits.Add64(t4, c, 0)
	t5 = cc
	m = t0 * pinv
	c, _ = madd(m, p0, t0, 0)
	c, t0 = madd(m, p1, t1, c)
	c, t1 = madd(m, p2, t2, c)
	c, t2 = madd(m, p3, t3, c)
	t3, cc = bits.Add64(t4, c, 0)
	t4 = t5 + cc
	// Limb 3 of y.
	c, t0 = madd(x0, y3, t0, 0)
	c, t1 = madd(x1, y3, t1, c)
	c, t2 = madd(x2, y3, t2, c)
	c, t3 = madd(x3, y3, t3, c)
	t4, cc = bits.Add64(t4, c, 0)
	t5 = cc
	m = t0 * pinv
	c, _ = madd(m, p0, t0, 0)
	c, t0 = madd(m, p1, t1, c)
	c, t1 = madd(m, p2, t2, c)
	c, t2 = madd(m, p3, t3, c)
	t3, cc = bits.Add64(t4, c, 0)
	t4 = t5 + cc
	var d0, d1, d2, d3, borrow uint64
	d0, borrow = bits.Sub64(t0, p0, 0)
	d1, borrow = bits.Sub64(t1, p1, borrow)
	d2, borrow = bits.Sub64(t2, p2, borrow)
	d3, borrow = bits.Sub64(t3, p3, borrow)
	_, borrow = bits.Sub64(t4, 0, borrow)
	if borrow == 0 {
		*z = fieldElem{d0, d1, d2, d3}
	} else {
		*z = fieldElem{t0, t1, t2, t3}
	}
}

// madd returns a·b + c + d as (hi, lo).
func madd(a, b, c, d uint64) (hi, lo uint64) {
	hi, lo = bits.Mul64(a, b)
	var cc uint64
	lo, cc = bits.Add64(lo, c, 0)
	hi += cc
	lo, cc = bits.Add64(lo, d, 0)
	hi += cc
	return hi, lo
}

// sub sets z = x - y mod p for x, y < p.
func (f *nistField) sub(z, x, y *fieldElem) {
	var borrow uint64
	var d fieldElem
	for j := 0; j < f.n; j++ {
		d[j], borrow = bits.Sub64(x[j], y[j], borrow)
	}
	if borrow != 0 {
		var c uint64
		for j := 0; j < f.n; j++ {
			d[j], c = bits.Add64(d[j], f.p[j], c)
		}
	}
	*z = d
}

// add sets z = x + y mod p for x, y < p.
func (f *nistField) add(z, x, y *fieldElem) {
	var c uint64
	var s fieldElem
	for j := 0; j < f.n; j++ {
		s[j], c = bits.Add64(x[j], y[j], c)
	}
	if c != 0 || !f.less(&s) {
		var borrow uint64
		for j := 0; j < f.n; j++ {
			s[j], borrow = bits.Sub64(s[j], f.p[j], borrow)
		}
	}
	*z = s
}

// onCurve reports whether (x, y), big-endian coordinates of the curve's
// length, is a point of the NIST curve: both below p and y² = x³ - 3x + b,
// as crypto/ecdh's NewPublicKey requires of an uncompressed point.
func onCurve(crv int64, x, y []byte) bool {
	f, ok := nistFields[crv]
	if !ok || len(x) != f.coordLen || len(y) != f.coordLen {
		return false
	}
	var xe, ye fieldElem
	xe.setBytes(x)
	ye.setBytes(y)
	if !f.less(&xe) || !f.less(&ye) {
		return false
	}
	// Both sides times R⁻¹: y²R⁻¹ and (x² - 3)·x·R⁻¹ + b·R⁻¹, where
	// x² = x·(x·R)·R⁻¹.
	var xr, lhs, rhs fieldElem
	f.mul(&lhs, &ye, &ye)
	f.mul(&xr, &xe, &f.r2)
	f.mul(&rhs, &xe, &xr)
	f.sub(&rhs, &rhs, &f.three)
	f.mul(&rhs, &rhs, &xe)
	f.add(&rhs, &rhs, &f.b)
	return lhs == rhs
}
