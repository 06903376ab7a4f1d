// lockd's REST API, one method per route, typed by the OpenAPI document the nodes serve
// (`generated/openapi.ts`, written by openapi-typescript from `openapi.json`; openapi-fetch
// checks each path, parameter, body and answer against it). Each request carries the tab's
// session and token, goes to the node that last worked (`nodes.ts`), feeds its `serverTime`
// to the cluster clock, and turns a refusal into an `ApiError`.

import createClient, { type Client } from "openapi-fetch";
import type { LockCalls } from "./editLock";
import type { paths } from "./generated/openapi";
import { failoverFetch, type NodePool } from "./nodes";
import { ApiError, type Problem } from "./problem";
import { randomId } from "./randomId";
import type { ServerClock } from "./serverClock";
import type { TokenSource } from "./token";
import type { AppointmentUpdate, DraftBody, NewAppointment } from "./types";

type DevLogin = paths["/auth/dev-login"]["post"]["requestBody"]["content"]["application/json"];
type AuditQuery = NonNullable<paths["/audit"]["get"]["parameters"]["query"]>;
type IfMatch = NonNullable<NonNullable<paths["/appointments/{id}"]["put"]["parameters"]["header"]>["If-Match"]>;

/** `If-Match` carries the version the save is based on, as text (the document's pattern takes
 * the `ETag`'s `"7"` or a bare `7`). */
const ifMatch = (version: number): IfMatch => String(version);

export interface ApiOptions {
  pool: NodePool;
  fetch: typeof fetch;
  sessionId: string;
  token: TokenSource;
  clock: ServerClock;
  now: () => number;
  /** A 401: true when a new token was got; the request is then sent once more. */
  onUnauthenticated?: () => Promise<boolean>;
}

/** What openapi-fetch answers: the body of a success (`data`) or of a refusal (`error`). */
interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

type Headers = Record<string, string>;

const path = (id: string) => ({ id });

export class LockdApi implements LockCalls {
  private readonly http: Client<paths>;
  private readonly options: ApiOptions;

  constructor(options: ApiOptions) {
    this.options = options;
    this.http = createClient<paths>({ baseUrl: options.pool.base, fetch: failoverFetch(options.pool, options.fetch) });
  }

  // --- Sign-in

  /** How the cluster signs people in: its identity provider, dev login, both or neither. Asked
   * without a token (the route needs none, and a tab asks before anyone signed in), so a
   * refusal is never taken for an expired sign-in. */
  authConfig() {
    return this.once((headers) => this.http.GET("/auth/config", { headers }), null);
  }

  /** A demo token (dev mode only; 404 elsewhere): `{ token, expiresInSecs }`. */
  devLogin(profile: DevLogin) {
    return this.send((headers) => this.http.POST("/auth/dev-login", { body: profile, headers }));
  }

  /** Who the node takes the token for. `bearer`: ask about that token instead of the tab's
   * (a sign-in not taken yet); its 401 is the answer, nothing is renewed. */
  me(bearer?: string) {
    return this.send((headers) => this.http.GET("/auth/me", { headers }), bearer);
  }

  // --- Appointments

  listAppointments() {
    return this.send((headers) => this.http.GET("/appointments", { headers }));
  }

  getAppointment(id: string) {
    return this.send((headers) => this.http.GET("/appointments/{id}", { params: { path: path(id) }, headers }));
  }

  /** 201 with the new appointment. `idempotencyKey`: the same for a retry of the same body, so
   * a create whose answer was lost is not made twice. */
  createAppointment(body: NewAppointment, idempotencyKey: string) {
    return this.send((headers) => this.http.POST("/appointments", { params: { header: this.write(idempotencyKey) }, body, headers }));
  }

  /** A fenced save: applied only under the current grant `fencingToken`, at `version`. */
  saveAppointment(id: string, body: AppointmentUpdate, version: number, fencingToken: number) {
    const key = idempotencyKey();
    return this.send((headers) =>
      this.http.PUT("/appointments/{id}", {
        params: { path: path(id), header: { ...this.write(key), "If-Match": ifMatch(version), "X-Fencing-Token": fencingToken } },
        body,
        headers,
      }),
    );
  }

  /** The caller's draft, or null when there is none (204). */
  async getDraft(id: string) {
    return (await this.send((headers) => this.http.GET("/appointments/{id}/draft", { params: { path: path(id) }, headers }))) ?? null;
  }

  /** Keeps `draft` (the text as typed, its base version and values) as the caller's draft. */
  async saveDraft(id: string, draft: DraftBody): Promise<void> {
    await this.send((headers) => this.http.PUT("/appointments/{id}/draft", { params: { path: path(id), header: this.write() }, body: draft, headers }));
  }

  /** Throws the caller's draft away (204, also when there was none). */
  async deleteDraft(id: string): Promise<void> {
    await this.send((headers) => this.http.DELETE("/appointments/{id}/draft", { params: { path: path(id), header: this.write() }, headers }));
  }

  // --- Locks

  lockStatus(id: string) {
    return this.send((headers) => this.http.GET("/appointments/{id}/lock-status", { params: { path: path(id) }, headers }));
  }

  /** 200: the lock is ours (or renewed). With `wait`, 202: we are in the queue. */
  acquireLock(id: string, wait: boolean) {
    const key = idempotencyKey();
    return this.send((headers) =>
      this.http.POST("/appointments/{id}/acquire-lock", { params: { path: path(id), header: this.write(key) }, body: { wait }, headers }),
    );
  }

  /** Renews this tab's lease, or its place in the queue. A tab that believes it is queued says
   * so (`waiting`): if the lock was handed to it meanwhile, the heartbeat must not confirm the
   * claim, which is the person's decision (docs/api.md, "Claim window"). */
  heartbeat(id: string, { waiting = false }: { waiting?: boolean } = {}) {
    return this.send((headers) =>
      this.http.POST("/appointments/{id}/heartbeat", { params: { path: path(id), header: this.write() }, ...(waiting ? { body: { waiting } } : {}), headers }),
    );
  }

  /** Releases only the grant `fencingToken` names (a late request can never free a newer
   * lock); null leaves the queue. */
  async releaseLock(id: string, fencingToken: number | null): Promise<void> {
    const header = fencingToken === null ? this.write() : { ...this.write(), "X-Fencing-Token": fencingToken };
    await this.send((headers) => this.http.DELETE("/appointments/{id}/release-lock", { params: { path: path(id), header }, headers }));
  }

  /** An admin takes the lock from `expectedFencingToken`'s holder; 409 `takeover_conflict`
   * (naming the winner) when the lock changed since. */
  takeover(id: string, expectedFencingToken: number, reason: string) {
    const key = idempotencyKey();
    return this.send((headers) =>
      this.http.POST("/appointments/{id}/takeover", { params: { path: path(id), header: this.write(key) }, body: { reason, expectedFencingToken }, headers }),
    );
  }

  /** The lock, held by another tab of this person, moves to this tab under a new token. */
  continueHere(id: string, expectedFencingToken: number) {
    const key = idempotencyKey();
    return this.send((headers) =>
      this.http.POST("/appointments/{id}/continue-here", { params: { path: path(id), header: this.write(key) }, body: { expectedFencingToken }, headers }),
    );
  }

  /** The appointment's lock events, oldest first (admins). */
  audit(id: string) {
    return this.send((headers) => this.http.GET("/appointments/{id}/audit", { params: { path: path(id) }, headers }));
  }

  /** The latest lock events of one `action` across the cluster, newest first (admins). */
  recentAudit(action: NonNullable<AuditQuery["action"]>, limit: number) {
    return this.send((headers) => this.http.GET("/audit", { params: { query: { action, limit } }, headers }));
  }

  /** The answering node's view of the cluster: its id, the leader it knows (`leaderId`, null
   * while there is none), its Raft state and indexes, the members. */
  clusterStatus() {
    return this.send((headers) => this.http.GET("/cluster/status", { headers }));
  }

  /**
   * For `pagehide`: the page is going away, so the requests must outlive it (`keepalive`),
   * and are sent at once, with the token at hand. The release names the fencing token, so if
   * this tab's lock was already replaced it frees nothing; unsaved edits go first as a draft.
   */
  leaveOnPageHide(id: string, fencingToken: number | null, draft: DraftBody | null): void {
    const url = `${this.options.pool.current()}/appointments/${encodeURIComponent(id)}`;
    const headers = this.headers(this.options.token.atHand());
    const send = (to: string, init: RequestInit) => {
      this.options.fetch(to, { ...init, keepalive: true }).catch(() => {
        // The server drops the lock on disconnect anyway, after a short grace period.
      });
    };
    if (draft) send(`${url}/draft`, { method: "PUT", headers: { ...headers, "Content-Type": "application/json" }, body: JSON.stringify(draft) });
    send(`${url}/release-lock`, { method: "DELETE", headers: fencingToken === null ? headers : { ...headers, "X-Fencing-Token": String(fencingToken) } });
  }

  // --- The one way a request is sent

  /** The documented headers of a write: the tab's session, and its `Idempotency-Key` if any. */
  private write(idempotencyKey?: string): { "X-Session-Id": string; "Idempotency-Key"?: string } {
    const header = { "X-Session-Id": this.options.sessionId };
    return idempotencyKey === undefined ? header : { ...header, "Idempotency-Key": idempotencyKey };
  }

  /** Sent on every request: the bearer (a security scheme, not a parameter, in the document)
   * and the session (reads take it too). */
  private headers(bearer: string | null): Headers {
    const headers: Headers = { "X-Session-Id": this.options.sessionId };
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    return headers;
  }

  /** Sends `call` with the tab's token; a refused token is renewed once (or another tab's
   * newer one taken meanwhile) and the request sent again with the same headers (an
   * `Idempotency-Key` makes a repeated write apply once). With `bearer`, that token and no
   * renewal. */
  private async send<T>(call: (headers: Headers) => Promise<Answer<T>>, bearer?: string): Promise<T> {
    if (bearer !== undefined) return this.once(call, bearer);
    const { token, onUnauthenticated } = this.options;
    const sent = await token.read();
    try {
      return await this.once(call, sent);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401 || !onUnauthenticated) throw error;
      const renewed = (await token.read()) !== sent || (await onUnauthenticated().catch(() => false));
      const next = renewed ? await token.read() : null;
      if (next === null) throw error;
      return this.once(call, next);
    }
  }

  private async once<T>(call: (headers: Headers) => Promise<Answer<T>>, bearer: string | null): Promise<T> {
    const sentAtMs = this.options.now();
    let answer: Answer<T>;
    try {
      answer = await call(this.headers(bearer));
    } catch (error) {
      if (error instanceof DOMException && error.name === "AbortError") throw error;
      // A success whose body is not JSON (a proxy's page, a cut answer): the node was reached.
      if (error instanceof SyntaxError) throw new ApiError({ status: 0, code: "unreadable_answer", detail: "The server's answer is not readable." });
      throw new ApiError({ status: 0, code: "network", detail: "The server could not be reached. Check your connection." });
    }
    const { response } = answer;
    const payload: unknown = response.ok ? answer.data : answer.error;
    if (isRecord(payload) && typeof payload.serverTime === "string") {
      this.options.clock.observe(payload.serverTime, this.options.now(), sentAtMs);
    }
    if (!response.ok) throw new ApiError(problemOf(response, payload));
    return answer.data as T;
  }
}

/** A refusal's problem+json, or one made from the status when the body is not one. */
function problemOf(response: Response, payload: unknown): Problem {
  if (isRecord(payload) && typeof payload.code === "string") return { ...(payload as unknown as Problem), status: response.status };
  const text = typeof payload === "string" ? payload : "";
  return { status: response.status, code: `http_${response.status}`, detail: response.statusText || text.slice(0, 200) };
}

/** A success whose body is not what the route answers. */

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** A fresh `Idempotency-Key`. */
export const idempotencyKey = randomId;
