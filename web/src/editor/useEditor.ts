// The editing session of this tab: the form, the lock actions, renewal on activity, and what
// happens when the lock is lost (the unsaved form goes to the server as a draft).

import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useStore } from "zustand";
import { ApiError, describeError } from "../api/client";
import {
  acquireLock,
  getDraft,
  heartbeat,
  leaveOnPageHide,
  releaseLock,
  saveAppointment,
  saveDraft,
  takeover,
} from "../api/endpoints";
import { sessionId } from "../api/session";
import type { Appointment, Draft, Lock } from "../api/types";
import { emptyForm, sameForm, toFields, toForm, validateForm, type FormValues } from "../lib/form";
import { RenewalThrottle } from "../lib/renewal";
import { myRole, newerLock, type LossNotice } from "../live/room";
import type { Room } from "../live/useRoom";

export type Busy = "acquire" | "queue" | "save" | "done" | "takeover" | "renew" | null;

/** What an edit started from: the version a save must match, and the values "dirty" compares to. */
interface Base {
  version: number;
  values: FormValues;
}

export interface LossReport {
  notice: LossNotice;
  /** null: nothing was unsaved; true/false: the draft was (not) kept. */
  draftKept: boolean | null;
}

/** How often a queued tab renews its place (it lapses after 60 s). */
const QUEUE_RENEW_MS = 25_000;

export function useEditor(appointmentId: string, room: Room) {
  const queryClient = useQueryClient();
  const lock = useStore(room.store, (s) => s.lock);
  const queue = useStore(room.store, (s) => s.queue);
  const appointment = useStore(room.store, (s) => s.appointment);
  const loss = useStore(room.store, (s) => s.loss);
  const role = myRole({ lock, queue }, sessionId);

  const [form, setForm] = useState<FormValues>(emptyForm);
  const [base, setBase] = useState<Base | null>(null);
  const [busy, setBusy] = useState<Busy>(null);
  const [error, setError] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<Partial<Record<keyof FormValues, string>>>({});
  const [conflict, setConflict] = useState<Appointment | null>(null);
  const [lossReport, setLossReport] = useState<LossReport | null>(null);
  const [takeoverWinner, setTakeoverWinner] = useState<Lock | null>(null);
  const renewal = useRef(new RenewalThrottle());

  const draftQuery = useQuery({
    queryKey: ["draft", appointmentId],
    queryFn: async () => {
      try {
        return await getDraft(appointmentId);
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) return null;
        throw e;
      }
    },
    retry: false,
  });

  const holding = role === "holder";
  const dirty = holding && base !== null && !sameForm(form, base.values);

  // The latest values, for handlers that run outside React's render (pagehide, loss). Updated
  // after each commit, before any effect or event of the next one can read it.
  const latest = useRef({ role, lock, form, base, dirty });
  useLayoutEffect(() => {
    latest.current = { role, lock, form, base, dirty };
  });

  // Lost the lock (taken over, expired, released on disconnect): keep what was typed.
  useEffect(() => {
    if (!loss) return;
    room.store.setState({ loss: null });
    const { form: typed, base: from } = latest.current;
    const unsaved = from !== null && !sameForm(typed, from.values);
    setLossReport({ notice: loss, draftKept: unsaved ? false : null });
    setConflict(null);
    if (unsaved) {
      saveDraft(appointmentId, toFields(typed), from.version).then(
        () => {
          setLossReport((report) => (report ? { ...report, draftKept: true } : report));
          void queryClient.invalidateQueries({ queryKey: ["draft", appointmentId] });
        },
        () => {},
      );
    }
  }, [loss, room.store, appointmentId, queryClient]);

  // Viewers follow the live appointment; the holder starts from it when the grant arrives
  // (state adjusted while rendering, as React advises for state that follows a prop).
  const [wasHolding, setWasHolding] = useState(false);
  if (appointment && wasHolding !== holding) {
    setWasHolding(holding);
    if (holding) {
      const values = toForm(appointment);
      setForm(values);
      setBase({ version: appointment.version, values });
      setFieldErrors({});
    } else {
      setBase(null);
    }
  }
  if (!holding && appointment && !sameForm(form, toForm(appointment))) setForm(toForm(appointment));
  useEffect(() => {
    if (holding) renewal.current.renewed();
  }, [holding]);

  const applyGrant = useCallback(
    (granted: Lock) => {
      room.store.setState((s) => ({
        lock: newerLock(s.lock, granted),
        queue: s.queue.filter((w) => w.person.sessionId !== granted.holder.sessionId),
      }));
    },
    [room.store],
  );

  const run = useCallback(async (kind: Busy, action: () => Promise<void>) => {
    setBusy(kind);
    setError(null);
    try {
      await action();
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(null);
    }
  }, []);

  const startEditing = () =>
    run("acquire", async () => {
      const answer = await acquireLock(appointmentId, false);
      if ("lock" in answer) applyGrant(answer.lock);
    });

  const joinQueue = () =>
    run("queue", async () => {
      const answer = await acquireLock(appointmentId, true);
      if ("lock" in answer) applyGrant(answer.lock);
      else room.store.setState({ queue: answer.queue });
    });

  const leaveQueue = () =>
    run("queue", async () => {
      await releaseLock(appointmentId, null);
      room.store.setState((s) => ({ queue: s.queue.filter((w) => w.person.sessionId !== sessionId) }));
    });

  const save = (thenRelease: boolean) =>
    run(thenRelease ? "done" : "save", async () => {
      if (!lock || !base) return;
      const token = lock.fencingToken;
      if (dirty) {
        const errors = validateForm(form);
        setFieldErrors(errors);
        if (Object.keys(errors).length > 0) throw new Error("Check the highlighted fields.");
        try {
          const saved = await saveAppointment(appointmentId, toFields(form), base.version, token);
          const values = toForm(saved);
          room.store.setState((s) => (s.appointment && s.appointment.version >= saved.version ? {} : { appointment: saved }));
          setBase({ version: saved.version, values });
          setForm(values);
          renewal.current.renewed();
        } catch (e) {
          if (e instanceof ApiError && e.code === "version_conflict" && e.problem.current) setConflict(e.problem.current);
          throw e;
        }
      }
      if (thenRelease) {
        await releaseLock(appointmentId, token);
        room.store.setState((s) => (s.lock?.fencingToken === token ? { lock: null } : {}));
      }
    });

  const discardChanges = () => {
    if (base) setForm(base.values);
    setFieldErrors({});
    setError(null);
  };

  /** Take over `from`: the grant the admin saw when deciding. If it changed since, the server
   * refuses (takeover_conflict) and names the new holder, instead of taking from someone else. */
  const requestControl = (from: Lock, reason: string) =>
    run("takeover", async () => {
      setTakeoverWinner(null);
      try {
        const answer = await takeover(appointmentId, from.fencingToken, reason);
        applyGrant(answer.lock);
      } catch (e) {
        if (e instanceof ApiError && e.code === "takeover_conflict" && e.problem.lock) {
          setTakeoverWinner(e.problem.lock);
          applyGrant(e.problem.lock);
        }
        throw e;
      }
    });

  const keepEditing = () =>
    run("renew", async () => {
      const answer = await heartbeat(appointmentId);
      if ("lock" in answer) applyGrant(answer.lock);
      renewal.current.renewed();
    });

  /** Typing, focus, pointer movement: renew the lease, at most once every 30 s. */
  const activity = useCallback(() => {
    if (latest.current.role !== "holder" || !renewal.current.activity()) return;
    heartbeat(appointmentId).then(
      (answer) => {
        if ("lock" in answer) applyGrant(answer.lock);
      },
      () => renewal.current.reset(),
    );
  }, [appointmentId, applyGrant]);

  // A place in the queue lapses after 60 s unless renewed.
  useEffect(() => {
    if (role !== "queued") return;
    const timer = setInterval(() => void heartbeat(appointmentId).catch(() => {}), QUEUE_RENEW_MS);
    return () => clearInterval(timer);
  }, [role, appointmentId]);

  const restoreDraft = (draft: Draft) => {
    if (!holding || !appointment) return;
    const current = toForm(appointment);
    setForm(toForm(draft));
    // Keep the draft's base version: if the appointment moved on since, the save says so.
    setBase({ version: draft.baseVersion, values: current });
  };

  const conflictLoadLatest = () =>
    run("save", async () => {
      if (!conflict || !base) return;
      // What was typed stays findable as the draft.
      await saveDraft(appointmentId, toFields(form), base.version);
      void queryClient.invalidateQueries({ queryKey: ["draft", appointmentId] });
      const values = toForm(conflict);
      setBase({ version: conflict.version, values });
      setForm(values);
      setConflict(null);
    });

  const conflictKeepMine = () => {
    if (!conflict || !base) return;
    setBase({ version: conflict.version, values: toForm(conflict) });
    setConflict(null);
  };

  // Leaving: release this tab's grant (only that grant: the token fences it) and keep unsaved
  // edits as a draft. On pagehide the requests must outlive the page (keepalive).
  useEffect(() => {
    const leave = () => {
      const { role: r, lock: l, form: f, base: b, dirty: d } = latest.current;
      if (r === "holder" && l) {
        leaveOnPageHide(appointmentId, l.fencingToken, d && b ? { fields: toFields(f), baseVersion: b.version } : null);
      } else if (r === "queued") {
        leaveOnPageHide(appointmentId, null, null);
      }
    };
    const onPageHide = () => {
      leave();
      room.socket.stop();
    };
    const onPageShow = (event: PageTransitionEvent) => {
      if (!event.persisted) return;
      // Back from the back/forward cache: the lock may have changed meanwhile. A fresh socket
      // starts with a snapshot, which replaces everything we showed.
      room.socket.start();
      void queryClient.invalidateQueries({ queryKey: ["draft", appointmentId] });
    };
    window.addEventListener("pagehide", onPageHide);
    window.addEventListener("pageshow", onPageShow);
    return () => {
      window.removeEventListener("pagehide", onPageHide);
      window.removeEventListener("pageshow", onPageShow);
      leave();
    };
  }, [appointmentId, room.socket, queryClient]);

  return {
    role,
    lock,
    queue,
    appointment,
    form,
    setForm: (next: FormValues) => {
      setForm(next);
      activity();
    },
    fieldErrors,
    dirty,
    busy,
    error,
    clearError: () => setError(null),
    conflict,
    lossReport,
    dismissLoss: () => setLossReport(null),
    takeoverWinner,
    draft: draftQuery.data ?? null,
    startEditing,
    joinQueue,
    leaveQueue,
    save,
    discardChanges,
    requestControl,
    keepEditing,
    activity,
    restoreDraft,
    conflictLoadLatest,
    conflictKeepMine,
  };
}

export type Editor = ReturnType<typeof useEditor>;
