package passkey

import "testing"

// FuzzStdToURLBase64: the short way of ExportRecordFromAuthjs gives what
// the long way gives, whenever it answers, and answers for every
// credential ID in the form Auth.js stores.
func FuzzStdToURLBase64(f *testing.F) {
	for _, s := range []string{"AA==", "AB==", "AAA=", "AAB=", "+/+/", "YWJj", "-_-_", "YW Jj", "====", "A===", "", "AAAAA===", "/PdHWcbkPtwM3LP6ytJ8CwyS1pD1vP3kP2TMXikbdtA="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, ok := stdToURLBase64(s); ok {
			raw, err := DecodeBase64(s)
			if err != nil || len(raw) == 0 || Base64URL(raw) != got {
				t.Fatalf("%q: short way %q, long way %q (%v)", s, got, Base64URL(raw), err)
			}
		}
		raw := []byte(s)
		if len(raw) == 0 {
			return
		}
		if _, ok := stdToURLBase64(AuthjsCredentialID(raw)); !ok {
			t.Fatalf("%q: Auth.js's form %q not taken the short way", s, AuthjsCredentialID(raw))
		}
	})
}
