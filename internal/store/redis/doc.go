// Package redis is passkeyctl's backend for Auth.js apps that keep their
// users and passkeys in Redis through @auth/unstorage-adapter and
// unstorage's Redis driver: the only way an Auth.js app on Redis, Upstash
// or Vercel KV gets passkeys. It reads and writes the keys exactly as that
// adapter does: *Store implements store.Store (find a user, list, resolve,
// revoke, enrol, update a counter, export and import) with the domain
// values of internal/passkey, so that every command works on it as on the
// SQL apps.
//
// # What the adapter stores
//
// testdata/unstorage-redis.json records what the real @auth/core 0.41.3
// Passkey flow wrote through @auth/unstorage-adapter 2.11.2 and unstorage
// 1.17.6 (see its README and make-fixture.mjs). With the default layout:
//
//	user:{id}                            {"email","id"}            (JSON)
//	user:email:{email}                   {id}                      (bare string)
//	user:account:{provider}:{credID}     {"providerAccountId","provider","type":"webauthn","userId","id"}
//	user:account:by-user-id:{id}         user:account:{provider}:{credID}  (the LAST account linked)
//	authenticator:{credID}               {"providerAccountId","counter","credentialID",
//	                                      "credentialPublicKey","credentialBackedUp",
//	                                      "credentialDeviceType","transports","userId"}
//	authenticator:by-user-id:{id}        ["credID", ...]  newest first, duplicates kept
//	user:session:{token}                 {"sessionToken","userId","expires"}
//	user:session:by-user-id:{id}         user:session:{token}  (the latest session)
//
// All are strings without TTL, compact JSON.stringify output. Every key is
// passed through unstorage's normalizeKey (NormalizeKey) whole, prefixes
// included, so credential IDs in standard base64 lose their "/"s in key
// names, and two IDs can share a key. A key name is therefore never read
// back as an ID: the ID comes from the value, and a value that names
// another credential than the one the key is built from is not that
// credential's. The by-user-id pointers' values are item keys before
// normalisation and without the driver's base (Layout.PointerKey).
//
// # Decisions
//
//   - Atomicity: every write (CreatePasskey, UpdateCounter, Revoke, Import)
//     is one MULTI/EXEC under WATCH of every key it read, retried when a
//     watched key changes (up to maxTxRetries). The new values are computed
//     in Go rather than in a Lua script because they must be JSON.stringify's
//     bytes, which Redis's cjson does not produce (it escapes "/").
//   - Order: ListPasskeys orders by user then credential ID like the SQL
//     stores, from a compact index of (user, credential) pairs (about 90
//     bytes per passkey); Export streams in SCAN order with flat memory.
//   - Reads never use KEYS: SCAN with MATCH on the stored prefix, values by
//     pipelined MGETs of batchSize keys.
//   - A user's passkeys are found by SCAN too, not from the user's list: the
//     adapter signs in with any authenticator key, listed or not.
//   - useItemRaw: the fixture shows the adapter failing with the Redis
//     driver in that mode (it hands objects to the driver); there is no such
//     app to serve, and this package reads the JSON-string values only.
//   - Layout detection: the layout comes from the DSN (the adapter's
//     defaults when absent); Survey counts what that layout reads and names
//     the stems under which other authenticator values sit, so that a DSN
//     with the wrong base or baseKeyPrefix can be reported, not silently
//     listed as empty.
//   - Redis Cluster is not supported: SCAN and MULTI/EXEC here assume one
//     node (Upstash and Vercel KV expose one).
package redis
