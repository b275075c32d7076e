package db_test

import (
	"context"
	"testing"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
	"github.com/passkeyctl/passkeyctl/schema"
)

func TestMigrate_fresh(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		d := dbtest.Open(t, dsn)
		fsys, _ := schema.FS(d.Dialect.Name)
		res, err := d.Migrate(context.Background(), fsys, db.MigrateOptions{Core: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%+v", res)
		s, err := d.Detect(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if s.Variant != db.VariantCurrent {
			t.Fatalf("variant %q drift %v", s.Variant, s.Drift)
		}
		t.Logf("warnings %v", s.Warnings)
		st, err := d.MigrationStatus(context.Background(), fsys)
		if err != nil {
			t.Fatal(err)
		}
		if !st.UpToDate() {
			t.Fatalf("not up to date: %+v", st)
		}
	})
}
