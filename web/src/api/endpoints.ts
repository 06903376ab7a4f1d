// One function per lockd endpoint the app uses (docs/api.md).

import { randomId } from "../lib/randomId";
import { ApiError, api, authHeaders } from "./client";
import type {
  AppointmentUpdate,
  AppointmentList,
  AppointmentWithLock,
  Appointment,
  AuditSearch,
  AuditTrail,
  ClusterStatus,
  Draft,
  DraftBody,
  LockGranted,
  LockStatus,
  Me,
  NewAppointment,
  Queued,
} from "./types";
import type { DemoProfile } from "./session";

const path = (id: string) => `/appointments/${encodeURIComponent(id)}`;

export const devLogin = (profile: DemoProfile) =>
  api<{ token: string }>("/auth/dev-login", { method: "POST", body: profile });

export const listAppointments = () => api<AppointmentList>("/appointments");
export const getAppointment = (id: string) => api<AppointmentWithLock>(path(id));
export const lockStatus = (id: string) => api<LockStatus>(`${path(id)}/lock-status`);
export const clusterStatus = () => api<ClusterStatus>("/cluster/status");
/** The latest lock events of one `action` across the cluster, newest first (admins only). */
export const recentAudit = (action: string, limit: number) =>
  api<AuditSearch>(`/audit?${new URLSearchParams({ action, limit: String(limit) }).toString()}`);

/** Who lockd takes `token` for (`GET /auth/me`, with that token, not yet the tab's): the
 * person, with the name and role the server applies (its claim settings, not what the app reads
 * in the token), or nobody it lets in: a person the identity provider signed in without a lockd
 * role (403 `no_access`; the route needs no role, so any 403 means that). 401 and 503
 * `identity_provider_unavailable` are thrown as they come. */
export async function whoAmI(token: string): Promise<{ kind: "member"; profile: DemoProfile } | { kind: "no-access"; detail: string }> {
  let answer: unknown;
  try {
    answer = await api<unknown>("/auth/me", { bearer: token });
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 403) throw e;
    return { kind: "no-access", detail: e.problem.detail ?? e.problem.title ?? e.code };
  }
  return { kind: "member", profile: parseMe(answer) };
}

/** `/auth/me`'s answer as the header shows it. Throws on one that names nobody or another role
 * (the app never guesses a role). */
export function parseMe(payload: unknown): DemoProfile {
  const me = (typeof payload === "object" && payload !== null ? payload : {}) as Partial<Record<keyof Me, unknown>>;
  const userId = typeof me.userId === "string" ? me.userId : "";
  if (userId === "" || (me.role !== "user" && me.role !== "admin")) {
    throw new Error("The server's answer about who you are is not readable.");
  }
  const name = typeof me.name === "string" && me.name.trim() !== "" ? me.name : userId;
  return { userId, name, email: typeof me.email === "string" ? me.email : "", role: me.role };
}

/** The appointment's lock events, oldest first (admins only: 403 otherwise). */
export const getAudit = (id: string) => api<AuditTrail>(`${path(id)}/audit`);

/** 200: the lock is ours (or renewed). With `wait`, 202: we are in the queue. */
export const acquireLock = (id: string, wait: boolean) =>
  api<LockGranted | Queued>(`${path(id)}/acquire-lock`, {
    method: "POST",
    body: { wait },
    headers: { "Idempotency-Key": idempotencyKey() },
  });

/** The lock, held by another tab of this person, moves to this tab under a new token (200 like
 * an acquire). Refused when someone else holds it (409 lock_held), or when it changed since
 * `expectedFencingToken` (409 takeover_conflict). */
export const continueHere = (id: string, expectedFencingToken: number) =>
  api<LockGranted>(`${path(id)}/continue-here`, {
    method: "POST",
    body: { expectedFencingToken },
    headers: { "Idempotency-Key": idempotencyKey() },
  });

/** Renews this tab's lease, or its place in the queue. A tab that believes it is queued says
 * so (`waiting`): if the lock was handed to it meanwhile, the heartbeat must not confirm the
 * claim, which is the person's decision (docs/api.md, "Claim window"). */
export const heartbeat = (id: string, { waiting = false }: { waiting?: boolean } = {}) =>
  api<LockGranted | { queued: true }>(`${path(id)}/heartbeat`, {
    method: "POST",
    ...(waiting ? { body: { waiting } } : {}),
  });

/** Releases only the grant `fencingToken` names (a late request can never free a newer lock). */
export const releaseLock = (id: string, fencingToken: number | null) =>
  api<null>(`${path(id)}/release-lock`, {
    method: "DELETE",
    headers: fencingToken === null ? {} : { "X-Fencing-Token": String(fencingToken) },
  });

export const takeover = (id: string, expectedFencingToken: number, reason: string) =>
  api<LockGranted>(`${path(id)}/takeover`, {
    method: "POST",
    body: { reason, expectedFencingToken },
    headers: { "Idempotency-Key": idempotencyKey() },
  });

export const saveAppointment = (id: string, fields: AppointmentUpdate, version: number, fencingToken: number) =>
  api<Appointment>(path(id), {
    method: "PUT",
    body: fields,
    headers: { "If-Match": String(version), "X-Fencing-Token": String(fencingToken), "Idempotency-Key": idempotencyKey() },
  });

/** 201 with the new appointment. `idempotencyKey`: the same for a retry of the same body, so
 * a create whose answer was lost is not made twice. */
export const createAppointment = (body: NewAppointment, key: string) =>
  api<Appointment>("/appointments", { method: "POST", body, headers: { "Idempotency-Key": key } });

/** Keeps `draft` (the text as typed, its base version and values) as the caller's draft. */
export const saveDraft = (id: string, draft: DraftBody) => api<null>(`${path(id)}/draft`, { method: "PUT", body: draft });

/** Throws the caller's draft away (204, also when there was none). A server without the route
 * answers 404 or 405: it keeps drafts until a save, and there is nothing more to do. */
export async function deleteDraft(id: string): Promise<void> {
  try {
    await api<null>(`${path(id)}/draft`, { method: "DELETE" });
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 405)) return;
    throw e;
  }
}

/** The caller's draft, or null when there is none (the server answers 204 with no body; an
 * older server answered 404). */
export async function getDraft(id: string): Promise<Draft | null> {
  try {
    return (await api<Draft | null>(`${path(id)}/draft`)) ?? null;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

/**
 * For `pagehide`: the page is going away, so the requests must outlive it (`keepalive`).
 * The release names the fencing token, so if this tab's lock was already replaced it frees
 * nothing; unsaved edits go first as a draft.
 */
export function leaveOnPageHide(id: string, fencingToken: number | null, draft: DraftBody | null): void {
  const send = (url: string, init: RequestInit) => {
    fetch(url, { ...init, keepalive: true }).catch(() => {
      // The server drops the lock on disconnect anyway, after a short grace period.
    });
  };
  if (draft) {
    send(`${path(id)}/draft`, {
      method: "PUT",
      headers: authHeaders({ "Content-Type": "application/json" }),
      body: JSON.stringify(draft),
    });
  }
  send(`${path(id)}/release-lock`, {
    method: "DELETE",
    headers: authHeaders(fencingToken === null ? {} : { "X-Fencing-Token": String(fencingToken) }),
  });
}

export const idempotencyKey = randomId;
