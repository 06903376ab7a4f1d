// Who the server takes a token for, as the app's header shows them (`GET /auth/me`). Every
// other call is @lockd/client's (`lockd.api`).

import { ApiError, type LockdApi, type Me } from "@lockd/client";
import type { DemoProfile } from "./session";

/** Who lockd takes `token` for (`GET /auth/me`, with that token, not yet the tab's): the
 * person, with the name and role the server applies (its claim settings, not what the app reads
 * in the token), or nobody it lets in: a person the identity provider signed in without a lockd
 * role (403 `no_access`; the route needs no role, so any 403 means that). 401 and 503
 * `identity_provider_unavailable` are thrown as they come. */
export async function whoAmI(
  token: string,
  api: Pick<LockdApi, "me">,
): Promise<{ kind: "member"; profile: DemoProfile } | { kind: "no-access"; detail: string }> {
  let answer: unknown;
  try {
    answer = await api.me(token);
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
