// HTTP to whichever node served the app (one origin: any node answers, writes are forwarded
// to the leader inside the cluster). Errors arrive as problem+json and become `ApiError`.

import { serverClock } from "../lib/serverClock";
import { sessionId } from "./session";
import type { Lock, Appointment } from "./types";

export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  code: string;
  lock?: Lock | null;
  current?: Appointment;
  retryAfterMs?: number;
  serverTime?: string;
}

export class ApiError extends Error {
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.detail ?? problem.title ?? problem.code);
    this.name = "ApiError";
    this.problem = problem;
  }
  get code(): string {
    return this.problem.code;
  }
  get status(): number {
    return this.problem.status;
  }
}

let token: string | null = null;
let onUnauthenticated: (() => Promise<boolean>) | null = null;

export function setToken(next: string | null): void {
  token = next;
}

export function getToken(): string | null {
  return token;
}

/** Called when the server rejects our token (expired, or signed by another cluster); true
 * when it got a new token, and the request is then tried once more. */
export function onSignedOut(handler: () => Promise<boolean>): void {
  onUnauthenticated = handler;
}

export function authHeaders(extra: Record<string, string> = {}, bearer: string | null = token): Record<string, string> {
  const headers: Record<string, string> = { "X-Session-Id": sessionId, ...extra };
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  return headers;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Sent with this token instead of the tab's (a sign-in not taken yet), and a 401 is the
   * answer: nothing is renewed. */
  bearer?: string;
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  if (options.bearer !== undefined) return request<T>(path, options);
  const sent = token;
  try {
    return await request<T>(path, options);
  } catch (error) {
    // A rejected token: renewed (or another tab's newer one taken meanwhile)? Try once more,
    // with the same headers (an Idempotency-Key makes a repeated write apply once).
    if (!(error instanceof ApiError) || error.status !== 401 || !onUnauthenticated) throw error;
    const renewed = token !== sent || (await onUnauthenticated().catch(() => false));
    if (!renewed || token === null) throw error;
    return request<T>(path, options);
  }
}

async function request<T>(path: string, { method = "GET", body, headers = {}, signal, bearer }: RequestOptions): Promise<T> {
  const sentAt = Date.now();
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers: authHeaders(body === undefined ? headers : { "Content-Type": "application/json", ...headers }, bearer ?? token),
      body: body === undefined ? null : JSON.stringify(body),
      signal: signal ?? null,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError({ status: 0, code: "network", detail: "The server could not be reached. Check your connection." });
  }
  const text = await response.text();
  let payload: unknown = null;
  if (text) {
    try {
      payload = JSON.parse(text);
    } catch {
      payload = null;
    }
  }
  if (payload && typeof payload === "object" && "serverTime" in payload && typeof payload.serverTime === "string") {
    serverClock.observe(payload.serverTime, Date.now(), sentAt);
  }
  if (!response.ok) {
    const problem: Problem =
      payload && typeof payload === "object" && "code" in payload
        ? { ...(payload as Problem), status: response.status }
        : { status: response.status, code: `http_${response.status}`, detail: response.statusText || text.slice(0, 200) };
    throw new ApiError(problem);
  }
  return payload as T;
}

/** An error in words a user can act on. */
export function describeError(error: unknown): string {
  if (!(error instanceof ApiError)) return error instanceof Error ? error.message : "Something went wrong.";
  const { problem } = error;
  switch (problem.code) {
    case "lock_held":
      return problem.lock
        ? `${problem.lock.holder.name} (${problem.lock.holder.email}) is editing this appointment.`
        : "Someone else is editing this appointment.";
    case "not_holder":
      return "You no longer hold the lock on this appointment.";
    case "stale_token":
      return "Your lock was replaced by a newer one (it expired or was taken over), so this change was not applied.";
    case "version_conflict":
      return "Someone saved a newer version while you were editing. Reload it to continue.";
    case "takeover_conflict":
      return problem.lock
        ? `${problem.lock.holder.name} took control first.`
        : "Someone else changed the lock first.";
    case "rate_limited": {
      const seconds = Math.max(1, Math.ceil((problem.retryAfterMs ?? 1000) / 1000));
      return `Too many attempts. Wait ${seconds} s and try again.`;
    }
    case "queue_full":
      return "The waiting list for this appointment is full.";
    case "forbidden":
      return "Only an admin can do that.";
    case "unauthenticated":
      return "Your sign-in expired. Sign in again.";
    case "no_access":
      return "Your account has no access to lockd.";
    case "identity_provider_unavailable":
      return "lockd cannot check sign-ins with your organisation's identity provider right now. Try again in a moment.";
    case "no_leader":
      return "The cluster is electing a leader. Try again in a moment.";
    case "invalid_input":
      return problem.detail ? `Check the form: ${problem.detail}` : "Check the form.";
    case "not_found":
      return "This appointment does not exist.";
    default:
      return problem.detail ?? problem.title ?? "Something went wrong.";
  }
}
