-- The Auth.js Authenticator table for MySQL/MariaDB databases whose Auth.js
-- tables have no foreign keys (Prisma's relationMode = "prisma", the
-- PlanetScale default; Vitess refuses foreign keys): the table of
-- 0001_authenticator.sql with an index on userId, as Prisma's
-- @@index([userId]) makes it, instead of the foreign key to User, still in
-- one atomic CREATE TABLE. A variant of that step, recorded under this
-- file's own name.
CREATE TABLE {{.Authenticator}} (
    `credentialID` VARCHAR(1364) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    `userId` {{.UserIDType}} NOT NULL,
    `providerAccountId` VARCHAR(1364) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    `credentialPublicKey` TEXT NOT NULL,
    `counter` INTEGER NOT NULL,
    `credentialDeviceType` VARCHAR(191) NOT NULL,
    `credentialBackedUp` BOOLEAN NOT NULL,
    `transports` VARCHAR(255) NULL,
    UNIQUE INDEX `{{.AuthenticatorName}}_credentialID_key`(`credentialID`),
    INDEX `{{.AuthenticatorName}}_userId_idx`(`userId`),
    PRIMARY KEY (`userId`, `credentialID`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
