// Who did what when, in words: "Editing since 10:42 · idle 3 min", "Last saved by Carol Diaz
// at 10:51". Times in the browser's locale and zone; "now" on the cluster's clock.

import type { Appointment, Lock } from "@lockd/client";

/** "10:42" (or "10:42 AM", as the locale writes it). */
export function clockTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "" : date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

/** "at 10:51" today, "on Tue 3 Dec at 10:51" another day (local days). */
export function atTime(iso: string, nowMs: number): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  if (date.toDateString() === new Date(nowMs).toDateString()) return `at ${clockTime(iso)}`;
  return `on ${date.toLocaleDateString(undefined, { weekday: "short", day: "numeric", month: "short" })} at ${clockTime(iso)}`;
}

/** A stretch of inactivity worth saying: from a whole minute, in minutes (and hours). */
export function formatIdle(ms: number): string | null {
  const minutes = Math.floor(ms / 60_000);
  if (!Number.isFinite(minutes) || minutes < 1) return null;
  if (minutes < 60) return `${minutes} min`;
  const rest = minutes % 60;
  return `${Math.floor(minutes / 60)} h${rest > 0 ? ` ${rest} min` : ""}`;
}

/** "Editing since 10:42 · idle 3 min". The last activity is the lease's last renewal, which
 * activity sends at most every quarter of the lease: idle is right to within that. */
export function editingSince(lock: Pick<Lock, "acquiredAt" | "lastActivityAt">, serverNowMs: number): string {
  const idle = formatIdle(serverNowMs - Date.parse(lock.lastActivityAt));
  return `Editing since ${clockTime(lock.acquiredAt)}${idle ? ` · idle ${idle}` : ""}`;
}

/** The name of the last saver: the server's, else one this page saw with that user id, else
 * the id. */
export function saverName(appointment: Pick<Appointment, "updatedBy" | "updatedByName">, names: Readonly<Record<string, string>>): string {
  return appointment.updatedByName || names[appointment.updatedBy] || appointment.updatedBy;
}

/** "Last saved by Carol Diaz at 10:51" ("Created by …" for the first version). */
export function lastSaved(
  appointment: Pick<Appointment, "version" | "updatedAt" | "updatedBy" | "updatedByName">,
  names: Readonly<Record<string, string>>,
  nowMs: number,
): string {
  const what = appointment.version <= 1 ? "Created" : "Last saved";
  return `${what} by ${saverName(appointment, names)} ${atTime(appointment.updatedAt, nowMs)}`;
}
