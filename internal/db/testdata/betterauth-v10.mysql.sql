-- Better Auth tables first made by Better Auth 1.0's own migrator (npx
-- @better-auth/cli migrate, camelCase, MySQL types), then migrated by later
-- versions: 1.0's passkey table had no credentialID column (its id was the
-- credential ID) and a NOT NULL webauthnUserID, which later migrators never
-- drop; they add credentialID and aaguid.
create table `user` (`id` varchar(36) not null primary key, `name` text not null, `email` varchar(255) not null unique, `emailVerified` boolean not null, `image` text, `createdAt` datetime not null, `updatedAt` datetime not null);
create table `session` (`id` varchar(36) not null primary key, `expiresAt` datetime not null, `token` varchar(255) not null unique, `createdAt` datetime not null, `updatedAt` datetime not null, `ipAddress` text, `userAgent` text, `userId` varchar(36) not null, FOREIGN KEY (`userId`) REFERENCES `user` (`id`));
create table `account` (`id` varchar(36) not null primary key, `accountId` text not null, `providerId` text not null, `userId` varchar(36) not null, `accessToken` text, `refreshToken` text, `idToken` text, `accessTokenExpiresAt` datetime, `refreshTokenExpiresAt` datetime, `scope` text, `password` text, `createdAt` datetime not null, `updatedAt` datetime not null, FOREIGN KEY (`userId`) REFERENCES `user` (`id`));
create table `verification` (`id` varchar(36) not null primary key, `identifier` text not null, `value` text not null, `expiresAt` datetime not null, `createdAt` datetime, `updatedAt` datetime);
create table `passkey` (`id` varchar(36) not null primary key, `name` text, `publicKey` text not null, `userId` varchar(36) not null, `webauthnUserID` text not null, `counter` integer not null, `deviceType` text not null, `backedUp` boolean not null, `transports` text, `createdAt` datetime, FOREIGN KEY (`userId`) REFERENCES `user` (`id`));
-- Added by the migrator of Better Auth 1.1.4 and later.
alter table `passkey` add column `credentialID` text not null;
alter table `passkey` add column `aaguid` text;
