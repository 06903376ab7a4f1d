import { useState } from "react";
import { formatDuration, formatRemaining, LOST_WHILE_DISCONNECTED, type Lock } from "@lockd/client";
import { FIELD_LABELS, type FieldName } from "../editor/editForm";
import type { LossReport } from "../editor/useEditor";
import { writtenReason } from "../lib/auditWords";
import { Button } from "./Button";
import { Dialog } from "./Dialog";

export function TakeoverDialog({
  open,
  lock,
  busy,
  onConfirm,
  onClose,
}: {
  open: boolean;
  lock: Lock | null;
  busy: boolean;
  onConfirm: (reason: string) => void;
  onClose: () => void;
}) {
  const [reason, setReason] = useState("");
  const holder = lock?.holder.name ?? "The current editor";
  return (
    <Dialog
      open={open}
      title="Take control of this appointment?"
      tone="danger"
      onClose={onClose}
      testId="takeover-dialog"
      actions={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button variant="danger" busy={busy} onClick={() => onConfirm(reason.trim())}>
            Take control
          </Button>
        </>
      }
    >
      <p>
        <strong>{holder}</strong> is editing it now. Taking control ends their editing at once: their form becomes read-only and
        their unsaved changes are kept for them as a draft.
      </p>
      <p>The takeover is recorded in the audit log with your name and the reason.</p>
      <label className="mt-3 block text-sm font-medium text-slate-700" htmlFor="takeover-reason">
        Reason (optional)
      </label>
      <input
        id="takeover-reason"
        type="text"
        maxLength={200}
        value={reason}
        onChange={(e) => setReason(e.target.value)}
        className="mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 text-sm"
        placeholder="e.g. the client called to move the time"
      />
    </Dialog>
  );
}

export function CancelAppointmentDialog({ open, busy, onConfirm, onClose }: { open: boolean; busy: boolean; onConfirm: () => void; onClose: () => void }) {
  return (
    <Dialog
      open={open}
      title="Cancel this appointment?"
      tone="danger"
      onClose={onClose}
      testId="cancel-dialog"
      actions={
        <>
          {/* Focus starts here: Enter keeps the appointment, never cancels it by accident. */}
          <Button onClick={onClose} data-autofocus>
            Keep it
          </Button>
          <Button variant="danger" busy={busy} onClick={onConfirm}>
            Cancel appointment
          </Button>
        </>
      }
    >
      <p>It stays in the list, marked cancelled, with everything it holds. You can reinstate it later.</p>
    </Dialog>
  );
}

export function StillEditingDialog({
  open,
  remainingMs,
  busy,
  onKeep,
  onDone,
}: {
  open: boolean;
  remainingMs: number;
  busy: boolean;
  onKeep: () => void;
  onDone: () => void;
}) {
  return (
    <Dialog
      open={open}
      title="Still editing?"
      onClose={onKeep}
      testId="still-editing-dialog"
      actions={
        <>
          <Button onClick={onDone}>Done</Button>
          {/* Focus starts here: Enter keeps the lock, never releases it by accident. */}
          <Button variant="primary" busy={busy} onClick={onKeep} data-autofocus>
            Keep editing
          </Button>
        </>
      }
    >
      <p>
        Your lock lapses in <strong className="font-mono tabular-nums">{formatRemaining(remainingMs)}</strong> without activity. Then
        anyone may start editing, and what you have not saved is kept as your draft.
      </p>
    </Dialog>
  );
}

export function LossDialog({ report, onClose }: { report: LossReport | null; onClose: () => void }) {
  const notice = report?.notice;
  let title = "";
  let detail = "";
  if (notice?.kind === "taken_over") {
    title = `${notice.by.name} took control`;
    const written = writtenReason(notice.reason);
    detail = `${notice.by.name} (${notice.by.email}) took over editing${written ? `: “${written}”` : ", giving no reason"}. Your form is read-only now.`;
  } else if (notice?.kind === "expired") {
    title = "Your lock lapsed";
    detail = `There was no activity for ${formatDuration(notice.ttlMs)}, so the lock was released. Your form is read-only now.`;
  } else if (notice?.kind === "unclaimed") {
    title = "Your turn passed";
    const window = notice.claimWindowMs > 0 ? ` within ${formatDuration(notice.claimWindowMs)}` : " in time";
    detail = `The lock was handed to you, but no one started editing${window}, so it passed to the next person in line.`;
  } else if (notice?.kind === "moved") {
    title = "You continued in another tab";
    detail = "You are editing this appointment in your other tab now, so the form here is read-only.";
  } else if (notice) {
    title = "Your lock was released";
    detail =
      notice.reason === "disconnected" || notice.reason === LOST_WHILE_DISCONNECTED
        ? "This tab lost its connection for too long, so the cluster released the lock."
        : "The lock was released from elsewhere.";
  }
  const moved = notice?.kind === "moved";
  const draft = {
    none: "You had no unsaved changes.",
    // In progress, not a promise: what happened replaces it.
    saving: "Saving your unsaved changes as a draft…",
    kept: moved
      ? "Your unsaved changes here are kept as a draft: your other tab offers them to restore."
      : "Your unsaved changes are kept as a draft: start editing again to restore them.",
    local:
      "Your unsaved changes could not be saved as a draft on the server, so they are kept only in this browser: open this appointment here again to restore them.",
    failed: "Your unsaved changes could not be kept as a draft, on the server or in this browser. Copy what you need from here:",
  }[report?.draft ?? "none"];
  return (
    <Dialog
      open={report !== null}
      title={title}
      // Moving to another tab was the person's own doing: not an alarm.
      tone={moved ? "default" : "danger"}
      testId="loss-dialog"
      actions={
        <Button variant="primary" onClick={onClose}>
          OK
        </Button>
      }
    >
      <p>{detail}</p>
      <p data-testid="draft-status">{draft}</p>
      {report?.draft === "failed" && (
        <div className="mt-2 space-y-2" data-testid="unsaved-text">
          {report.unsaved.map(({ field, text }) => (
            <UnsavedField key={field} field={field} text={text} />
          ))}
        </div>
      )}
    </Dialog>
  );
}

/** One field's unsaved text, read-only and selectable, to copy before it is gone. */
function UnsavedField({ field, text }: { field: FieldName; text: string }) {
  const id = `unsaved-${field}`;
  return (
    <div>
      <label htmlFor={id} className="block text-xs font-semibold text-slate-600">
        {FIELD_LABELS[field]}
      </label>
      <textarea
        id={id}
        readOnly
        dir="auto"
        rows={field === "notes" ? 4 : 1}
        value={text}
        className="mt-1 block w-full resize-y rounded-md border border-slate-300 bg-slate-50 px-2 py-1 text-sm"
      />
    </div>
  );
}
