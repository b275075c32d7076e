-- Better Auth tables first made by Better Auth 1.0's own migrator (npx
-- @better-auth/cli migrate, camelCase, PostgreSQL types), then migrated by later
-- versions: 1.0's passkey table had no credentialID column (its id was the
-- credential ID) and a NOT NULL webauthnUserID, which later migrators never
-- drop; they add credentialID and aaguid.
create table "user" ("id" text not null primary key, "name" text not null, "email" text not null unique, "emailVerified" boolean not null, "image" text, "createdAt" timestamp not null, "updatedAt" timestamp not null);
create table "session" ("id" text not null primary key, "expiresAt" timestamp not null, "token" text not null unique, "createdAt" timestamp not null, "updatedAt" timestamp not null, "ipAddress" text, "userAgent" text, "userId" text not null, FOREIGN KEY ("userId") REFERENCES "user" ("id"));
create table "account" ("id" text not null primary key, "accountId" text not null, "providerId" text not null, "userId" text not null, "accessToken" text, "refreshToken" text, "idToken" text, "accessTokenExpiresAt" timestamp, "refreshTokenExpiresAt" timestamp, "scope" text, "password" text, "createdAt" timestamp not null, "updatedAt" timestamp not null, FOREIGN KEY ("userId") REFERENCES "user" ("id"));
create table "verification" ("id" text not null primary key, "identifier" text not null, "value" text not null, "expiresAt" timestamp not null, "createdAt" timestamp, "updatedAt" timestamp);
create table "passkey" ("id" text not null primary key, "name" text, "publicKey" text not null, "userId" text not null, "webauthnUserID" text not null, "counter" integer not null, "deviceType" text not null, "backedUp" boolean not null, "transports" text, "createdAt" timestamp, FOREIGN KEY ("userId") REFERENCES "user" ("id"));
-- Added by the migrator of Better Auth 1.1.4 and later.
alter table "passkey" add column "credentialID" text not null;
alter table "passkey" add column "aaguid" text;
