package ceremony

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestConfig_Check(t *testing.T) {
	cert, key, _ := selfSigned(t)
	for _, tc := range []struct {
		name    string
		edit    func(*Config)
		wantErr string // substring; "" means valid
		origins []string
	}{
		{"defaults", func(*Config) {}, "", nil},
		{"https origin under the rpID", func(c *Config) {
			c.RPID, c.Origins = "example.com", []string{"https://Admin.Example.com:443/"}
		}, "", []string{"https://admin.example.com"}},
		{"origin equal to the rpID, with a port", func(c *Config) {
			c.RPID, c.Origins = "example.com", []string{"https://example.com:8443"}
		}, "", []string{"https://example.com:8443"}},
		{"http on localhost", func(c *Config) { c.Origins = []string{"http://localhost:3000"} }, "", []string{"http://localhost:3000"}},
		{"origin not under the rpID", func(c *Config) {
			c.RPID, c.Origins = "example.com", []string{"https://example.org"}
		}, "must be the origin's host or a parent domain", nil},
		{"suffix that is not a parent domain", func(c *Config) {
			c.RPID, c.Origins = "example.com", []string{"https://badexample.com"}
		}, "does not belong to rpID example.com", nil},
		{"plain http elsewhere", func(c *Config) {
			c.RPID, c.Origins = "example.com", []string{"http://example.com"}
		}, "browsers allow passkeys only on https:// pages and http://localhost", nil},
		{"origin with a path", func(c *Config) { c.Origins = []string{"http://localhost:3000/login"} }, "no path", nil},
		{"origin by IP", func(c *Config) { c.Origins = []string{"http://127.0.0.1:3000"} }, "IP address", nil},
		{"rpID is an IP", func(c *Config) { c.RPID = "127.0.0.1" }, "IP address", nil},
		{"rpID with a scheme", func(c *Config) { c.RPID = "https://example.com" }, "bare host name", nil},
		{"rpID other than localhost without origin", func(c *Config) { c.RPID = "example.com" }, "--rp-id example.com needs --origin", nil},
		{"public listener without TLS", func(c *Config) { c.Listen = "0.0.0.0:8443" }, "can be reached from other machines", nil},
		{"all interfaces without TLS", func(c *Config) { c.Listen = ":8443" }, "can be reached from other machines", nil},
		{"public listener behind a TLS proxy", func(c *Config) {
			c.Listen, c.RPID, c.Origins = "0.0.0.0:8080", "example.com", []string{"https://passkeys.example.com"}
		}, "", []string{"https://passkeys.example.com"}},
		{"public listener with TLS", func(c *Config) {
			c.Listen, c.TLSCert, c.TLSKey = "0.0.0.0:8443", cert, key
		}, "", nil},
		{"TLS with an http origin", func(c *Config) {
			c.TLSCert, c.TLSKey, c.Origins = cert, key, []string{"http://localhost:8443"}
		}, "served over https", nil},
		{"cert without key", func(c *Config) { c.TLSCert = cert }, "go together", nil},
		{"missing cert file", func(c *Config) { c.TLSCert, c.TLSKey = "nope.pem", key }, "cannot load --tls-cert nope.pem", nil},
		{"bad listen", func(c *Config) { c.Listen = "8443" }, "is not HOST:PORT", nil},
		{"zero timeout", func(c *Config) { c.Timeout = 0 }, "timeout", nil},
		{"enrol without user", func(c *Config) { c.User = nil }, "needs the user", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(ModeEnroll)
			tc.edit(&cfg)
			err := cfg.Check()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if tc.origins != nil && !reflect.DeepEqual(cfg.Origins, tc.origins) {
					t.Errorf("origins %v, want %v", cfg.Origins, tc.origins)
				}
				return
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want ErrConfig containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestNew_TLS(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(ModeEnroll)
	cfg.TLSCert, cfg.TLSKey = filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	os.WriteFile(cfg.TLSCert, []byte("not a certificate"), 0o600)
	os.WriteFile(cfg.TLSKey, []byte("not a key"), 0o600)
	if _, err := New(cfg, newMemStore()); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "cannot load --tls-cert") {
		t.Fatalf("%v", err)
	}
}

// selfSigned writes a certificate and key for localhost and returns their
// paths and a pool that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	c, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return certFile, keyFile, pool
}

// With --tls-cert/--tls-key the page is served over https, the default
// origin is https://localhost:<port>, and a whole enrolment works.
func TestServer_TLS(t *testing.T) {
	cert, key, pool := selfSigned(t)
	cfg := testConfig(ModeEnroll)
	cfg.TLSCert, cfg.TLSKey = cert, key
	st := newMemStore()
	r := start(t, cfg, st)
	if !strings.HasPrefix(r.URL(), "https://localhost:") {
		t.Fatalf("URL %s", r.URL())
	}
	r.hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	if code, rep := r.enrol(newSoft(t, -8)); code != 200 {
		t.Fatalf("%d %+v", code, rep)
	}
	if _, err := r.wait(); err != nil || len(st.saved) != 1 {
		t.Fatalf("%v, %d saved", err, len(st.saved))
	}
}

func TestNew_portInUse(t *testing.T) {
	s, err := New(testConfig(ModeEnroll), newMemStore())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cfg := testConfig(ModeEnroll)
	cfg.Listen = s.ln.Addr().String()
	if _, err := New(cfg, newMemStore()); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "cannot listen on") {
		t.Fatalf("%v", err)
	}
}
