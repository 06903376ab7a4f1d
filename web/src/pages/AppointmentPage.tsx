import { queryKeys } from "../api/queryKeys";
import { useEffect, useRef, useState, type PointerEvent } from "react";
import { useQuery } from "@tanstack/react-query";
import { ApiError, describeError, heldInOtherTab, holderAway, nameOf, promptBeforeExpiryMs, type Lock } from "@lockd/client";
import { usePointerSender, useStoreValue } from "@lockd/react";
import { useAuth } from "../auth";
import { AppointmentForm } from "../components/AppointmentForm";
import { Button } from "../components/Button";
import { LockPanel } from "../components/LockPanel";
import { CancelAppointmentDialog, LossDialog, StillEditingDialog, TakeoverDialog } from "../components/LockDialogs";
import { PointerLayer } from "../components/PointerLayer";
import { PresenceStrip } from "../components/PresenceStrip";
import { useEditor } from "../editor/useEditor";
import { useHandOver } from "../editor/useHandOver";
import { HandOverToast } from "../components/HandOverToast";
import { ConflictPanel } from "../components/ConflictPanel";
import { lockd, sessionId } from "../lockd";
import { formatWhen } from "../lib/format";
import { lastSaved } from "../lib/activity";
import { worthRestoring } from "../editor/editForm";
import { anchorOf } from "../lib/pointerAnchor";
import { reportConnection } from "../live/connection";
import { navigate } from "../router";
import { AuditPanel } from "../components/AuditPanel";
import { DraftBanner } from "../components/DraftBanner";

export function AppointmentPage({ id }: { id: string }) {
  // The REST read tells a missing appointment from a slow socket, and shows data at once.
  const initial = useQuery({ queryKey: queryKeys.appointment(id), queryFn: () => lockd.api.getAppointment(id) });
  const missing = initial.error instanceof ApiError && initial.error.status === 404;
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
  return <Editor id={id} fallbackError={initial.error ? describeError(initial.error) : null} />;
}

function Editor({ id, fallbackError }: { id: string; fallbackError: string | null }) {
  const profile = useAuth((s) => s.auth?.profile);
  const editor = useEditor(id);
  const { room, form, drafts } = editor;
  const { state: lockState, actions, notices } = editor.session;
  const { synced } = lockState;
  const viewers = useStoreValue(room.store, (s) => s.viewers);
  const announcement = useStoreValue(room.store, (s) => s.announcement);
  const names = useStoreValue(room.store, (s) => s.names);
  const away = useStoreValue(room.store, (s) => holderAway(s, sessionId));
  const otherTab = useStoreValue(room.store, (s) => heldInOtherTab(s, { sessionId, userId: profile?.userId }));
  // A lock handed over and not started yet counts down its claim window, not its lease.
  const remaining = lockState.remainingMs;
  // The grant an admin is about to take over, as shown when they asked.
  const [takeoverFrom, setTakeoverFrom] = useState<Lock | null>(null);
  const [draftDismissedAt, setDraftDismissedAt] = useState<string | null>(null);
  const [auditOpen, setAuditOpen] = useState(false);
  const [cancelAsked, setCancelAsked] = useState(false);
  const roomIndex = useStoreValue(room.store, (s) => s.index);
  const formBox = useRef<HTMLDivElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const pointer = usePointerSender(id);
  // The header's indicator follows this page's socket.
  useEffect(() => {
    reportConnection(room.connection.getState());
    return room.connection.subscribe(reportConnection);
  }, [room]);

  const holding = lockState.role === "holder";
  // Holding and started: a lock handed over waits for the person before the form is theirs.
  const editing = holding && !lockState.claiming;
  const appointment = editor.appointment;
  const focusTitle = () => formBox.current?.querySelector<HTMLInputElement>("input[name=title]")?.focus();
  /** "Start editing" on the turn's notice (in the page or the system's): the person starts. */
  const startTurn = () => {
    if (lockState.claiming) void actions.confirmClaim();
    notices.seenHandOver();
    focusTitle();
  };
  const turn = useHandOver(room, notices, appointment?.title ?? "", startTurn);
  const promptOpen =
    editing &&
    remaining !== null &&
    lockState.ttlMs !== null &&
    remaining > 0 &&
    remaining <= promptBeforeExpiryMs(lockState.ttlMs) &&
    drafts.lossReport === null;
  const takeoverOpen = takeoverFrom !== null && !holding;

  // Focus: the page's heading when it opens; the first field when the lock becomes ours; and
  // wherever an action or a dialog left focus on nothing (a button that went away or was
  // disabled), the next sensible control.
  const loaded = appointment !== null;
  useEffect(() => {
    if (loaded) heading.current?.focus();
  }, [loaded]);
  // Not while a handed-over lock waits: focusing the form then would pull the person away from
  // whatever they were doing before they chose to start.
  const wasEditing = useRef(editing);
  useEffect(() => {
    if (editing && !wasEditing.current) formBox.current?.querySelector<HTMLInputElement>("input[name=title]")?.focus();
    wasEditing.current = editing;
  }, [editing]);
  const lossOpen = drafts.lossReport !== null;
  useEffect(() => {
    if (document.activeElement !== document.body && document.activeElement !== null) return;
    const next = document.querySelector<HTMLElement>("[data-focus-next]:not([disabled])") ?? heading.current;
    next?.focus();
  }, [actions.busy, lossOpen, promptOpen, takeoverOpen, holding, cancelAsked]);
  // A save refused for invalid fields: the first of them.
  useEffect(() => {
    if (editor.invalidAttempt > 0) formBox.current?.querySelector<HTMLElement>("[aria-invalid=true]")?.focus();
  }, [editor.invalidAttempt]);

  // Ctrl+S / Cmd+S saves while editing (and never opens the browser's "save page").
  const { save } = editor;
  const canSave = holding && form.isDirty && actions.busy === null;
  useEffect(() => {
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.key.toLowerCase() !== "s" || !(event.ctrlKey || event.metaKey) || event.altKey || !holding) return;
      event.preventDefault();
      if (canSave) void save(false);
    };
    window.addEventListener("keydown", onKeyDown);
    return () => window.removeEventListener("keydown", onKeyDown);
  }, [holding, canSave, save]);

  const onPointerMove = (event: PointerEvent<HTMLDivElement>) => {
    const box = formBox.current;
    if (!box) return;
    const anchor = anchorOf(box, event.clientX, event.clientY);
    if (anchor) pointer.move(anchor.x, anchor.y);
    actions.activity();
  };

  if (!appointment) {
    return <p className="text-sm text-slate-500">{fallbackError ?? "Connecting to the appointment…"}</p>;
  }
  const isAdmin = profile?.role === "admin";
  const offered = drafts.draft;
  // Not while this person edits in another tab: that tab's form is the work in progress.
  const draft = offered && !otherTab && offered.savedAt !== draftDismissedAt && worthRestoring(offered, appointment) ? offered : null;
  const lock = lockState.lock;
  const readOnlyReason = lock
    ? holding
      ? ""
      : otherTab
        ? "Read-only: you are editing this appointment in another tab."
        : `Read-only: ${lock.holder.name} is editing this appointment.`
    : "Read-only: start editing to change this appointment.";

  return (
    <div className="space-y-5">
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div className="min-w-0">
          <button type="button" className="text-sm text-indigo-700 hover:underline" onClick={() => navigate("/")}>
            ← All appointments
          </button>
          <h1 ref={heading} tabIndex={-1} className="mt-1 text-2xl font-semibold tracking-tight break-words" dir="auto">
            {appointment.title}
          </h1>
          {appointment.status === "cancelled" && (
            <p role="status" className="mt-2 inline-block rounded-md bg-rose-50 px-3 py-1 text-sm font-medium text-rose-800 ring-1 ring-rose-200" data-testid="cancelled-notice">
              This appointment is cancelled.
            </p>
          )}
          <p className="text-sm text-slate-600">
            {formatWhen(appointment.startsAt, appointment.endsAt)} · <span data-testid="version">version {appointment.version}</span>
            {" · "}
            <span data-testid="last-saved">{lastSaved(appointment, names, lockd.clock.now())}</span>
            {isAdmin && (
              <>
                {" · "}
                <button
                  type="button"
                  className="text-indigo-700 underline-offset-2 hover:underline"
                  aria-expanded={auditOpen}
                  aria-controls="audit-panel"
                  onClick={() => setAuditOpen((open) => !open)}
                >
                  Audit trail
                </button>
              </>
            )}
          </p>
          {!synced && (
            <p role="status" className="mt-2 rounded-md bg-amber-50 px-3 py-1.5 text-sm text-amber-900 ring-1 ring-amber-200" data-testid="stale-notice">
              Connection lost: this may be out of date. Reconnecting…
            </p>
          )}
        </div>
        <PresenceStrip viewers={viewers} lock={lock} queue={lockState.queue} />
      </div>

      {isAdmin && auditOpen && (
        <AuditPanel
          appointmentId={id}
          roomIndex={roomIndex}
          onClose={() => {
            setAuditOpen(false);
            heading.current?.focus();
          }}
        />
      )}

      <LockPanel
        editor={editor}
        isAdmin={isAdmin}
        remainingMs={remaining}
        synced={synced}
        away={away}
        otherTab={otherTab}
        onRequestControl={() => setTakeoverFrom(lock)}
        onCancelAppointment={() => setCancelAsked(true)}
        onStartTurn={startTurn}
      />

      {actions.takeoverWinner && (
        <p role="alert" className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900" data-testid="takeover-winner">
          {actions.takeoverWinner.holder.name} took control first; the lock is theirs now.
        </p>
      )}

      {editor.conflict && (
        <ConflictPanel
          conflict={editor.conflict}
          savedBy={nameOf({ names }, editor.conflict.theirs.updatedBy)}
          values={form.values}
          busy={actions.busy === "save"}
          onLoadLatest={() => void editor.conflictLoadLatest()}
          onKeepMine={editor.conflictKeepMine}
          onChoose={editor.chooseField}
          onSaveChosen={() => void editor.saveChosen()}
        />
      )}

      {draft && (
        <DraftBanner
          key={draft.savedAt}
          draft={draft}
          holding={holding}
          onRestore={() => {
            editor.restoreDraft(draft);
            setDraftDismissedAt(draft.savedAt);
          }}
          onHide={() => setDraftDismissedAt(draft.savedAt)}
          onDiscard={drafts.discard}
        />
      )}

      <div
        ref={formBox}
        className={`relative rounded-xl border bg-white p-5 shadow-sm transition-colors ${holding ? "border-indigo-300" : "border-slate-200"}`}
        onPointerMove={onPointerMove}
        onPointerLeave={pointer.leave}
        data-testid="form-box"
      >
        <AppointmentForm
          values={form.values}
          editable={holding && actions.busy !== "done"}
          errors={form.edit?.errors ?? {}}
          onChange={(values) => {
            form.setValues(values);
            // Typing is acting: it starts a handed-over lock and ends the "your turn" notice.
            actions.typed();
            if (turn.handOver) turn.seen();
          }}
          onActivity={actions.activity}
          readOnlyReason={readOnlyReason}
        />
        <PointerLayer appointmentId={id} formBox={formBox} />
      </div>

      <p className="sr-only" aria-live="polite" data-testid="announcer">
        {announcement?.text}
      </p>

      <TakeoverDialog
        open={takeoverOpen}
        lock={takeoverFrom}
        busy={actions.busy === "takeover"}
        onClose={() => setTakeoverFrom(null)}
        onConfirm={(reason) => {
          if (takeoverFrom) void actions.takeover(takeoverFrom, reason).finally(() => setTakeoverFrom(null));
        }}
      />
      <CancelAppointmentDialog
        open={cancelAsked && holding}
        busy={actions.busy === "status"}
        onClose={() => setCancelAsked(false)}
        onConfirm={() => void editor.setStatus("cancelled").finally(() => setCancelAsked(false))}
      />
      <StillEditingDialog
        open={promptOpen}
        remainingMs={remaining ?? 0}
        busy={actions.busy === "renew"}
        onKeep={() => void actions.keepEditing()}
        onDone={() => void editor.save(true)}
      />
      <LossDialog report={drafts.lossReport} onClose={drafts.dismissLoss} />
      {turn.handOver && holding && (
        <HandOverToast claimRemainingMs={lockState.claiming ? remaining : null} busy={actions.busy === "renew"} onStart={startTurn} onDismiss={turn.seen} />
      )}
    </div>
  );
}
