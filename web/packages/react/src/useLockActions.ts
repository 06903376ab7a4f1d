// What the person does with the lock of one appointment: acquire, queue, release, take over,
// continue here, keep editing, start a lock handed to them, and the activity that renews it.
// Each action marks `busy` while it runs and puts its failure in words (`error`); `busy` and
// `error` belong to this hook's caller, so the component that acts shows them. While mounted
// it runs the lock's keep-alives and, unless told not to, releases the lock when the page goes
// (both shared with any other component acting on the same lock). The rules are
// @lockd/client's `EditLock`; this is the React side.

import { useCallback, useEffect, useMemo, useState } from "react";
import { ApiError, describeError, type Lock } from "@lockd/client";
import { useLockController } from "./useLockController";
import type { LockRoomOptions } from "./useLockState";
import { useRoom } from "./useRoom";

/** What is running: a lock action of this hook, or one the app runs through `run`. */
export type Busy = "acquire" | "queue" | "takeover" | "renew" | "done" | (string & {}) | null;

export interface LockActions {
  acquire: () => Promise<void>;
  /** Takes the lock, or a place in the queue: it comes to this tab when freed. */
  joinQueue: () => Promise<void>;
  leaveQueue: () => Promise<void>;
  /** Releases this tab's grant ("Done", "Pass it on"). */
  release: () => Promise<void>;
  /** An admin takes over `from`, the grant they saw when deciding. */
  takeover: (from: Lock, reason: string) => Promise<void>;
  /** The lock `from`, held by this person's other tab, moves here. */
  continueHere: (from: Lock) => Promise<void>;
  /** "Still editing?": renew now. */
  keepEditing: () => Promise<void>;
  /** The person starts a lock handed to them. */
  confirmClaim: () => Promise<void>;
  /** Focus, pointer moves: renews the lease, paced by it; never starts a handed-over lock. */
  activity: () => void;
  /** Typing: starts a handed-over lock, else it is activity. */
  typed: () => void;
  /** What is running. */
  busy: Busy;
  /** The last action's failure, in words. */
  error: string | null;
  clearError: () => void;
  /** An admin's takeover lost the race to this grant (`takeover_conflict`). */
  takeoverWinner: Lock | null;
  /** Runs `action` as `kind` (an app's own: a save): busy while it runs, its failure in words
   * unless `silent` says it is shown elsewhere. */
  run: (kind: Busy, action: () => Promise<void>, silent?: (error: unknown) => boolean) => Promise<void>;
}

export interface LockActionsOptions extends LockRoomOptions {
  /** Release this tab's lock, or its place in the queue, when the page goes (default true).
   * An app that keeps unsaved text as a draft first turns it off and calls
   * `controller.leave(draft)` from its own `pagehide` (`useLockController`). */
  leaveOnPageHide?: boolean;
}

export function useLockActions(appointmentId: string, { enabled = true, leaveOnPageHide = true }: LockActionsOptions = {}): LockActions {
  const controller = useLockController(appointmentId);
  const room = useRoom(appointmentId, { enabled });
  useEffect(() => controller.keepAlive(), [controller]);
  useEffect(() => (leaveOnPageHide ? controller.leaveOnPageHide() : undefined), [controller, leaveOnPageHide]);

  const [busy, setBusy] = useState<Busy>(null);
  const [error, setError] = useState<string | null>(null);
  const [takeoverWinner, setTakeoverWinner] = useState<Lock | null>(null);

  const run = useCallback(async (kind: Busy, action: () => Promise<void>, silent: (e: unknown) => boolean = () => false) => {
    setBusy(kind);
    setError(null);
    try {
      await action();
    } catch (e) {
      if (!silent(e)) setError(describeError(e));
    } finally {
      setBusy(null);
    }
  }, []);

  const actions = useMemo(() => {
    const confirmClaim = () => run("renew", () => controller.confirmClaim());
    return {
      acquire: () => run("acquire", () => controller.acquire()),
      joinQueue: () => run("queue", () => controller.joinQueue()),
      leaveQueue: () => run("queue", () => controller.leaveQueue()),
      release: () =>
        run("done", async () => {
          const held = room.store.getState().lock;
          if (held && controller.role() === "holder") await controller.release(held.fencingToken);
        }),
      takeover: (from: Lock, reason: string) =>
        run("takeover", async () => {
          setTakeoverWinner(null);
          try {
            await controller.takeover(from, reason);
          } catch (e) {
            if (e instanceof ApiError && e.code === "takeover_conflict" && e.problem.lock) setTakeoverWinner(e.problem.lock);
            throw e;
          }
        }),
      continueHere: (from: Lock) => run("acquire", () => controller.continueHere(from)),
      keepEditing: () => run("renew", () => controller.keepEditing()),
      confirmClaim,
      activity: () => controller.activity(),
      typed: () => {
        if (controller.claiming()) void confirmClaim();
        else controller.activity();
      },
      clearError: () => setError(null),
    };
  }, [run, controller, room]);

  return { ...actions, busy, error, takeoverWinner, run };
}
