package db

import (
	"testing"
	"time"
)

// TestTimeFormOf pins how each app's dates are written, per dialect and
// declared column type: the two apps agree on every SQLite type that says
// what it holds and differ only where the ORM decides (Prisma's DATETIME
// holds milliseconds, Better Auth's DATE ISO text).
func TestTimeFormOf(t *testing.T) {
	at := time.Date(2026, 11, 25, 1, 52, 45, 510_700_000, time.FixedZone("x", 3600))
	ms := int64(1795567965510) // 2026-11-25T00:52:45.510Z
	cases := []struct {
		dia      *Dialect
		typ      string
		app      App
		want     TimeForm
		wantText any
	}{
		{Postgres, "timestamp", AppAuthjs, TimeNative, at.UTC().Truncate(time.Millisecond)},
		{Postgres, "text", AppBetterAuth, TimeNative, at.UTC().Truncate(time.Millisecond)},
		{MySQL, "datetime", AppAuthjs, TimeNative, at.UTC().Truncate(time.Millisecond)},
		{SQLite, "datetime", AppAuthjs, TimeMillis, ms},
		{SQLite, "datetime", AppBetterAuth, TimeISO, "2026-11-25T00:52:45.510Z"},
		{SQLite, "date", AppBetterAuth, TimeISO, "2026-11-25T00:52:45.510Z"},
		{SQLite, "", AppAuthjs, TimeMillis, ms},
		{SQLite, "", AppBetterAuth, TimeISO, "2026-11-25T00:52:45.510Z"},
		{SQLite, "integer", AppAuthjs, TimeMillis, ms},
		{SQLite, "integer", AppBetterAuth, TimeMillis, ms},
		{SQLite, "text", AppAuthjs, TimeISO, "2026-11-25T00:52:45.510Z"},
		{SQLite, "text", AppBetterAuth, TimeISO, "2026-11-25T00:52:45.510Z"},
	}
	for _, c := range cases {
		col := Column{Name: "createdAt", Type: c.typ}
		if got := timeFormOf(c.dia, col, c.app); got != c.want {
			t.Errorf("%s %q %s: form %s, want %s", c.dia.Name, c.typ, c.app, got, c.want)
		}
		d := &DB{Dialect: c.dia}
		if got := d.timeValue(col, c.app, at); got != c.wantText {
			t.Errorf("%s %q %s: value %#v, want %#v", c.dia.Name, c.typ, c.app, got, c.wantText)
		}
	}
}
