package db_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

const (
	xferPasskeys = 100_000
	xferPerUser  = 10
	// xferKey is the Auth.js fixture's ES256 COSE key.
	xferKey = "pQECAyYgASFYIMAYEZESxZA8Oph6Bewn9vMntNwy+Ca7PZbKcHhUMANrIlggZLbNNdO6oJ/2NtR8/An2CHU8ASi/rqmwaztKfyYows4="
)

// xferInput streams xferPasskeys export lines for xferPasskeys /
// xferPerUser users through a pipe, so the input never sits in memory.
func xferInput() io.Reader {
	pr, pw := io.Pipe()
	go func() {
		w := passkey.NewExportWriter(pw)
		for n := 1; n <= xferPasskeys; n++ {
			u := (n-1)/xferPerUser + 1
			sum := sha256.Sum256(fmt.Appendf(nil, "bench-cred-%d", n))
			email := fmt.Sprintf("user%d@example.com", u)
			rec := passkey.ExportRecord{
				Version: passkey.ExportFormatVersion, CredentialID: base64.RawURLEncoding.EncodeToString(sum[:]),
				PublicKey: xferKey, Counter: int64(n % 100), DeviceType: "multiDevice", BackedUp: n%2 == 0,
				Transports: []string{"hybrid", "internal"},
				User:       passkey.ExportUser{ID: fmt.Sprintf("bench_user_%07d", u), Email: &email}, Status: passkey.StatusOK,
			}
			if err := w.Write(rec); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.Close()
	}()
	return pr
}

// xferImport imports 100,000 passkeys of 10,000 users, created by the
// import, into a fresh PostgreSQL database of the app in one transaction.
// Target: well under a minute.
func xferImport(b *testing.B, app db.App) {
	ctx := context.Background()
	for range b.N {
		b.StopTimer()
		var d *db.DB
		if app == db.AppBetterAuth {
			_, d = dbtest.BetterAuth(b, "postgres", dbtest.BetterAuthOptions{})
		} else {
			_, d = dbtest.Migrated(b, "postgres")
		}
		s, err := d.Detect(ctx)
		if err != nil {
			b.Fatal(err)
		}
		in := xferInput()
		b.StartTimer()
		res, err := d.Import(ctx, s, in, store.ImportOptions{ProviderID: "passkey", CreateUsers: true})
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if res.Inserted != xferPasskeys || len(res.UsersCreated) != xferPasskeys/xferPerUser {
			b.Fatalf("inserted %d, created %d users", res.Inserted, len(res.UsersCreated))
		}
		b.ReportMetric(float64(xferPasskeys)/b.Elapsed().Seconds()*float64(b.N), "passkeys/s")
	}
}

func BenchmarkImport100k_AuthjsPostgres(b *testing.B)     { xferImport(b, db.AppAuthjs) }
func BenchmarkImport100k_BetterAuthPostgres(b *testing.B) { xferImport(b, db.AppBetterAuth) }

// BenchmarkExport100k_Postgres exports 100,000 Auth.js passkeys and reports
// the peak heap seen while streaming: it must stay flat, not grow with the
// table.
func BenchmarkExport100k_Postgres(b *testing.B) {
	ctx := context.Background()
	_, d := dbtest.Migrated(b, "postgres")
	s, err := d.Detect(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := d.Import(ctx, s, xferInput(), store.ImportOptions{ProviderID: "passkey", CreateUsers: true}); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak uint64
	b.ResetTimer()
	for range b.N {
		w := passkey.NewExportWriter(io.Discard)
		n := 0
		err := d.ExportPasskeys(ctx, s, store.ExportOptions{ProviderID: "passkey"}, func(r passkey.ExportRecord) error {
			n++
			if n%5000 == 0 {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
			return w.Write(r)
		})
		if err != nil {
			b.Fatal(err)
		}
		if n != xferPasskeys {
			b.Fatalf("exported %d", n)
		}
	}
	b.ReportMetric(float64(peak-min(peak, base))/(1<<20), "peak-heap-MB")
}
