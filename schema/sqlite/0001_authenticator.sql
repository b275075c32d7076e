-- The Auth.js Authenticator table (current schema: composite primary key,
-- unique credentialID, ON DELETE CASCADE to User), as Prisma creates it.
CREATE TABLE {{.Authenticator}} (
    "credentialID" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "providerAccountId" TEXT NOT NULL,
    "credentialPublicKey" TEXT NOT NULL,
    "counter" INTEGER NOT NULL,
    "credentialDeviceType" TEXT NOT NULL,
    "credentialBackedUp" BOOLEAN NOT NULL,
    "transports" TEXT,
    PRIMARY KEY ("userId", "credentialID"),
    CONSTRAINT "{{.AuthenticatorName}}_userId_fkey" FOREIGN KEY ("userId") REFERENCES {{.User}} ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "{{.AuthenticatorName}}_credentialID_key" ON {{.Authenticator}}("credentialID");
