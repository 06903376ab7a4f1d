// A random id for sessions and idempotency keys.

/**
 * `crypto.randomUUID` exists only in secure contexts (https, or loopback): a node reached over
 * plain http by its LAN address has none, though the DOM types say it always does. Then a
 * time-and-random id is unique enough for a session id or an idempotency key.
 */
export function randomId(): string {
  const crypto = globalThis.crypto as Partial<Crypto> | undefined;
  if (typeof crypto?.randomUUID === "function") return crypto.randomUUID();
  return `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}
