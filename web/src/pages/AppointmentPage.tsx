import { useEffect, useRef, useState, type PointerEvent } from "react";
import { useQuery } from "@tanstack/react-query";
import { useStore } from "zustand";
import { describeError, ApiError } from "../api/client";
import { getAppointment } from "../api/endpoints";
import type { Lock } from "../api/types";
import { useAuth } from "../auth";
import { AppointmentForm } from "../components/AppointmentForm";
import { Button } from "../components/Button";
import { LockPanel } from "../components/LockPanel";
import { LossDialog, StillEditingDialog, TakeoverDialog } from "../components/LockDialogs";
import { PointerLayer } from "../components/PointerLayer";
import { PresenceStrip } from "../components/PresenceStrip";
import { useEditor } from "../editor/useEditor";
import { PROMPT_BEFORE_EXPIRY_MS } from "../lib/countdown";
import { formatWhen, timeAgo } from "../lib/format";
import { PointerThrottle } from "../lib/pointerThrottle";
import { useRemaining } from "../lib/useRemaining";
import { serverClock } from "../lib/serverClock";
import { useRoom } from "../live/useRoom";
import { navigate } from "../router";

export function AppointmentPage({ id }: { id: string }) {
  // The REST read tells a missing appointment from a slow socket, and shows data at once.
  const initial = useQuery({ queryKey: ["appointment", id], queryFn: () => getAppointment(id) });
  const missing = initial.error instanceof ApiError && initial.error.status === 404;
  const room = useRoom(id, !missing);
  if (missing) {
    return (
      <div className="rounded-xl border border-slate-200 bg-white p-6" role="alert">
        <h1 className="text-lg font-semibold">This appointment does not exist</h1>
        <Button className="mt-3" onClick={() => navigate("/")}>
          Back to the appointments
        </Button>
      </div>
    );
  }
  return <Editor id={id} room={room} fallbackError={initial.error ? describeError(initial.error) : null} />;
}

function Editor({ id, room, fallbackError }: { id: string; room: ReturnType<typeof useRoom>; fallbackError: string | null }) {
  const profile = useAuth((s) => s.auth?.profile);
  const editor = useEditor(id, room);
  const synced = useStore(room.store, (s) => s.synced);
  const viewers = useStore(room.store, (s) => s.viewers);
  const announcement = useStore(room.store, (s) => s.announcement);
  const remaining = useRemaining(editor.lock?.expiresAt ?? null);
  // The grant an admin is about to take over, as shown when they asked.
  const [takeoverFrom, setTakeoverFrom] = useState<Lock | null>(null);
  const [draftDismissedAt, setDraftDismissedAt] = useState<string | null>(null);
  const formBox = useRef<HTMLDivElement>(null);
  const throttle = useRef<PointerThrottle | null>(null);
  throttle.current ??= new PointerThrottle({
    move: (x, y) => room.socket.send({ type: "pointer", x, y }),
    leave: () => room.socket.send({ type: "pointerLeave" }),
  });
  useEffect(() => () => throttle.current?.cancel(), []);

  // Focus the form when the lock becomes ours (from the queue, or after a takeover).
  const holding = editor.role === "holder";
  const wasHolding = useRef(holding);
  useEffect(() => {
    if (holding && !wasHolding.current) formBox.current?.querySelector<HTMLInputElement>("input[name=title]")?.focus();
    wasHolding.current = holding;
  }, [holding]);

  const onPointerMove = (event: PointerEvent<HTMLDivElement>) => {
    const box = formBox.current?.getBoundingClientRect();
    if (!box || box.width === 0 || box.height === 0) return;
    throttle.current?.move((event.clientX - box.left) / box.width, (event.clientY - box.top) / box.height);
    editor.activity();
  };

  const appointment = editor.appointment;
  if (!appointment) {
    return <p className="text-sm text-slate-500">{fallbackError ?? "Connecting to the appointment…"}</p>;
  }
  const isAdmin = profile?.role === "admin";
  const draft = editor.draft && editor.draft.savedAt !== draftDismissedAt ? editor.draft : null;
  const promptOpen = holding && remaining !== null && remaining > 0 && remaining <= PROMPT_BEFORE_EXPIRY_MS && editor.lossReport === null;
  const readOnlyReason = editor.lock
    ? holding
      ? ""
      : `Read-only: ${editor.lock.holder.name} is editing this appointment.`
    : "Read-only: start editing to change this appointment.";

  return (
    <div className="space-y-5">
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div>
          <button type="button" className="text-sm text-indigo-700 hover:underline" onClick={() => navigate("/")}>
            ← All appointments
          </button>
          <h1 className="mt-1 text-2xl font-semibold tracking-tight">{appointment.title}</h1>
          <p className="text-sm text-slate-600">
            {formatWhen(appointment.startsAt, appointment.endsAt)} · version {appointment.version}
          </p>
          {!synced && (
            <p role="status" className="mt-2 rounded-md bg-amber-50 px-3 py-1.5 text-sm text-amber-900 ring-1 ring-amber-200" data-testid="stale-notice">
              Connection lost: this may be out of date. Reconnecting…
            </p>
          )}
        </div>
        <PresenceStrip viewers={viewers} lock={editor.lock} queue={editor.queue} />
      </div>

      <LockPanel editor={editor} isAdmin={isAdmin} remainingMs={remaining} onRequestControl={() => setTakeoverFrom(editor.lock)} />

      {editor.takeoverWinner && (
        <p role="alert" className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900" data-testid="takeover-winner">
          {editor.takeoverWinner.holder.name} took control first; the lock is theirs now.
        </p>
      )}

      {editor.conflict && (
        <div role="alert" className="rounded-xl border border-rose-200 bg-rose-50 p-4 text-sm text-rose-900" data-testid="conflict">
          <p className="font-semibold">Someone saved a newer version</p>
          <p className="mt-1">
            {editor.conflict.updatedBy} saved version {editor.conflict.version} after the version your changes start from. Load the latest
            version (your changes are kept as a draft), or save yours over it.
          </p>
          <div className="mt-3 flex gap-2">
            <Button variant="primary" busy={editor.busy === "save"} onClick={() => void editor.conflictLoadLatest()}>
              Load the latest version
            </Button>
            <Button onClick={editor.conflictKeepMine}>Keep mine and save again</Button>
          </div>
        </div>
      )}

      {draft && (
        <div className="flex flex-wrap items-center gap-3 rounded-xl border border-sky-200 bg-sky-50 p-3 text-sm text-sky-900" data-testid="draft-banner">
          <span className="flex-1">
            You have unsaved changes from {timeAgo(draft.savedAt, serverClock.now())} (based on version {draft.baseVersion}).
            {!holding && " Start editing to restore them."}
          </span>
          {holding && (
            <Button
              variant="primary"
              onClick={() => {
                editor.restoreDraft(draft);
                setDraftDismissedAt(draft.savedAt);
              }}
            >
              Restore my draft
            </Button>
          )}
          <Button variant="ghost" onClick={() => setDraftDismissedAt(draft.savedAt)}>
            Hide
          </Button>
        </div>
      )}

      <div
        ref={formBox}
        className={`relative rounded-xl border bg-white p-5 shadow-sm transition-colors ${holding ? "border-indigo-300" : "border-slate-200"}`}
        onPointerMove={onPointerMove}
        onPointerLeave={() => throttle.current?.leave()}
        data-testid="form-box"
      >
        <AppointmentForm
          values={editor.form}
          editable={holding && editor.busy !== "done"}
          errors={editor.fieldErrors}
          onChange={editor.setForm}
          onActivity={editor.activity}
          readOnlyReason={readOnlyReason}
        />
        <PointerLayer store={room.store} />
      </div>

      <p className="sr-only" aria-live="polite" data-testid="announcer">
        {announcement?.text}
      </p>

      <TakeoverDialog
        open={takeoverFrom !== null && !holding}
        lock={takeoverFrom}
        busy={editor.busy === "takeover"}
        onClose={() => setTakeoverFrom(null)}
        onConfirm={(reason) => {
          if (takeoverFrom) void editor.requestControl(takeoverFrom, reason).finally(() => setTakeoverFrom(null));
        }}
      />
      <StillEditingDialog
        open={promptOpen}
        remainingMs={remaining ?? 0}
        busy={editor.busy === "renew"}
        onKeep={() => void editor.keepEditing()}
        onDone={() => void editor.save(true)}
      />
      <LossDialog report={editor.lossReport} onClose={editor.dismissLoss} />
    </div>
  );
}
