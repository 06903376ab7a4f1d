// Two pages need no router library: the path is the state, history is the store.
// App paths avoid the API's (`/appointments/...` belongs to the API on every node).

import { useSyncExternalStore } from "react";

const NAVIGATE = "lockd:navigate";

function subscribe(onChange: () => void): () => void {
  window.addEventListener("popstate", onChange);
  window.addEventListener(NAVIGATE, onChange);
  return () => {
    window.removeEventListener("popstate", onChange);
    window.removeEventListener(NAVIGATE, onChange);
  };
}

export function usePath(): string {
  return useSyncExternalStore(subscribe, () => window.location.pathname);
}

export function navigate(to: string): void {
  if (to === window.location.pathname) return;
  window.history.pushState(null, "", to);
  window.dispatchEvent(new Event(NAVIGATE));
}

export type Route = { page: "list" } | { page: "appointment"; id: string } | { page: "missing" };

export function matchRoute(pathname: string): Route {
  if (pathname === "/" || pathname === "") return { page: "list" };
  const match = /^\/appointment\/([^/]+)\/?$/.exec(pathname);
  if (match?.[1]) return { page: "appointment", id: decodeURIComponent(match[1]) };
  return { page: "missing" };
}

export const appointmentPath = (id: string) => `/appointment/${encodeURIComponent(id)}`;
