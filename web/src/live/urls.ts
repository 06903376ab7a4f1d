import { getToken } from "../api/client";
import { sessionId } from "../api/session";

/** A WebSocket URL on the origin that served the app (any node serves both). */
export function socketUrl(path: string, params: Record<string, string> = {}): string {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  const query = new URLSearchParams({ sessionId, ...params }).toString();
  return `${scheme}//${window.location.host}${path}?${query}`;
}

/** Browsers cannot set headers on a WebSocket: the token travels as a subprotocol. */
export function socketProtocols(): string[] {
  const token = getToken();
  return token ? ["lockd", `bearer.${token}`] : ["lockd"];
}
