package db

import (
	"strconv"
	"time"
)

// TimeForm is how a date column stores a time.
type TimeForm string

const (
	// TimeNative is a timestamp / timestamptz / datetime column.
	TimeNative TimeForm = "timestamp"
	// TimeISO is ISO 8601 text ("2026-11-25T01:52:45.510Z"): Better Auth on
	// SQLite.
	TimeISO TimeForm = "iso-text"
	// TimeMillis is integer milliseconds since the epoch: Prisma and
	// Drizzle on SQLite.
	TimeMillis TimeForm = "unix-ms"
	// TimeSeconds is integer seconds since the epoch: Better Auth's Drizzle
	// generator on SQLite before it moved to milliseconds (mode
	// 'timestamp').
	TimeSeconds TimeForm = "unix-s"
)

// timeFormOf is how the app's ORM stores times in a date column: natively
// on PostgreSQL and MySQL. SQLite columns take any value, so there the
// declared type decides where it can: integer milliseconds in an integer
// column (Drizzle), ISO text in a text column. Any other declared type
// (DATETIME, DATE, none) holds what the app writes: Prisma, for Auth.js,
// writes integer milliseconds into its DATETIME columns; Better Auth's
// Kysely adapter writes ISO text into its DATE columns.
func timeFormOf(dia *Dialect, c Column, app App) TimeForm {
	if dia != SQLite {
		return TimeNative
	}
	switch typeClass(c) {
	case "integer":
		return TimeMillis
	case "string":
		return TimeISO
	}
	return appFor(app).untypedTimeForm()
}

// timeValue is t as the app's ORM writes it into col, for an INSERT
// argument.
func (d *DB) timeValue(col Column, app App, t time.Time) any {
	return timeArg(timeFormOf(d.Dialect, col, app), t)
}

// isoMillis is JavaScript's Date.toISOString() layout, which Better Auth
// writes on SQLite and the export format uses.
const isoMillis = "2006-01-02T15:04:05.000Z"

// timeArg is t in the column's form, for an INSERT argument.
func timeArg(form TimeForm, t time.Time) any {
	t = t.UTC().Truncate(time.Millisecond)
	switch form {
	case TimeISO:
		return t.Format(isoMillis)
	case TimeMillis:
		return t.UnixMilli()
	case TimeSeconds:
		return t.Unix()
	}
	return t
}

// formatTime is t in the export format's layout (JavaScript's
// toISOString()), nil for nil.
func formatTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.UTC().Format(isoMillis)
	return &s
}

// scanTime turns a scanned date value of any form into a time; nil for
// NULL or an unreadable value.
func scanTime(v any) *time.Time {
	var t time.Time
	switch x := v.(type) {
	case nil:
		return nil
	case time.Time:
		t = x
	case int64:
		t = time.UnixMilli(x)
	case float64:
		t = time.UnixMilli(int64(x))
	case []byte:
		return scanTime(string(x))
	case string:
		if n, err := strconv.ParseInt(x, 10, 64); err == nil {
			t = time.UnixMilli(n)
			break
		}
		var err error
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
			if t, err = time.Parse(layout, x); err == nil {
				break
			}
		}
		if err != nil {
			return nil
		}
	default:
		return nil
	}
	t = t.UTC()
	return &t
}
