// make-fixture.mjs drives the real Auth.js passkey flow (@auth/core Auth() with the
// Passkey provider) against Redis through @auth/unstorage-adapter and unstorage's
// Redis driver, with a minimal software authenticator playing the browser, and
// prints, as JSON on stdout, every Redis command the adapter sent and every key it
// left behind after each step. passkeyctl's Redis backend is compared against it.
//
// Usage: npm ci && node make-fixture.mjs > unstorage-redis.json
// Needs Redis at REDIS_URL (default redis://127.0.0.1:6379/13); the database must be
// empty (the script refuses otherwise) and the script deletes the keys it created.
import crypto from "node:crypto";
import fs from "node:fs";
import { Auth } from "@auth/core";
import Passkey from "@auth/core/providers/passkey";
import { UnstorageAdapter } from "@auth/unstorage-adapter";
import { createStorage, normalizeKey } from "unstorage";
import redisDriver from "unstorage/drivers/redis";
import Redis from "ioredis";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379/13";
const ORIGIN = "http://localhost:3000";
const EMAIL = "fixture@example.com";
// Test-only key, the same as in the Prisma fixture (authjs-registration-postgres.json),
// so the stored credentialPublicKey is byte-identical to the one in that fixture.
const KEY1_JWK = {
  kty: "EC",
  x: "wBgRkRLFkDw6mHoF7Cf28ye03DL4Jrs9lspweFQwA2s",
  y: "ZLbNNdO6oJ_2NtR8_An2CHU8ASi_rqmwaztKfyYows4",
  crv: "P-256",
  d: "w-X3BaAL4SVst9u4pyM_okmDeAX6AqaztiH-jvWMLw0",
};
// A second fixed test-only key for the user's second passkey.
const KEY2_JWK = {
  kty: "EC",
  x: "4dUzmyw1U_POaD86q2VtjKVq6MuizrJ6zsz24A7xDm0",
  y: "o01rhd-70RfPhXlRMcIRBhWtabpxTsYPFPRAJEOe9lc",
  crv: "P-256",
  d: "pDD2Xkp1wxHcvh9ZbaRtvBirYpr4Zxnxn3Teou-pc6A",
};
// Raw credential IDs chosen so that their standard base64 form (what Auth.js stores)
// has "+", "/", "//", "=" (passkey 1) and a leading and trailing "/" (passkey 2):
// the characters unstorage's key normalisation rewrites.
const CRED1_B64 = "PasskeyCtl+Fixture/One//Redis+Key/w=";
const CRED2_B64 = "/Second+Passkey//Same+User+Redis+ab/";

const log = (...a) => process.stderr.write(a.join(" ") + "\n");

// ---------------------------------------------------------------- CBOR (tiny encoder)
function cborHead(major, n) {
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
  if (n < 0x10000) return Buffer.from([(major << 5) | 25, n >> 8, n & 0xff]);
  throw new Error("cbor: length too large");
}
const cborInt = (n) => (n >= 0 ? cborHead(0, n) : cborHead(1, -1 - n));
const cborBytes = (b) => Buffer.concat([cborHead(2, b.length), b]);
const cborText = (s) => Buffer.concat([cborHead(3, Buffer.byteLength(s)), Buffer.from(s)]);
const cborMap = (entries) => Buffer.concat([cborHead(5, entries.length), ...entries.flat()]);

// ---------------------------------------------------------------- software authenticator
const sha256 = (b) => crypto.createHash("sha256").update(b).digest();
const b64url = (b) => Buffer.from(b).toString("base64url");

/** A passkey: an ES256 key pair and a credential ID; it signs like a platform authenticator. */
class SoftPasskey {
  constructor(jwk, credentialIdB64) {
    this.jwk = jwk;
    this.privateKey = crypto.createPrivateKey({ key: jwk, format: "jwk" });
    this.id = Buffer.from(credentialIdB64, "base64");
    if (this.id.toString("base64") !== credentialIdB64) throw new Error("credential ID is not canonical base64");
    this.counter = 0;
  }
  cose() {
    return cborMap([
      [cborInt(1), cborInt(2)], // kty: EC2
      [cborInt(3), cborInt(-7)], // alg: ES256
      [cborInt(-1), cborInt(1)], // crv: P-256
      [cborInt(-2), cborBytes(Buffer.from(this.jwk.x, "base64url"))],
      [cborInt(-3), cborBytes(Buffer.from(this.jwk.y, "base64url"))],
    ]);
  }
  // flags UP(0x01) | UV(0x04) | BE(0x08) | BS(0x10), plus AT(0x40) when attested data follows.
  authData(rpId, attested) {
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(this.counter);
    const parts = [sha256(rpId), Buffer.from([attested ? 0x5d : 0x1d]), counter];
    if (attested) {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(this.id.length);
      parts.push(Buffer.alloc(16), len, this.id, this.cose());
    }
    return Buffer.concat(parts);
  }
  create(options) {
    if (!options.pubKeyCredParams.some((p) => p.alg === -7)) throw new Error("RP does not accept ES256");
    for (const ex of options.excludeCredentials ?? []) {
      if (Buffer.from(ex.id, "base64url").equals(this.id)) throw new Error("InvalidStateError: credential excluded");
    }
    const clientDataJSON = Buffer.from(
      JSON.stringify({ type: "webauthn.create", challenge: options.challenge, origin: ORIGIN, crossOrigin: false }),
    );
    const attestationObject = cborMap([
      [cborText("fmt"), cborText("none")],
      [cborText("attStmt"), cborMap([])],
      [cborText("authData"), cborBytes(this.authData(options.rp.id, true))],
    ]);
    this.userHandle = options.user.id;
    return {
      id: b64url(this.id),
      rawId: b64url(this.id),
      type: "public-key",
      response: {
        clientDataJSON: b64url(clientDataJSON),
        attestationObject: b64url(attestationObject),
        transports: ["hybrid", "internal"],
      },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    };
  }
  get(options) {
    this.counter += 1;
    const clientDataJSON = Buffer.from(
      JSON.stringify({ type: "webauthn.get", challenge: options.challenge, origin: ORIGIN, crossOrigin: false }),
    );
    const authData = this.authData(options.rpId, false);
    const signature = crypto.sign("sha256", Buffer.concat([authData, sha256(clientDataJSON)]), this.privateKey);
    return {
      id: b64url(this.id),
      rawId: b64url(this.id),
      type: "public-key",
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        // @simplewebauthn/browser 9 returns the user handle decoded as UTF-8.
        userHandle: this.userHandle,
      },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    };
  }
}

// ---------------------------------------------------------------- browser (cookie jar + Auth())
/** A browser profile: its own cookie jar, talking to one Auth.js app. */
class Browser {
  constructor(authConfig) {
    this.config = authConfig;
    this.jar = new Map();
  }
  async request(method, path, form) {
    const headers = new Headers();
    if (this.jar.size) headers.set("cookie", [...this.jar].map(([k, v]) => `${k}=${v}`).join("; "));
    let body;
    if (form) {
      headers.set("content-type", "application/x-www-form-urlencoded");
      body = new URLSearchParams(form).toString();
    }
    const res = await Auth(new Request(ORIGIN + path, { method, headers, body }), this.config);
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(";");
      const i = pair.indexOf("=");
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a));
      if (!value || expired) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, location: res.headers.get("location"), json, text };
  }
  // What next-auth/webauthn's signIn("passkey", { action }) does in a browser.
  async options(action, email) {
    const q = new URLSearchParams({ action });
    if (email) q.set("email", email);
    return this.request("GET", `/auth/webauthn-options/passkey?${q}`);
  }
  async callback(action, credential) {
    const csrf = await this.request("GET", "/auth/csrf");
    return this.request("POST", "/auth/callback/passkey", {
      action,
      data: JSON.stringify(credential),
      csrfToken: csrf.json.csrfToken,
      callbackUrl: ORIGIN,
    });
  }
  sessionToken() {
    return this.jar.get("authjs.session-token");
  }
}

// ---------------------------------------------------------------- Redis observation
const observer = new Redis(REDIS_URL, { lazyConnect: true });
let monitor;
let monitorParent;
let adapterClientAddrs = new Set();
let commands = [];
let snapshotBefore = new Map();

async function readKey(key) {
  const type = await observer.type(key);
  const ttl = await observer.ttl(key);
  let value;
  switch (type) {
    case "string":
      value = await observer.get(key);
      break;
    case "hash":
      value = await observer.hgetall(key);
      break;
    case "list":
      value = await observer.lrange(key, 0, -1);
      break;
    case "set":
      value = (await observer.smembers(key)).sort();
      break;
    case "zset":
      value = await observer.zrange(key, 0, -1, "WITHSCORES");
      break;
    default:
      value = null;
  }
  const entry = { type, ttl, value };
  if (type === "string") {
    try {
      const parsed = JSON.parse(value);
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) entry.jsonKeyOrder = Object.keys(parsed);
    } catch {
      entry.notJson = true;
    }
  }
  return entry;
}

async function snapshot() {
  const keys = [];
  let cursor = "0";
  do {
    const [next, batch] = await observer.scan(cursor, "MATCH", "*", "COUNT", 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== "0");
  keys.sort();
  const snap = new Map();
  for (const k of keys) snap.set(k, await readKey(k));
  return snap;
}

const allKeysSeen = new Set();

/** Starts recording a step: clears the command log and remembers the keys. */
async function beginStep() {
  commands = [];
  snapshotBefore = await snapshot();
}

/** Ends a step: the adapter's commands in order, and the keys created, changed, removed. */
async function endStep() {
  await new Promise((r) => setTimeout(r, 300)); // let MONITOR deliver the last lines
  const after = await snapshot();
  const keysWritten = {};
  const keysChanged = {};
  const keysRemoved = [];
  for (const [k, v] of after) {
    allKeysSeen.add(k);
    const b = snapshotBefore.get(k);
    if (!b) keysWritten[k] = v;
    else if (JSON.stringify(b) !== JSON.stringify(v)) keysChanged[k] = { before: b, after: v };
  }
  for (const k of snapshotBefore.keys()) if (!after.has(k)) keysRemoved.push(k);
  const redisCommands = commands;
  commands = [];
  return { redisCommands, keysWritten, keysChanged, keysRemoved };
}

async function addrOf(client) {
  const info = await client.client("INFO");
  return /(?:^| )addr=(\S+)/.exec(info)[1];
}

// ---------------------------------------------------------------- one Auth.js app
const apps = [];
let startedEmpty = false;

function makeApp({ driverOptions, adapterOptions }) {
  const driver = redisDriver({ url: REDIS_URL, ...driverOptions });
  const storage = createStorage({ driver });
  const errors = [];
  const config = {
    adapter: UnstorageAdapter(storage, adapterOptions),
    providers: [Passkey({})],
    experimental: { enableWebAuthn: true },
    secret: "test-only-secret-for-the-unstorage-redis-fixture-0123456789",
    trustHost: true,
    basePath: "/auth",
    logger: {
      error: (e) => {
        errors.push(String(e?.cause?.err ?? e?.message ?? e));
        log("[auth][error]", e?.stack ?? e, e?.cause?.err?.stack ?? "");
      },
      warn: (code) => log("[auth][warn]", code),
      debug: () => {},
    },
  };
  const app = { driver, storage, config, errors };
  apps.push(app);
  return app;
}

async function attachMonitor(app) {
  // The driver connects lazily; the CLIENT INFO call itself is sent before MONITOR
  // starts, so it does not show up in the recorded commands.
  adapterClientAddrs.add(await addrOf(app.driver.getInstance()));
}

function registrationRecord(opts, cred, res, step) {
  return {
    optionsHttpStatus: opts.status,
    optionsJSON: opts.json?.options ?? opts.json,
    responseJSON: cred,
    httpStatus: res.status,
    redirect: res.location,
    ...step,
  };
}

async function register(browser, passkey, email) {
  await beginStep();
  const opts = await browser.options("register", email);
  if (opts.status !== 200 || opts.json?.action !== "register") {
    return { refused: true, optionsHttpStatus: opts.status, optionsBody: opts.json ?? opts.text, ...(await endStep()) };
  }
  const cred = passkey.create(opts.json.options);
  const res = await browser.callback("register", cred);
  return registrationRecord(opts, cred, res, await endStep());
}

async function authenticate(browser, passkey) {
  await beginStep();
  const opts = await browser.options("authenticate");
  const cred = passkey.get(opts.json.options);
  const res = await browser.callback("authenticate", cred);
  return {
    optionsJSON: opts.json.options,
    responseJSON: cred,
    httpStatus: res.status,
    redirect: res.location,
    counterAfter: passkey.counter,
    ...(await endStep()),
  };
}

function versionOf(pkgDir) {
  return JSON.parse(fs.readFileSync(new URL(`./node_modules/${pkgDir}/package.json`, import.meta.url))).version;
}

// ---------------------------------------------------------------- main
async function main() {
  await observer.connect();
  const dbsize = await observer.dbsize();
  if (dbsize !== 0) throw new Error(`${REDIS_URL} holds ${dbsize} keys; use an empty database (REDIS_URL=redis://host:port/N)`);
  startedEmpty = true;
  const redisVersion = /redis_version:(\S+)/.exec(await observer.info("server"))[1];
  const dbNumber = Number(new URL(REDIS_URL).pathname.slice(1) || 0);

  monitorParent = new Redis(REDIS_URL);
  monitor = await monitorParent.monitor();
  monitor.on("monitor", (time, args, source, database) => {
    if (Number(database) === dbNumber && adapterClientAddrs.has(source)) commands.push(args);
  });

  const pk1 = new SoftPasskey(KEY1_JWK, CRED1_B64);
  const pk2 = new SoftPasskey(KEY2_JWK, CRED2_B64);

  // ---- Run 1: the adapter's and the driver's default options.
  const app = makeApp({ driverOptions: {}, adapterOptions: {} });
  await attachMonitor(app);
  const laptop = new Browser(app.config);
  const registration = await register(laptop, pk1, EMAIL);
  const registrationSession = laptop.sessionToken();

  const phone = new Browser(app.config); // signed out: a fresh browser
  const authentication = await authenticate(phone, pk1);

  // Auth.js refuses to register a new passkey for an existing e-mail when signed out.
  const stranger = new Browser(app.config);
  await beginStep();
  const refusedOpts = await stranger.options("register", EMAIL);
  const registerExistingEmailSignedOut = {
    optionsHttpStatus: refusedOpts.status,
    optionsBody: refusedOpts.json ?? refusedOpts.text,
    ...(await endStep()),
  };

  // A second passkey for the same user: allowed only while signed in (the session
  // from the first registration); the options then carry the user's excludeCredentials.
  const secondPasskey = await register(laptop, pk2);
  // Sign in with the first (now older) passkey, then with the second: shows how
  // updateAuthenticatorCounter rewrites authenticator:by-user-id:{userId}.
  const authenticationOlderPasskey = await authenticate(new Browser(app.config), pk1);
  const tablet = new Browser(app.config);
  const authenticationSecondPasskey = await authenticate(tablet, pk2);
  // Sign-out (deleteSession) on the last browser.
  await beginStep();
  const csrf = await tablet.request("GET", "/auth/csrf");
  const out = await tablet.request("POST", "/auth/signout", { csrfToken: csrf.json.csrfToken, callbackUrl: ORIGIN });
  const signOutLastBrowser = { httpStatus: out.status, redirect: out.location, ...(await endStep()) };

  // ---- Run 2: non-default prefixes (adapter baseKeyPrefix, driver base).
  const appPrefixed = makeApp({ driverOptions: { base: "myapp" }, adapterOptions: { baseKeyPrefix: "app2:" } });
  await attachMonitor(appPrefixed);
  const pk1b = new SoftPasskey(KEY1_JWK, CRED1_B64);
  const prefixedBrowser = new Browser(appPrefixed.config);
  const prefixedRegistration = await register(prefixedBrowser, pk1b, EMAIL);
  const prefixedAuthentication = await authenticate(new Browser(appPrefixed.config), pk1b);

  // ---- Run 3: useItemRaw: true (the adapter's other value encoding), base "rawmode".
  const appRaw = makeApp({ driverOptions: { base: "rawmode" }, adapterOptions: { useItemRaw: true } });
  await attachMonitor(appRaw);
  const pk1c = new SoftPasskey(KEY1_JWK, CRED1_B64);
  const rawRegistration = await register(new Browser(appRaw.config), pk1c, EMAIL);
  rawRegistration.authErrorsLogged = appRaw.errors;

  // ---- Observations, computed from what Redis holds (the script fails if a claim is false).
  const finalKeys = await snapshot();
  const userId = finalKeys.get(`user:email:${EMAIL}`).value; // a bare string, not JSON
  const keyOf = (prefix, id) => {
    const k = normalizeKey(prefix + id);
    if (!finalKeys.has(k)) throw new Error(`expected key ${k} in Redis`);
    return k;
  };
  const keyNormalisation = [CRED1_B64, CRED2_B64].map((id) => ({
    credentialID: id,
    authenticatorKey: keyOf("authenticator:", id),
    accountKey: keyOf("user:account:passkey:", id),
  }));
  const steps = {
    registration,
    authentication,
    secondPasskeySameUserSignedIn: secondPasskey,
    authenticationOlderPasskey,
    authenticationSecondPasskey,
  };
  const listKey = `authenticator:by-user-id:${userId}`;
  // Every SET of the user's credential-ID list in each step (each step rewrites it).
  const authenticatorListWrites = Object.fromEntries(
    Object.entries(steps).map(([name, st]) => [
      name,
      st.redisCommands.filter((c) => c[0] === "set" && c[1] === listKey).map((c) => c[2]),
    ]),
  );
  const orderOf = (k) => finalKeys.get(k).jsonKeyOrder;
  const sessionKey = [...finalKeys.keys()].find((k) => k.startsWith("user:session:") && !k.includes("by-user-id"));
  const observations = {
    unstorageNormalizeKeySource: normalizeKey.toString(),
    keyNormalisation,
    jsonKeyOrder: {
      user: orderOf(`user:${userId}`),
      account: orderOf(keyNormalisation[0].accountKey),
      authenticator: orderOf(keyNormalisation[0].authenticatorKey),
      session: orderOf(sessionKey),
    },
    sampleSessionExpires: JSON.parse(finalKeys.get(sessionKey).value).expires,
    authenticatorListWrites,
    userAccountByUserIdAfterSecondPasskey: finalKeys.get(`user:account:by-user-id:${userId}`).value,
  };

  const fixture = {
    generatedBy:
      `real @auth/core ${versionOf("@auth/core")} Auth() with the Passkey provider (experimental.enableWebAuthn, defaults, ` +
      `database sessions) + @auth/unstorage-adapter ${versionOf("@auth/unstorage-adapter")} ` +
      `(its own nested @auth/core ${versionOf("@auth/unstorage-adapter/node_modules/@auth/core")}) + ` +
      `unstorage ${versionOf("unstorage")} redis driver + ioredis ${versionOf("ioredis")} + ` +
      `@simplewebauthn/server ${versionOf("@simplewebauthn/server")}, Redis ${redisVersion}, Node ${process.version}, ` +
      `software authenticator (ES256, fmt none, flags UP|UV|BE|BS); every step driven over HTTP Requests ` +
      `(GET /auth/webauthn-options/passkey, POST /auth/callback/passkey) as next-auth/webauthn does; ` +
      `redisCommands recorded with MONITOR (the adapter's connection only), keys with SCAN/TYPE/TTL/GET`,
    versions: {
      "@auth/core": versionOf("@auth/core"),
      "@auth/unstorage-adapter": versionOf("@auth/unstorage-adapter"),
      "@auth/core (nested under @auth/unstorage-adapter)": versionOf("@auth/unstorage-adapter/node_modules/@auth/core"),
      unstorage: versionOf("unstorage"),
      ioredis: versionOf("ioredis"),
      "@simplewebauthn/server": versionOf("@simplewebauthn/server"),
      destr: versionOf("destr"),
      redis: redisVersion,
      node: process.version,
    },
    rp: { id: "localhost", origin: ORIGIN, name: "localhost:3000" },
    testOnlyPrivateKeyJwk: KEY1_JWK,
    testOnlyPrivateKeyJwkSecondPasskey: KEY2_JWK,
    observations,
    credentialIds: {
      passkey1: { base64: CRED1_B64, base64url: b64url(pk1.id) },
      passkey2: { base64: CRED2_B64, base64url: b64url(pk2.id) },
    },
    defaultOptions: {
      driverOptions: { url: REDIS_URL },
      adapterOptions: {},
      registration: { ...registration, sessionTokenCookie: registrationSession },
      authentication,
      registerExistingEmailSignedOut,
      secondPasskeySameUserSignedIn: secondPasskey,
      authenticationOlderPasskey,
      authenticationSecondPasskey,
      signOutLastBrowser,
      finalKeys: Object.fromEntries(
        [...finalKeys].filter(([k]) => !k.startsWith("myapp:") && !k.startsWith("rawmode:")),
      ),
    },
    prefixedOptions: {
      driverOptions: { url: REDIS_URL, base: "myapp" },
      adapterOptions: { baseKeyPrefix: "app2:" },
      registration: prefixedRegistration,
      authentication: prefixedAuthentication,
    },
    useItemRawOptions: {
      driverOptions: { url: REDIS_URL, base: "rawmode" },
      adapterOptions: { useItemRaw: true },
      registration: rawRegistration,
    },
  };
  process.stdout.write(JSON.stringify(fixture, null, 2) + "\n");
}

try {
  await main();
} finally {
  // Remove only the keys this run created: the database was empty when it started.
  if (startedEmpty) {
    for (const k of await snapshot().then((s) => [...s.keys()]).catch(() => [])) allKeysSeen.add(k);
    if (allKeysSeen.size) await observer.del(...allKeysSeen);
    log(`removed ${allKeysSeen.size} keys`);
  }
  monitor?.disconnect();
  monitorParent?.disconnect();
  for (const a of apps) await a.storage.dispose();
  observer.disconnect();
}
