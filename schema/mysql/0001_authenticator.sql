-- The Auth.js Authenticator table for MySQL 8 and MariaDB: composite
-- primary key, unique credentialID, ON DELETE CASCADE to User, all in one
-- CREATE TABLE so that the step is atomic even though MySQL DDL commits
-- implicitly.
-- Unlike Prisma's VARCHAR(191) it holds every valid credential: IDs up to
-- 1023 bytes (1364 base64 characters) in ASCII with a binary collation, so
-- IDs compare case-sensitively and the unique index stays inside InnoDB's
-- 3072-byte key limit; the COSE public key as TEXT (RSA keys take 364
-- characters). userId repeats User.id's exact type, character set and
-- collation, or the foreign key would be refused. The foreign key is a
-- table constraint: MySQL before 9 ignores inline column REFERENCES.
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
    PRIMARY KEY (`userId`, `credentialID`),
    CONSTRAINT `{{.AuthenticatorName}}_userId_fkey` FOREIGN KEY (`userId`) REFERENCES {{.User}}(`id`) ON DELETE CASCADE ON UPDATE CASCADE
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
