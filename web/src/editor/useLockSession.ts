// This tab's lock on one appointment: acquiring, queueing, taking over, renewing on activity
// at a rate that follows the lease, the queue's keep-alive, and releasing on leave. Every
// answer goes into the room through its reducer (`room.dispatch`), never written around it.

import { useCallback, useEffect, useRef, useState } from "react";
import { useStore } from "zustand";
import { ApiError, describeError } from "../api/client";
import { acquireLock, continueHere, heartbeat, releaseLock, takeover } from "../api/endpoints";
import { sessionId } from "../api/session";
import type { Lock } from "../api/types";
import { QUEUE_RENEW_MS } from "../lib/constants";
import { leaseTtlMs, renewIntervalMs } from "../lib/lease";
import { RenewalThrottle } from "../lib/renewal";
import { claimPending, myRole } from "../live/room";
import type { Room } from "../live/useRoom";

export type Busy = "acquire" | "queue" | "save" | "done" | "takeover" | "renew" | "status" | null;

export function useLockSession(appointmentId: string, room: Room) {
  const lock = useStore(room.store, (s) => s.lock);
  const queue = useStore(room.store, (s) => s.queue);
  const role = myRole({ lock, queue }, sessionId);
  // Handed over from the queue and not confirmed yet: only the person may confirm it (a click
  // or typing), never the app on its own (focus, pointer moves, timers).
  const claiming = role === "holder" && claimPending(lock);
  const [busy, setBusy] = useState<Busy>(null);
  const [error, setError] = useState<string | null>(null);
  const [takeoverWinner, setTakeoverWinner] = useState<Lock | null>(null);
  const renewal = useRef(new RenewalThrottle());
  const ttlMs = lock ? leaseTtlMs(lock) : null;

  // The latest role and lease, for handlers that run outside React's render.
  const latest = useRef({ role, ttlMs, claiming });
  useEffect(() => {
    latest.current = { role, ttlMs, claiming };
  });

  // A grant renews the lease: activity need not renew it again at once.
  const holding = role === "holder";
  useEffect(() => {
    if (holding) renewal.current.renewed();
  }, [holding]);

  /** Runs one user action: busy while it runs, its failure in words. `silent` failures (shown
   * elsewhere, e.g. a version conflict) are not repeated as the error line. */
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

  const granted = useCallback((grant: Lock) => room.dispatch({ type: "local.granted", lock: grant }), [room]);

  const startEditing = () =>
    run("acquire", async () => {
      const answer = await acquireLock(appointmentId, false);
      if ("lock" in answer) granted(answer.lock);
    });

  const joinQueue = () =>
    run("queue", async () => {
      const answer = await acquireLock(appointmentId, true);
      if ("lock" in answer) granted(answer.lock);
      else room.dispatch({ type: "local.queued", queue: answer.queue });
    });

  const leaveQueue = () =>
    run("queue", async () => {
      await releaseLock(appointmentId, null);
      room.dispatch({ type: "local.queue_left", sessionId });
    });

  /** Releases this tab's grant `fencingToken` (and only it). */
  const release = async (fencingToken: number) => {
    await releaseLock(appointmentId, fencingToken);
    room.dispatch({ type: "local.released", fencingToken });
  };

  /** Take over `from`: the grant the admin saw when deciding. If it changed since, the server
   * refuses (takeover_conflict) and names the new holder, instead of taking from someone else. */
  const requestControl = (from: Lock, reason: string) =>
    run("takeover", async () => {
      setTakeoverWinner(null);
      try {
        const answer = await takeover(appointmentId, from.fencingToken, reason);
        granted(answer.lock);
      } catch (e) {
        if (e instanceof ApiError && e.code === "takeover_conflict" && e.problem.lock) {
          setTakeoverWinner(e.problem.lock);
          granted(e.problem.lock);
        }
        throw e;
      }
    });

  /** The lock `from` is this person's, in another of their tabs: move it here. Their unsaved
   * text there is kept as a draft by that tab. */
  const continueInThisTab = (from: Lock) =>
    run("acquire", async () => {
      const answer = await continueHere(appointmentId, from.fencingToken);
      granted(answer.lock);
    });

  const keepEditing = () =>
    run("renew", async () => {
      const answer = await heartbeat(appointmentId);
      if ("lock" in answer) granted(answer.lock);
      renewal.current.renewed();
    });

  /** The person starts editing a lock handed to them: any renewal confirms it. */
  const confirming = useRef(false);
  const confirmClaim = useCallback(async () => {
    if (confirming.current) return;
    confirming.current = true;
    setBusy("renew");
    setError(null);
    try {
      const answer = await heartbeat(appointmentId);
      if ("lock" in answer) granted(answer.lock);
      renewal.current.renewed();
    } catch (e) {
      setError(describeError(e));
    } finally {
      confirming.current = false;
      setBusy(null);
    }
  }, [appointmentId, granted]);

  /** Typing, focus, pointer movement: renew the lease, at most every quarter of it (≤ 30 s).
   * Not a confirmation of a handed-over lock: the person may have only moved the mouse. */
  const activity = useCallback(() => {
    const { role: now, ttlMs: ttl, claiming: unconfirmed } = latest.current;
    if (now !== "holder" || unconfirmed || ttl === null || !renewal.current.activity(renewIntervalMs(ttl))) return;
    heartbeat(appointmentId).then(
      (answer) => {
        if ("lock" in answer) granted(answer.lock);
      },
      () => renewal.current.reset(),
    );
  }, [appointmentId, granted]);

  /** The person typed in the form: that starts the editing of a handed-over lock. */
  const typed = useCallback(() => {
    if (latest.current.claiming) void confirmClaim();
    else activity();
  }, [activity, confirmClaim]);

  /** The lease was renewed another way (a save). */
  const renewed = useCallback(() => renewal.current.renewed(), []);

  // A place in the queue lapses after 60 s unless renewed.
  useEffect(() => {
    if (role !== "queued") return;
    const timer = setInterval(() => void heartbeat(appointmentId, { waiting: true }).catch(() => {}), QUEUE_RENEW_MS);
    return () => clearInterval(timer);
  }, [role, appointmentId]);

  return {
    role,
    lock,
    queue,
    ttlMs,
    claiming,
    busy,
    error,
    setError,
    clearError: () => setError(null),
    takeoverWinner,
    run,
    startEditing,
    joinQueue,
    leaveQueue,
    release,
    requestControl,
    continueInThisTab,
    keepEditing,
    confirmClaim,
    activity,
    typed,
    renewed,
  };
}

export type LockSession = ReturnType<typeof useLockSession>;
