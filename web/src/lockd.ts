// The app's one @lockd/client: every request and socket of this tab goes through it. The app
// is served by the nodes themselves, so its node is its own origin (the app and its API share
// one origin on any node). Who the tab is comes from `auth.ts`, which sets the token here and
// answers when the server refuses it.

import { createLockdClient } from "@lockd/client";

let token: string | null = null;
let currentUserId: () => string | null = () => null;
let renewRefused: (() => Promise<boolean>) | null = null;
let renewForSocket: (() => Promise<void>) | null = null;

/** The page's origin; unit tests import modules that import this one in Node, where there is
 * no page (and no request is sent). */
const origin = (globalThis as { location?: Location }).location?.origin ?? "http://localhost";

export const lockd = createLockdClient({
  nodes: [origin],
  getToken: () => token,
  currentUserId: () => currentUserId(),
  onUnauthenticated: async (source) => {
    if (source === "socket") {
      await renewForSocket?.();
      return true;
    }
    return renewRefused ? renewRefused() : false;
  },
});

/** This tab's session id (`X-Session-Id`): one per page load, so a second tab never shares a lock. */
export const sessionId = lockd.sessionId;

export function setToken(next: string | null): void {
  token = next;
}

export function getToken(): string | null {
  return token;
}

/** How the tab answers a refused token: `onRequest` for a 401 (true when it got a new token;
 * the request is then tried once more), `onSocket` for a socket closed for its token's age
 * (4401), before it reconnects. `userId`: the person signed in now. */
export function onSignedOut(handlers: { onRequest: () => Promise<boolean>; onSocket: () => Promise<void>; userId: () => string | null }): void {
  renewRefused = handlers.onRequest;
  renewForSocket = handlers.onSocket;
  currentUserId = handlers.userId;
}
