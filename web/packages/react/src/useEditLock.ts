// This tab's lock on one appointment, for a component: the room's state as it changes (who
// holds it, the queue, the countdown on the cluster clock, a loss or a hand-over to tell the
// person about) and the actions, each marking `busy` while it runs and putting a failure in
// words (`error`). The rules live in @lockd/client's `EditLock`; this is the React side.

import { useCallback, useEffect, useMemo, useState } from "react";
import {
  ApiError,
  claimPending,
  describeError,
  leaseTtlMs,
  lockDeadline,
  myRole,
  type EditLock,
  type HandOver,
  type LiveRoom,
  type Lock,
  type LossNotice,
  type MyLockRole,
  type Waiter,
} from "@lockd/client";
import { useLockdClient } from "./context";
import { useRemaining } from "./useRemaining";
import { useStoreValue } from "./useStoreValue";

/** What is running: a lock action of this hook, or one the app runs through `run`. */
export type Busy = "acquire" | "queue" | "takeover" | "renew" | "done" | (string & {}) | null;

export interface EditLockView {
  room: LiveRoom;
  /** The framework-free controller, for calls inside an action of the app's own (`run`). */
  controller: EditLock;
  role: MyLockRole;
  /** This tab holds the lock and may type: held, and not a hand-over still to be started. */
  editing: boolean;
  lock: Lock | null;
  queue: Waiter[];
  /** Handed over from the queue and not started yet (`confirmClaim` starts it). */
  claiming: boolean;
  /** The lease's length, while there is a lock. */
  ttlMs: number | null;
  /** Until the lock lapses without activity (the claim window while one is open), on the
   * cluster clock, updated each second; null without a lock. */
  remainingMs: number | null;
  /** Why this tab lost the lock, until `dismissLoss`. */
  loss: LossNotice | null;
  /** The lock came to this tab from the queue, until `seenHandOver`. */
  handOver: HandOver | null;
  /** The room shows the server's state (false while reconnecting). */
  synced: boolean;
  busy: Busy;
  /** The last action's failure, in words. */
  error: string | null;
  setError: (error: string | null) => void;
  /** An admin's takeover lost the race to this grant (`takeover_conflict`). */
  takeoverWinner: Lock | null;
  /** Runs `action` as `kind`: busy while it runs, its failure in words unless `silent` says it
   * is shown elsewhere. */
  run: (kind: Busy, action: () => Promise<void>, silent?: (error: unknown) => boolean) => Promise<void>;
  acquire: () => Promise<void>;
  joinQueue: () => Promise<void>;
  leaveQueue: () => Promise<void>;
  /** Releases this tab's grant ("Done", "Pass it on"). */
  release: () => Promise<void>;
  takeover: (from: Lock, reason: string) => Promise<void>;
  continueHere: (from: Lock) => Promise<void>;
  /** "Still editing?": renew now. */
  keepEditing: () => Promise<void>;
  /** The person starts a lock handed to them. */
  confirmClaim: () => Promise<void>;
  /** Focus, pointer moves: renews the lease, paced by it; never starts a handed-over lock. */
  activity: () => void;
  /** Typing: starts a handed-over lock, else it is activity. */
  typed: () => void;
  /** The lease was renewed another way (a save). */
  renewed: () => void;
  dismissLoss: () => void;
  seenHandOver: () => void;
}

export interface EditLockOptions {
  /** Connect to the room (default true). */
  enabled?: boolean;
  /** Release this tab's lock, or its place in the queue, when the page goes (default true).
   * An app that keeps unsaved text as a draft first turns it off and calls
   * `controller.leave(draft)` from its own `pagehide`. */
  leaveOnPageHide?: boolean;
}

export function useEditLock(appointmentId: string, { enabled = true, leaveOnPageHide = true }: EditLockOptions = {}): EditLockView {
  const client = useLockdClient();
  const controller = useMemo(() => client.lock(appointmentId), [client, appointmentId]);
  const { room } = controller;
  useEffect(() => (enabled ? room.retain() : undefined), [room, enabled]);
  useEffect(() => controller.keepAlive(), [controller]);
  useEffect(() => (leaveOnPageHide ? controller.leaveOnPageHide() : undefined), [controller, leaveOnPageHide]);

  const lock = useStoreValue(room.store, (s) => s.lock);
  const queue = useStoreValue(room.store, (s) => s.queue);
  const loss = useStoreValue(room.store, (s) => s.loss);
  const handOver = useStoreValue(room.store, (s) => s.handOver);
  const synced = useStoreValue(room.store, (s) => s.synced);
  const role = myRole({ lock, queue }, client.sessionId);
  const claiming = role === "holder" && claimPending(lock);
  const remainingMs = useRemaining(lockDeadline(lock));

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
          if (held && held.holder.sessionId === client.sessionId) await controller.release(held.fencingToken);
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
      renewed: () => controller.renewed(),
      dismissLoss: () => room.dispatch({ type: "local.loss_seen" }),
      seenHandOver: () => room.dispatch({ type: "local.handover_seen" }),
    };
  }, [run, controller, room, client]);

  return {
    room,
    controller,
    role,
    editing: role === "holder" && !claiming,
    lock,
    queue,
    claiming,
    ttlMs: lock ? leaseTtlMs(lock) : null,
    remainingMs,
    loss,
    handOver,
    synced,
    busy,
    error,
    setError,
    takeoverWinner,
    run,
    ...actions,
  };
}
