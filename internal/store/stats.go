package store

import (
	"cmp"
	"slices"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
)

// Stats are a store's passkeys counted, for dashboards and audits
// (`passkeyctl stats`). Every backend aggregates where the passkeys are
// (GROUP BY on SQL, one streaming SCAN on Redis) and never holds them all.
//
// Status is structural: who owns the passkey, from the same joins (or
// keys) as list (ok, no-account, account-user-mismatch, no-user). Whether
// the stored key can verify a signature (bad-public-key) needs every key
// decoded and is list's to say; Algorithm is read from each key's COSE
// header, which names the algorithm whether or not the key is usable.
type Stats struct {
	// Passkeys is the number of passkeys.
	Passkeys int64 `json:"passkeys"`
	// UsersWithPasskeys is the number of distinct user ids the passkeys
	// belong to (a passkey whose user is gone counts its user id).
	UsersWithPasskeys int64 `json:"usersWithPasskeys"`
	// UsersSingleDeviceOnly is the number of users whose only passkey is
	// single-device and not backed up: one lost device from lock-out.
	UsersSingleDeviceOnly int64 `json:"usersSingleDeviceOnly"`
	// Orphans are what the app leaves half-written (ListOrphans: Auth.js
	// webauthn accounts without their authenticator); 0 on Better Auth.
	Orphans int64 `json:"orphans"`
	// ByStatus counts passkeys by structural status; the statuses in
	// StatsStatuses are always present, with 0 when none has them.
	ByStatus map[string]int64 `json:"byStatus"`
	// ByAlgorithm counts passkeys by COSE algorithm name ("ES256",
	// "EdDSA", "RS256", ..., "unknown" for a header that names none).
	ByAlgorithm map[string]int64 `json:"byAlgorithm"`
	// ByDeviceType counts passkeys by credentialDeviceType:
	// "singleDevice" and "multiDevice" are always present; any other
	// stored value is counted as it is ("unknown" for none).
	ByDeviceType map[string]int64 `json:"byDeviceType"`
	// ByBackedUp counts passkeys by credentialBackedUp: "true", "false".
	ByBackedUp map[string]int64 `json:"byBackedUp"`
	// ByAuthenticator counts passkeys by the AAGUID the app stores
	// (Better Auth), most first; "unknown" where there is none (Auth.js
	// stores none).
	ByAuthenticator []AuthenticatorCount `json:"byAuthenticator"`
}

// AuthenticatorCount is the number of passkeys of one authenticator model.
type AuthenticatorCount struct {
	// AAGUID is the authenticator's AAGUID as the app stores it (a
	// lower-case UUID), or "unknown".
	AAGUID string `json:"aaguid"`
	// Name is the authenticator's name (passkey.AuthenticatorName),
	// left out when the AAGUID is not in the embedded list.
	Name     string `json:"name,omitempty"`
	Passkeys int64  `json:"passkeys"`
}

// Device types and the unknown bucket of Stats.
const (
	DeviceSingle = "singleDevice"
	DeviceMulti  = "multiDevice"
	// Unknown is the bucket of a value the store does not have.
	Unknown = "unknown"
)

// StatsStatuses are the statuses Stats.ByStatus always has.
var StatsStatuses = []string{passkey.StatusOK, passkey.StatusNoAccount, passkey.StatusAccountUserMismatch, passkey.StatusNoUser}

// NewStats returns empty Stats with the buckets that are always shown.
func NewStats() *Stats {
	st := &Stats{
		ByStatus:     map[string]int64{},
		ByAlgorithm:  map[string]int64{},
		ByDeviceType: map[string]int64{DeviceSingle: 0, DeviceMulti: 0},
		ByBackedUp:   map[string]int64{"true": 0, "false": 0},
	}
	for _, s := range StatsStatuses {
		st.ByStatus[s] = 0
	}
	return st
}

// StatsGroup is n passkeys that share every grouped field: backends
// aggregate into groups (a handful of rows however many passkeys) and
// add them with Add.
type StatsGroup struct {
	Status, Algorithm, DeviceType string
	BackedUp                      bool
	// AAGUID is "" when the app stores none.
	AAGUID string
	N      int64
}

// Add counts a group of passkeys in every breakdown. It keeps
// ByAuthenticator in the order Finish sorts.
func (st *Stats) Add(g StatsGroup) {
	st.Passkeys += g.N
	st.ByStatus[g.Status] += g.N
	st.ByAlgorithm[cmp.Or(g.Algorithm, Unknown)] += g.N
	st.ByDeviceType[cmp.Or(g.DeviceType, Unknown)] += g.N
	if g.BackedUp {
		st.ByBackedUp["true"] += g.N
	} else {
		st.ByBackedUp["false"] += g.N
	}
	aaguid := cmp.Or(g.AAGUID, Unknown)
	for i := range st.ByAuthenticator {
		if st.ByAuthenticator[i].AAGUID == aaguid {
			st.ByAuthenticator[i].Passkeys += g.N
			return
		}
	}
	name, _ := passkey.AuthenticatorName(aaguid)
	st.ByAuthenticator = append(st.ByAuthenticator, AuthenticatorCount{AAGUID: aaguid, Name: name, Passkeys: g.N})
}

// Finish sorts ByAuthenticator, most passkeys first, then by AAGUID, and
// makes it an empty list rather than null when there are no passkeys.
func (st *Stats) Finish() {
	if st.ByAuthenticator == nil {
		st.ByAuthenticator = []AuthenticatorCount{}
	}
	slices.SortFunc(st.ByAuthenticator, func(a, b AuthenticatorCount) int {
		if c := cmp.Compare(b.Passkeys, a.Passkeys); c != 0 {
			return c
		}
		return cmp.Compare(a.AAGUID, b.AAGUID)
	})
}
