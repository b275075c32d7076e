package passkey

// What Auth.js does the same way whatever adapter stores its passkeys
// (Prisma or Drizzle on SQL, Unstorage on Redis), for the stores of both
// backends to say alike.

// AuthjsRPIDSource says where Auth.js takes its WebAuthn rpID from.
const AuthjsRPIDSource = "the host name of its AUTH_URL"

// AuthjsStranded says what an Auth.js user revoke left without a passkey
// and without an account has lost.
const AuthjsStranded = "no passkey and no other Account left: they cannot sign in with a passkey or an OAuth provider"

// AuthjsExportWarning is the warning an export of an Auth.js app under
// this Passkey provider id deserves: passkeys of the generic "webauthn"
// provider may not be discoverable, and Better Auth's signed-out sign-in
// needs discoverable ones.
func AuthjsExportWarning(providerID string) string {
	if providerID != "webauthn" {
		return ""
	}
	return "passkeys of Auth.js's generic WebAuthn provider may not be discoverable; Better Auth's signed-out passkey sign-in works only with discoverable ones"
}
