-- The Auth.js Authenticator table for databases whose Auth.js tables have
-- no foreign keys (Prisma's relationMode = "prisma"): the table of
-- 0001_authenticator.sql with an index on userId, as Prisma's
-- @@index([userId]) makes it, instead of the foreign key to User. A
-- variant of that step, recorded under this file's own name.
CREATE TABLE {{.Authenticator}} (
    "credentialID" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "providerAccountId" TEXT NOT NULL,
    "credentialPublicKey" TEXT NOT NULL,
    "counter" INTEGER NOT NULL,
    "credentialDeviceType" TEXT NOT NULL,
    "credentialBackedUp" BOOLEAN NOT NULL,
    "transports" TEXT,
    PRIMARY KEY ("userId", "credentialID")
);
CREATE UNIQUE INDEX "{{.AuthenticatorName}}_credentialID_key" ON {{.Authenticator}}("credentialID");
CREATE INDEX "{{.AuthenticatorName}}_userId_idx" ON {{.Authenticator}}("userId");
