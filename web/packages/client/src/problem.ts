// What a refusal says: lockd answers every error as problem+json with a stable `code`
// (docs/api.md, "Errors"); it becomes an `ApiError`, and `describeError` puts it in words a
// person can act on. A node that could not be reached is the code `network` (status 0).

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
