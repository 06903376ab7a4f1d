#!/usr/bin/env node
// A real OpenID Connect provider for the tests: the `oidc-provider` package (not a mock that
// signs tokens), on loopback, with three people and the clients lockd's tests need. Used by
// the browser tests `e2e/oidc.spec.ts` and `e2e/secure.spec.ts` and by the Rust real-process tests.
//
// Start:
//   node web/e2e/idp/server.mjs --port <n|0> [--access-token-ttl-secs 300] [--redirect-uri <uri> ...]
// It binds 127.0.0.1 only. When it listens it prints ONE line to stdout, and nothing before:
//   {"issuer":"http://127.0.0.1:PORT","port":PORT}
// (the provider's own notices go to stderr). SIGTERM or SIGINT stops it (exit 0).
//
// Issuer: http://127.0.0.1:PORT (no trailing slash). Discovery:
// /.well-known/openid-configuration; keys at its jwks_uri (/jwks). Other endpoints as the
// discovery says: /auth, /token, /me (userinfo), /session/end (logout), /token/revocation,
// /token/introspection.
//
// Signing keys: RSA 2048, generated at start, RS256, each with a `kid`; the first (newest)
// signs. Access tokens are JWTs (RS256, header typ at+jwt) for the resource `urn:lockd`
// (the default: clients need not send `resource`), aud "urn:lockd", `sub` the account id,
// `client_id`, `scope` the granted part of "openid profile email offline_access" (oidc-provider
// grants offline_access only to a request with prompt=consent, so a browser's token reads
// "openid profile email"; its refresh token then lasts as long as the IdP session), and in
// every access token `name`, `email` and Keycloak's `realm_access: { roles: [...] }`. The ID
// token (aud lockd-web) carries `name`, `email` and `email_verified` too.
//
// People (any of them signs in by typing the account id; there is no password):
//   alice  "Alice Admin"    alice@example.com  roles ["lockd-admin", "lockd-user"]
//   bob    "Bob User"       bob@example.com    roles ["lockd-user"]
//   carol  "Carol Outsider" carol@example.com  roles []
// Sign-in page (/interaction/<uid>): a field labelled "Account" (name="login") and a button
// "Sign in"; an unknown account is refused on the same page. Consent is AUTOMATIC: the
// consent prompt is answered by the server itself (all requested scopes granted), so the
// person never sees it. Sign-out (/session/end) asks nothing either: its page submits itself
// ("Yes, sign me out" is shown only to a browser without JavaScript).
//
// Clients:
//   lockd-web    public SPA client: token_endpoint_auth_method none, authorization code + PKCE
//                (S256), refresh tokens always issued (scope offline_access or not), grant
//                types authorization_code and refresh_token. Redirect URIs: any
//                http://127.0.0.1:<port>/auth/callback or http://localhost:<port>/auth/callback
//                (registered as application_type "native", for which oidc-provider ignores the
//                port of a loopback redirect, as RFC 8252 section 7.3 allows), the same on
//                https (a cluster serving HTTPS on loopback, e2e/secure.spec.ts: see
//                `allowHttpsLoopback`), plus each --redirect-uri given exactly. Post-logout
//                redirect: the app's "/" on those hosts (any port, http or https) and each
//                --redirect-uri's origin + "/". CORS on the token and other endpoints: from any
//                http(s)://127.0.0.1:<port> or http(s)://localhost:<port> origin and the
//                --redirect-uri origins.
//   test-alice, test-bob, test-carol
//                confidential clients, secret "test-secret" (client_secret_basic or
//                client_secret_post), grant type client_credentials. Their access token is a
//                JWT for urn:lockd whose `sub` is the account id (alice, bob, carol) with that
//                account's name, email and realm_access.roles; client_id stays test-<id>.
//   e.g. curl -s -u test-alice:test-secret -d grant_type=client_credentials http://127.0.0.1:PORT/token
//
// Test-only admin endpoints (no authentication; loopback only; JSON answers):
//   POST /test/rotate-keys      a new RSA key signs from now on; the older keys stay published.
//                               Answers {"kids":[newest, ..., oldest]}.
//   POST /test/retire-old-keys  publishes (and keeps) only the newest key. Answers {"kids":[newest]}.
//   GET  /test/keys             {"kids":[...]} as published now.
// oidc-provider's keystore is fixed per Provider instance, so both build a new Provider with
// the new key set and the HTTP server hands every later request to it. Nothing is lost across
// the swap: all Provider instances in this process share oidc-provider's in-memory adapter
// (sessions, grants, refresh tokens, interactions) and the same cookie keys, so a browser's
// IdP session and an app's refresh token keep working. Tokens already issued keep their old
// `kid`; after /test/retire-old-keys they no longer verify against the JWKS.

import { generateKeyPairSync, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { parseArgs } from "node:util";

// oidc-provider prints its notices with console.info (stdout); stdout carries only our line.
console.info = console.error;
console.log = console.error;

const { default: Provider, errors } = await import("oidc-provider");

const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    "access-token-ttl-secs": { type: "string", default: "300" },
    "redirect-uri": { type: "string", multiple: true, default: [] },
  },
});
const port = Number(args.port);
const accessTokenTtl = Number(args["access-token-ttl-secs"]);
if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad --port ${args.port}`);
if (!Number.isInteger(accessTokenTtl) || accessTokenTtl < 1) throw new Error(`bad --access-token-ttl-secs ${args["access-token-ttl-secs"]}`);
const extraRedirectUris = args["redirect-uri"];
const extraOrigins = new Set(extraRedirectUris.map((uri) => new URL(uri).origin));

const RESOURCE = "urn:lockd";
const SCOPES = "openid profile email offline_access";
const CLIENT_SECRET = "test-secret";

const ACCOUNTS = {
  alice: { name: "Alice Admin", email: "alice@example.com", roles: ["lockd-admin", "lockd-user"] },
  bob: { name: "Bob User", email: "bob@example.com", roles: ["lockd-user"] },
  carol: { name: "Carol Outsider", email: "carol@example.com", roles: [] },
};
const accountOf = (id) => (Object.hasOwn(ACCOUNTS, id) ? ACCOUNTS[id] : undefined);
/** The claims every access token of `accountId` carries. */
const personClaims = (accountId) => {
  const account = accountOf(accountId);
  if (!account) return undefined;
  return { name: account.name, email: account.email, realm_access: { roles: [...account.roles] } };
};

// ---- keys

let keySerial = 0;
const keyPrefix = randomBytes(3).toString("hex");
function newSigningKey() {
  keySerial += 1;
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { ...privateKey.export({ format: "jwk" }), kid: `lockd-test-${keyPrefix}-${keySerial}`, alg: "RS256", use: "sig" };
}
/** Newest first: oidc-provider signs with the first key that fits. */
let keys = [newSigningKey()];
const kids = () => keys.map((k) => k.kid);

// ---- storage shared by every Provider instance of this process (see the key swap above)

/** oidc-provider's own memory adapter keeps one store per Provider; this one is shared, so a
 * swap of Provider (new keys) keeps sessions, grants, refresh tokens and interactions. */
const store = new Map(); // "Model:id" -> { payload, expiresAt }
const grantMembers = new Map(); // grantId -> Set of "Model:id"
const sessionByUid = new Map(); // uid -> session id
const byUserCode = new Map(); // userCode -> id
const live = (key) => {
  const entry = store.get(key);
  if (entry && entry.expiresAt <= Date.now()) {
    store.delete(key);
    return undefined;
  }
  return entry;
};
class SharedAdapter {
  constructor(model) {
    this.model = model;
  }
  key(id) {
    return `${this.model}:${id}`;
  }
  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    store.set(key, { payload, expiresAt: typeof expiresIn === "number" ? Date.now() + expiresIn * 1000 : Infinity });
    if (payload.grantId) {
      if (!grantMembers.has(payload.grantId)) grantMembers.set(payload.grantId, new Set());
      grantMembers.get(payload.grantId).add(key);
    }
    if (this.model === "Session" && payload.uid) sessionByUid.set(payload.uid, id);
    if (payload.userCode) byUserCode.set(payload.userCode, id);
  }
  async find(id) {
    return live(this.key(id))?.payload;
  }
  async findByUid(uid) {
    const id = sessionByUid.get(uid);
    return id === undefined ? undefined : this.find(id);
  }
  async findByUserCode(userCode) {
    const id = byUserCode.get(userCode);
    return id === undefined ? undefined : this.find(id);
  }
  async consume(id) {
    const entry = live(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id) {
    store.delete(this.key(id));
  }
  async revokeByGrantId(grantId) {
    for (const key of grantMembers.get(grantId) ?? []) store.delete(key);
    grantMembers.delete(grantId);
  }
}

// ---- the provider

const isLoopbackOrigin = (origin, protocols = ["http:", "https:"]) => {
  const url = URL.parse(origin);
  return !!url && protocols.includes(url.protocol) && (url.hostname === "127.0.0.1" || url.hostname === "localhost") && url.origin === origin;
};
/** `uri` is exactly https://<loopback host>:<any port><path>. */
const isHttpsLoopback = (uri, path) => {
  const url = URL.parse(uri);
  return !!url && isLoopbackOrigin(url.origin, ["https:"]) && uri === `${url.origin}${path}`;
};

/** The web app served over HTTPS on loopback (a test cluster with --tls-cert-file) returns to
 * its callback on whatever port the test picked, like the http one. oidc-provider cannot be
 * told so by registration: it refuses a loopback https redirect URI for a native client, and
 * its port-free match (RFC 8252 section 7.3) is for http only. So this provider's client class
 * allows it too, the way oidc-provider's own recipe for redirect URI wildcards extends
 * `redirectUriAllowed` (recipes/redirect_uri_wildcards.md); only for lockd-web. */
function allowHttpsLoopback(provider) {
  const { redirectUriAllowed, postLogoutRedirectUriAllowed } = provider.Client.prototype;
  provider.Client.prototype.redirectUriAllowed = function (value) {
    return redirectUriAllowed.call(this, value) || (this.clientId === "lockd-web" && isHttpsLoopback(value, "/auth/callback"));
  };
  provider.Client.prototype.postLogoutRedirectUriAllowed = function (value) {
    return postLogoutRedirectUriAllowed.call(this, value) || (this.clientId === "lockd-web" && isHttpsLoopback(value, "/"));
  };
}

const clients = [
  {
    client_id: "lockd-web",
    client_name: "lockd",
    application_type: "native",
    token_endpoint_auth_method: "none",
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    redirect_uris: ["http://127.0.0.1/auth/callback", "http://localhost/auth/callback", ...extraRedirectUris],
    post_logout_redirect_uris: ["http://127.0.0.1/", "http://localhost/", ...[...extraOrigins].map((o) => `${o}/`)],
  },
  ...Object.keys(ACCOUNTS).map((id) => ({
    client_id: `test-${id}`,
    client_secret: CLIENT_SECRET,
    token_endpoint_auth_method: "client_secret_basic",
    grant_types: ["client_credentials"],
    response_types: [],
    redirect_uris: [],
  })),
];
const accountOfTestClient = (clientId) => (clientId?.startsWith("test-") ? clientId.slice("test-".length) : undefined);

const cookieKeys = [randomBytes(32).toString("hex")];
const htmlEscape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${htmlEscape(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:22rem;margin:3rem auto;padding:0 1rem}
label,input,button{display:block;width:100%;box-sizing:border-box;font-size:1rem}input,button{padding:.5rem;margin:.25rem 0 1rem}
.error{color:#b00020}.hint{color:#555;font-size:.875rem}</style></head>
<body><h1>${htmlEscape(title)}</h1>${body}</body></html>`;

let issuer = "";

function buildProvider() {
  const provider = new Provider(issuer, {
    clients,
    adapter: SharedAdapter,
    jwks: { keys },
    responseTypes: ["code"],
    cookies: { keys: cookieKeys },
    async findAccount(_ctx, id) {
      const account = accountOf(id);
      if (!account) return undefined;
      return {
        accountId: id,
        async claims() {
          return { sub: id, name: account.name, email: account.email, email_verified: true };
        },
      };
    },
    claims: { openid: ["sub"], profile: ["name"], email: ["email", "email_verified"] },
    conformIdTokenClaims: false,
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.type = "html";
          ctx.body = page(
            "Signing out",
            `${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button>
<script>const f=document.getElementById("op.logoutForm");const i=document.createElement("input");i.type="hidden";i.name="logout";i.value="yes";f.appendChild(i);f.submit();</script>`,
          );
        },
        async postLogoutSuccessSource(ctx) {
          ctx.type = "html";
          ctx.body = page("Signed out", "<p>You are signed out.</p>");
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => RESOURCE,
        useGrantedResource: async () => true,
        async getResourceServerInfo(_ctx, resourceIndicator) {
          if (resourceIndicator !== RESOURCE) throw new errors.InvalidTarget();
          return {
            scope: SCOPES,
            audience: RESOURCE,
            accessTokenFormat: "jwt",
            accessTokenTTL: accessTokenTtl,
            jwt: { sign: { alg: "RS256" } },
          };
        },
      },
    },
    async extraTokenClaims(_ctx, token) {
      if (token.kind === "AccessToken") return personClaims(token.accountId);
      if (token.kind === "ClientCredentials") return personClaims(accountOfTestClient(token.clientId));
      return undefined;
    },
    formats: {
      customizers: {
        // A client_credentials token of test-<id> is about the person <id>.
        async jwt(_ctx, token, jwt) {
          const accountId = token.kind === "ClientCredentials" ? accountOfTestClient(token.clientId) : undefined;
          if (accountId && accountOf(accountId)) jwt.payload.sub = accountId;
        },
      },
    },
    async issueRefreshToken(_ctx, client) {
      return client.grantTypeAllowed("refresh_token");
    },
    clientBasedCORS(_ctx, origin, client) {
      if (client.clientId !== "lockd-web") return false;
      return isLoopbackOrigin(origin) || extraOrigins.has(origin);
    },
    async renderError(ctx, out) {
      ctx.type = "html";
      ctx.body = page(
        "Sign-in error",
        Object.entries(out)
          .map(([k, v]) => `<p class="error"><strong>${htmlEscape(k)}</strong>: ${htmlEscape(v)}</p>`)
          .join(""),
      );
    },
    ttl: {
      AccessToken: accessTokenTtl,
      ClientCredentials: accessTokenTtl,
      AuthorizationCode: 60,
      IdToken: accessTokenTtl,
      RefreshToken: 24 * 3600,
      Interaction: 3600,
      Session: 24 * 3600,
      Grant: 24 * 3600,
      DeviceCode: 600,
      BackchannelAuthenticationRequest: 600,
      PreAuthorizedCode: 600,
    },
  });
  allowHttpsLoopback(provider);
  provider.on("server_error", (_ctx, error) => console.error("idp server_error:", error));
  return { provider, handle: provider.callback() };
}

// ---- the interaction pages (sign-in, automatic consent)

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error("form too large");
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

function loginPage(uid, { login = "", error = "" } = {}) {
  return page(
    "Sign in to the test identity provider",
    `<form method="post" action="/interaction/${htmlEscape(uid)}/login" autocomplete="off">
${error ? `<p class="error" role="alert">${htmlEscape(error)}</p>` : ""}
<label for="login">Account</label>
<input id="login" name="login" type="text" required autofocus value="${htmlEscape(login)}">
<button type="submit">Sign in</button>
</form>
<p class="hint">Accounts: ${Object.keys(ACCOUNTS).map(htmlEscape).join(", ")} (no password).</p>
<form method="post" action="/interaction/${htmlEscape(uid)}/abort"><button type="submit">Cancel</button></form>`,
  );
}

function send(res, status, type, body) {
  res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store" });
  res.end(body);
}

async function interaction(provider, req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error("interaction mismatch");
  const { prompt, params, session, grantId } = details;
  if (req.method === "GET" && !action) {
    if (prompt.name === "login") return send(res, 200, "text/html; charset=utf-8", loginPage(uid));
    if (prompt.name === "consent") {
      // Automatic consent: grant what was asked.
      const grant = grantId ? await provider.Grant.find(grantId) : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
      if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(" "));
      if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
      if (missingResourceScopes) {
        for (const [indicator, scopes] of Object.entries(missingResourceScopes)) grant.addResourceScope(indicator, scopes.join(" "));
      }
      const consent = { grantId: await grant.save() };
      return provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
    }
    return send(res, 501, "text/plain", `prompt ${prompt.name} is not implemented`);
  }
  if (req.method === "POST" && action === "login") {
    const login = ((await readForm(req)).get("login") ?? "").trim();
    if (!accountOf(login)) {
      return send(res, 200, "text/html; charset=utf-8", loginPage(uid, { login, error: `No account "${login}".` }));
    }
    return provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
  }
  if (req.method === "POST" && action === "abort") {
    return provider.interactionFinished(req, res, { error: "access_denied", error_description: "The person cancelled the sign-in." }, { mergeWithLastSubmission: false });
  }
  return send(res, 405, "text/plain", "method not allowed");
}

// ---- the HTTP server

let current = null;
function swapProvider() {
  current = buildProvider();
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", issuer || "http://127.0.0.1");
  if (!current) return send(res, 503, "text/plain", "starting");
  const { provider, handle } = current;
  const fail = (error) => {
    console.error("idp:", error);
    if (!res.headersSent) send(res, 400, "text/plain; charset=utf-8", String(error?.message ?? error));
    else res.end();
  };
  if (url.pathname.startsWith("/test/")) {
    const json = (body) => send(res, 200, "application/json", JSON.stringify(body));
    if (req.method === "POST" && url.pathname === "/test/rotate-keys") {
      keys = [newSigningKey(), ...keys];
      swapProvider();
      console.error(`idp: rotated keys, signing with ${keys[0].kid}`);
      return json({ kids: kids() });
    }
    if (req.method === "POST" && url.pathname === "/test/retire-old-keys") {
      keys = keys.slice(0, 1);
      swapProvider();
      console.error(`idp: retired old keys, publishing only ${keys[0].kid}`);
      return json({ kids: kids() });
    }
    if (req.method === "GET" && url.pathname === "/test/keys") return json({ kids: kids() });
    return send(res, 404, "text/plain", "not found");
  }
  const match = /^\/interaction\/([^/]+)(?:\/(login|abort))?$/.exec(url.pathname);
  if (match) {
    interaction(provider, req, res, match[1], match[2]).catch(fail);
    return;
  }
  handle(req, res);
});

server.listen(port, "127.0.0.1", () => {
  const address = server.address();
  if (typeof address !== "object" || !address) throw new Error("no address");
  issuer = `http://127.0.0.1:${address.port}`;
  swapProvider();
  process.stdout.write(`${JSON.stringify({ issuer, port: address.port })}\n`);
});

const stop = () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
