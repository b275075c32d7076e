package redis

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	goredis "github.com/redis/go-redis/v9"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// passkeyctl's audit log on Redis is two keys beside the app's, under its
// base key prefix: the hash passkeyctl:audit (entry id → the entry as JSON)
// and the counter passkeyctl:audit:seq that numbers the entries. An entry
// is written in the MULTI/EXEC of the change it records: both or neither.

func (s *Store) auditKey() string { return s.L.storageKey(s.L.BaseKeyPrefix + "passkeyctl:audit") }
func (s *Store) auditSeqKey() string {
	return s.L.storageKey(s.L.BaseKeyPrefix + "passkeyctl:audit:seq")
}

// SetAudit records the store's changes from now on with a (nil: none).
func (s *Store) SetAudit(a *store.AuditContext) { s.audit = a }

// auditEntry starts the audit entry of a change; nil when the store
// records nothing.
func (s *Store) auditEntry(action, summary string) *store.AuditEntry {
	if s.audit == nil {
		return nil
	}
	e := s.audit.Entry(action, summary)
	e.App = "authjs"
	return e
}

// auditWrite numbers e (nil or empty: nothing to record) and returns the
// HSET that records it, to queue in the change's MULTI; the number is
// taken at once, outside the MULTI (a failed EXEC leaves a gap).
func (s *Store) auditWrite(ctx context.Context, tx *goredis.Tx, e *store.AuditEntry) (func(goredis.Pipeliner), error) {
	if e == nil || e.Empty() {
		return func(goredis.Pipeliner) {}, nil
	}
	if err := s.audit.Ready(); err != nil {
		return nil, err
	}
	id, err := tx.Incr(ctx, s.auditSeqKey()).Result()
	if err != nil {
		return nil, err
	}
	e.ID = id
	js, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	return func(pipe goredis.Pipeliner) {
		pipe.HSet(ctx, s.auditKey(), strconv.FormatInt(id, 10), string(js))
	}, nil
}

// recorded tells the audit context that e committed.
func (s *Store) recorded(e *store.AuditEntry) {
	if e != nil && !e.Empty() && s.audit.Recorded != nil {
		s.audit.Recorded(*e)
	}
}

// execAudited queues deletes and sets, and e's audit entry, in tx's
// MULTI/EXEC: the one write of revoke, orphan removal and import, which
// EXEC refuses when a watched key changed since it was read.
func (s *Store) execAudited(ctx context.Context, tx *goredis.Tx, del []string, set [][2]string, e *store.AuditEntry) error {
	record, err := s.auditWrite(ctx, tx, e)
	if err != nil {
		return err
	}
	_, err = tx.TxPipelined(ctx, func(pipe goredis.Pipeliner) error {
		if len(del) > 0 {
			pipe.Del(ctx, del...)
		}
		for _, kv := range set {
			pipe.Set(ctx, kv[0], kv[1], 0)
		}
		record(pipe)
		return nil
	})
	return err
}

// AuditLog implements store.Store.
func (s *Store) AuditLog(ctx context.Context, f store.AuditFilter, fn func(store.AuditEntry) error) error {
	var entries []store.AuditEntry
	if f.ID != 0 {
		js, err := s.c.HGet(ctx, s.auditKey(), strconv.FormatInt(f.ID, 10)).Result()
		if err == goredis.Nil {
			return nil
		}
		if err != nil {
			return s.err("read the audit log", err)
		}
		var e store.AuditEntry
		if err := json.Unmarshal([]byte(js), &e); err != nil {
			return fmt.Errorf("audit log: entry %d: %v", f.ID, err)
		}
		entries = append(entries, e)
	} else {
		iter := s.c.HScan(ctx, s.auditKey(), 0, "", scanCount).Iterator()
		for iter.Next(ctx) {
			id := iter.Val()
			if !iter.Next(ctx) {
				break
			}
			var e store.AuditEntry
			if err := json.Unmarshal([]byte(iter.Val()), &e); err != nil {
				return fmt.Errorf("audit log: entry %s: %v", id, err)
			}
			if f.Match(&e) {
				entries = append(entries, e)
			}
		}
		if err := iter.Err(); err != nil {
			return s.err("read the audit log", err)
		}
	}
	slices.SortFunc(entries, func(a, b store.AuditEntry) int { return cmp.Compare(a.ID, b.ID) })
	for _, e := range entries {
		if !f.Match(&e) {
			continue
		}
		if e.Removed == nil {
			e.Removed = []passkey.ExportRecord{}
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}
