// A few pages need no router library: the path is the state, history is the store.
// App paths avoid the API's first segments (`/appointments`, `/audit`, `/updates`, `/cluster`,
// `/auth`... belong to the API on every node, which never serves the app there; the one
// exception is `/auth/callback`, where the identity provider sends the browser back).

import { useSyncExternalStore } from "react";
import { CALLBACK_PATH } from "./api/authConfig";

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

/** Goes to `to` in place of the current entry (after a sign-in's redirect: Back must not
 * return to the callback). */
export function replaceTo(to: string): void {
  window.history.replaceState(null, "", to);
  window.dispatchEvent(new Event(NAVIGATE));
}

export type Route =
  | { page: "list" }
  | { page: "new" }
  | { page: "appointment"; id: string }
  | { page: "takeovers" }
  /** The identity provider's way back (`/auth/callback`): `auth.ts` completes the sign-in. */
  | { page: "callback" }
  | { page: "missing" };

export function matchRoute(pathname: string): Route {
  const path = pathname.length > 1 ? pathname.replace(/\/$/, "") : pathname;
  if (path === "/" || path === "") return { page: "list" };
  if (path === NEW_PATH) return { page: "new" };
  if (path === TAKEOVERS_PATH) return { page: "takeovers" };
  if (path === CALLBACK_PATH) return { page: "callback" };
  const match = /^\/appointment\/([^/]+)$/.exec(path);
  if (match?.[1]) return { page: "appointment", id: decodeURIComponent(match[1]) };
  return { page: "missing" };
}

export const NEW_PATH = "/new";
export const TAKEOVERS_PATH = "/takeovers";
export const appointmentPath = (id: string) => `/appointment/${encodeURIComponent(id)}`;
