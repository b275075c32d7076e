// Package storetest is the conformance suite of store.Store: the same
// cases, written only against the interface, for every backend (Auth.js
// and Better Auth on each SQL dialect, Auth.js on Redis), and a transfer
// of passkeys from one backend to another. It is imported only by tests,
// which run it on real servers.
package storetest

import (
	"os"
	"strings"
	"testing"

	"github.com/passkeyctl/passkeyctl/internal/store"
)

// Backend is one store.Store implementation under test.
type Backend struct {
	// Name says which app on which database, for test names: "authjs-postgres".
	Name string
	// Open returns a fresh, empty store (the app's tables or key space
	// exist and hold nothing); it registers with t.Cleanup whatever must
	// be removed or closed when the test ends.
	Open func(t *testing.T) store.Store
	// KnownBugs maps a case of Run, by its subtest path below the
	// backend ("resolve/prefix"), to the backend bug it fails on: the
	// case is skipped with "BUG: " and the description, so that the suite
	// stays green while the bug is open and says what is wrong. Set
	// PASSKEYCTL_TEST_KNOWN_BUGS=fail to run those cases anyway.
	KnownBugs map[string]string
	// MakeOrphan, when set, leaves behind in st (a store Open returned)
	// the orphan kind of what userID and the passkey with this raw
	// credential ID wrote, by writing to the database directly (what the
	// interface cannot do: delete a user, or half a passkey). Only the
	// remove-orphans case uses it; without it that case checks only that a
	// healthy store has none.
	MakeOrphan func(t *testing.T, st store.Store, kind OrphanKind, userID string, rawCredentialID []byte)
	// SetAudit gives st (a store Open returned) an audit context, as the
	// commands open stores: the audit case needs it.
	SetAudit func(st store.Store, a *store.AuditContext)
}

// KnownBugsEnv, set to "fail", runs the cases a Backend lists in
// KnownBugs instead of skipping them.
const KnownBugsEnv = "PASSKEYCTL_TEST_KNOWN_BUGS"

// suite is one Run: the backend and the name of the test Run was given,
// under which the cases are subtests.
type suite struct {
	b    Backend
	root string
}

// open returns a fresh store of the backend.
func (s *suite) open(t *testing.T) store.Store {
	t.Helper()
	st := s.b.Open(t)
	if st == nil {
		t.Fatalf("%s: Open returned no store", s.b.Name)
	}
	return st
}

// run runs fn as the subtest name, skipped when the backend lists it
// among its known bugs.
func (s *suite) run(t *testing.T, name string, fn func(t *testing.T)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		s.skipKnownBug(t)
		fn(t)
	})
}

// skipKnownBug skips t when its path below the backend is a known bug.
func (s *suite) skipKnownBug(t *testing.T) {
	t.Helper()
	rel := strings.TrimPrefix(t.Name(), s.root+"/")
	if desc, ok := s.b.KnownBugs[rel]; ok && os.Getenv(KnownBugsEnv) != "fail" {
		t.Skipf("BUG: %s: %s (run it with %s=fail)", s.b.Name, desc, KnownBugsEnv)
	}
}

// Run runs every conformance case on b, each as a subtest with its own
// fresh store, so that the cases are independent of each other.
func Run(t *testing.T, b Backend) {
	t.Helper()
	s := &suite{b: b, root: t.Name()}
	s.run(t, "describe-and-ready", s.testDescribeAndReady)
	s.run(t, "enrol", s.testEnrol)
	s.run(t, "rename", s.testRename)
	s.run(t, "duplicate-credential", s.testDuplicateCredential)
	s.run(t, "counter", s.testCounter)
	s.run(t, "order-and-limit", s.testOrderAndLimit)
	s.run(t, "resolve", s.testResolve)
	s.run(t, "revoke", s.testRevoke)
	s.run(t, "revoke-credentials", s.testRevokeCredentials)
	s.run(t, "export-import", s.testExportImport)
	s.run(t, "completion", s.testCompletion)
	s.run(t, "remove-orphans", s.testRemoveOrphans)
	s.run(t, "stats", s.testStats)
	s.run(t, "audit", s.testAudit)
}
