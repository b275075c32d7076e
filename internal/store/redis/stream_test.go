package redis_test

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store/redis"
)

// populate writes n passkeys (perUser per user) under ns in the adapter's
// layout and encodings, pipelined, starting at user number from.
func populate(t *testing.T, e *testEnv, from, n, perUser int) {
	t.Helper()
	l := redis.DefaultLayout()
	pk := base64.StdEncoding.EncodeToString(fixtureKey1(t))
	pipe := e.c.Pipeline()
	flush := func() {
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for u := from; u < from+n/perUser; u++ {
		uid := fmt.Sprintf("user-%08d", u)
		email := fmt.Sprintf("u%d@example.com", u)
		pipe.Set(ctx, e.ns+":"+l.UserKey(uid), `{"email":"`+email+`","id":"`+uid+`"}`, 0)
		pipe.Set(ctx, e.ns+":"+l.EmailKey(email), uid, 0)
		var list []string
		for j := range perUser {
			raw := make([]byte, 32)
			binary.BigEndian.PutUint64(raw, uint64(u))
			binary.BigEndian.PutUint64(raw[8:], uint64(j))
			copy(raw[16:], "passkeyctl/+test")
			cid := base64.StdEncoding.EncodeToString(raw)
			list = append([]string{`"` + cid + `"`}, list...)
			pipe.Set(ctx, e.ns+":"+l.AuthenticatorKey(cid), `{"providerAccountId":"`+cid+`","counter":`+fmt.Sprint(j)+`,"credentialID":"`+cid+`","credentialPublicKey":"`+pk+
				`","credentialBackedUp":true,"credentialDeviceType":"multiDevice","transports":"internal","userId":"`+uid+`"}`, 0)
			pipe.Set(ctx, e.ns+":"+l.AccountKey("passkey", cid), `{"providerAccountId":"`+cid+`","provider":"passkey","type":"webauthn","userId":"`+uid+`","id":"passkey:`+cid+`"}`, 0)
		}
		pipe.Set(ctx, e.ns+":"+l.AuthenticatorListKey(uid), "["+strings.Join(list, ",")+"]", 0)
		if pipe.Len() >= 2000 {
			flush()
		}
	}
	flush()
}

// measure lists everything and returns the count, the peak heap growth
// live heap over the baseline (sampled after a GC every 1,000 passkeys)
// and the time taken (GCs included).
func measure(t *testing.T, s *redis.Store, opts redis.ListOptions, check func(prev, p passkey.Passkey)) (int, uint64, time.Duration) {
	t.Helper()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, ms.HeapAlloc
	n := 0
	var prev passkey.Passkey
	start := time.Now()
	err := s.ListWith(ctx, opts, func(p passkey.Passkey) error {
		if p.Status != passkey.StatusOK {
			t.Errorf("passkey %s: status %s", p.CredentialID, p.Status)
		}
		if check != nil && n > 0 {
			check(prev, p)
		}
		prev = p
		n++
		if n%1000 == 0 {
			// Live heap: what the listing holds, not garbage awaiting GC.
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		return nil
	})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	return n, peak - base, took
}

// TestListPasskeys_streaming lists 20,000 passkeys (5,000 users with 4
// each: 55,000 keys) ordered and unordered, and compares the peak heap
// with a listing of 2,000: the unordered stream stays flat, the ordered
// one grows by its (user, credential) index only.
func TestListPasskeys_streaming(t *testing.T) {
	e := newEnv(t)
	s := e.open("", "")
	ordered := func(prev, p passkey.Passkey) {
		if prev.UserID > p.UserID || (prev.UserID == p.UserID && prev.CredentialID >= p.CredentialID) {
			t.Fatalf("out of order: %s/%s after %s/%s", p.UserID, p.CredentialID, prev.UserID, prev.CredentialID)
		}
	}
	type fig struct {
		n    int
		heap uint64
		took time.Duration
	}
	results := map[string]fig{}
	for _, size := range []int{2000, 20000} {
		have := 0
		if size == 20000 {
			have = 2000
		}
		populate(t, e, have/4, size-have, 4)
		for _, mode := range []string{"ordered", "unordered"} {
			n, heap, took := measure(t, s, redis.ListOptions{Unordered: mode == "unordered"}, map[string]func(passkey.Passkey, passkey.Passkey){"ordered": ordered}[mode])
			if n != size {
				t.Errorf("%s listing of %d passkeys gave %d", mode, size, n)
			}
			results[fmt.Sprint(mode, size)] = fig{n, heap, took}
			t.Logf("%-9s %6d passkeys: %v (%.0f/s), peak live heap growth %.2f MB", mode, n, took.Round(time.Millisecond), float64(n)/took.Seconds(), float64(heap)/(1<<20))
		}
	}
	// Flat: the unordered stream holds one SCAN batch and its MGETs, so
	// ten times the passkeys must not need ten times the memory.
	u2, u20 := results["unordered2000"].heap, results["unordered20000"].heap
	if u20 > 4<<20 || u20 > 2*max(u2, 1<<20) {
		t.Errorf("unordered listing is not flat: %.2f MB for 2,000, %.2f MB for 20,000", float64(u2)/(1<<20), float64(u20)/(1<<20))
	}
	// Ordered: the index of 20,000 pairs (~1.3 MB, doubled by append's
	// growth at worst) plus the batches.
	if o20 := results["ordered20000"].heap; o20 > 8<<20 {
		t.Errorf("ordered listing of 20,000 grew the heap by %.2f MB", float64(o20)/(1<<20))
	}
	// The case-insensitive e-mail fallback: one SCAN over the keyspace.
	start := time.Now()
	u, err := s.FindUser(ctx, "U1234@EXAMPLE.COM")
	if err != nil || u.ID != "user-00001234" {
		t.Errorf("FindUser ignoring case: %+v %v", u, err)
	}
	t.Logf("FindUser ignoring case, database of %d keys: %v", e.c.DBSize(ctx).Val(), time.Since(start).Round(time.Millisecond))
	start = time.Now()
	if ps := listAll(t, s, redis.ListOptions{UserID: "user-00004321"}); len(ps) != 4 {
		t.Errorf("user listing: %d passkeys", len(ps))
	}
	t.Logf("one user's listing among 20,000 passkeys: %v", time.Since(start).Round(time.Millisecond))
	// A user's listing finds exactly that user's passkeys, in order.
	ps := listAll(t, s, redis.ListOptions{UserID: "user-00001234"})
	if len(ps) != 4 || ps[0].UserID != "user-00001234" {
		t.Errorf("user listing: %d passkeys", len(ps))
	}
}
