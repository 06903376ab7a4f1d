// Finding an appointment in the list: words to search the title, client and location, and a
// day. Pure, over the rows the list shows.

import type { Appointment } from "@lockd/client";

export interface ListFilter {
  /** Words, each to be found in the title, client or location (any case, any accents). */
  query: string;
  /** A local day, `YYYY-MM-DD`, or "" for every day. */
  day: string;
}

export const noFilter: ListFilter = { query: "", day: "" };

/** Lower case, without accents: "Zoë" is found by "zoe". */
function folded(text: string): string {
  return text.normalize("NFD").replace(/\p{M}/gu, "").toLocaleLowerCase();
}

/** The local day an appointment starts on, `YYYY-MM-DD` ("" for a time that is not one). */
export function dayKey(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const pad = (n: number) => n.toString().padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

export function matchesFilter(appointment: Pick<Appointment, "title" | "client" | "location" | "startsAt">, filter: ListFilter): boolean {
  if (filter.day && dayKey(appointment.startsAt) !== filter.day) return false;
  const words = folded(filter.query).split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const text = folded(`${appointment.title}\n${appointment.client}\n${appointment.location}`);
  return words.every((word) => text.includes(word));
}

export interface DayOption {
  day: string;
  label: string;
  count: number;
}

/** The days the appointments start on, in order, with how many each. */
export function dayOptions(appointments: readonly Pick<Appointment, "startsAt">[]): DayOption[] {
  const counts = new Map<string, { count: number; startsAt: string }>();
  for (const { startsAt } of appointments) {
    const day = dayKey(startsAt);
    if (!day) continue;
    const seen = counts.get(day);
    counts.set(day, { count: (seen?.count ?? 0) + 1, startsAt });
  }
  return [...counts.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([day, { count, startsAt }]) => ({
      day,
      count,
      label: new Date(startsAt).toLocaleDateString(undefined, { weekday: "short", day: "numeric", month: "short", year: "numeric" }),
    }));
}

/** The filter kept in the page's address (`?q=…&day=…`), so a reload or coming back keeps it. */
export function filterFromSearch(search: string): ListFilter {
  const params = new URLSearchParams(search);
  return { query: params.get("q") ?? "", day: params.get("day") ?? "" };
}

export function searchOfFilter(filter: ListFilter): string {
  const params = new URLSearchParams();
  if (filter.query) params.set("q", filter.query);
  if (filter.day) params.set("day", filter.day);
  const search = params.toString();
  return search ? `?${search}` : "";
}
