import { AnimatePresence, motion } from "motion/react";
import { countdownCaption, formatRemaining } from "@lockd/client";
import { useClusterNow } from "@lockd/react";
import type { Editor } from "../editor/useEditor";
import { ACTIVITY_TICK_MS, COUNTDOWN_WARN_MS } from "../lib/constants";
import { editingSince } from "../lib/activity";
import { sessionId } from "../lockd";
import { askToNotify } from "../lib/systemNotification";
import { Avatar } from "./Avatar";
import { Button } from "./Button";

interface LockPanelProps {
  editor: Editor;
  isAdmin: boolean;
  /** Until the lease lapses or, for a lock handed over and not confirmed yet, until the claim
   * window ends. */
  remainingMs: number | null;
  /** The room is live; while not, the lock shown may already be gone. */
  synced: boolean;
  /** The holder's connection dropped (their tab left the room); the lock is still theirs. */
  away: boolean;
  /** The lock is this person's, held in another of their tabs. */
  otherTab: boolean;
  onRequestControl: () => void;
  /** "Cancel appointment": asks first (the page's dialog). */
  onCancelAppointment: () => void;
  /** "Start editing" a lock handed over: confirms it, ends the "your turn" notice. */
  onStartTurn: () => void;
}

/** The lock's state in words, its countdown, and what this person can do about it. */
export function LockPanel({ editor, isAdmin, remainingMs, synced, away, otherTab, onRequestControl, onCancelAppointment, onStartTurn }: LockPanelProps) {
  const { form } = editor;
  const { role, lock, queue, claiming } = editor.session.state;
  const actions = editor.session.actions;
  const { busy } = actions;
  // Handed over from the queue, its holder not started yet (as anyone sees it).
  const handed = Boolean(lock?.claimBy);
  const serverNowMs = useClusterNow(ACTIVITY_TICK_MS);
  const myPlace = queue.find((w) => w.person.sessionId === sessionId)?.position;
  const countdown = remainingMs === null ? null : formatRemaining(remainingMs);
  const tone = role === "holder" ? "border-indigo-200 bg-indigo-50" : lock ? "border-amber-200 bg-amber-50" : "border-emerald-200 bg-emerald-50";

  return (
    <section aria-label="Edit lock" className={`rounded-xl border p-4 transition-colors ${tone}`} data-testid="lock-panel" data-role={role}>
      <div className="flex flex-wrap items-center gap-4">
        <AnimatePresence mode="wait" initial={false}>
          <motion.div
            key={lock ? `${lock.fencingToken}-${role}` : "free"}
            initial={{ opacity: 0, y: 4 }}
            animate={{ opacity: 1, y: 0 }}
            exit={{ opacity: 0, y: -4 }}
            transition={{ duration: 0.15 }}
            className="flex min-w-0 flex-1 items-center gap-3"
          >
            {lock ? (
              <>
                <Avatar userId={lock.holder.userId} name={lock.holder.name} />
                <div className="min-w-0">
                  <p className="font-semibold" data-testid="lock-holder">
                    {role === "holder" ? (
                      !synced ? (
                        "Connection lost: your lock may be released meanwhile"
                      ) : claiming ? (
                        "Your turn: the lock is yours"
                      ) : (
                        "You are editing"
                      )
                    ) : otherTab ? (
                      "You are editing this in another tab"
                    ) : handed ? (
                      <>
                        Handed to <bdi>{lock.holder.name}</bdi>, waiting for them to start{countdown !== null && ` (${countdown})`}
                      </>
                    ) : (
                      <>
                        Locked: <bdi>{lock.holder.name}</bdi> is editing
                      </>
                    )}
                  </p>
                  {!handed && (
                    <p className="text-sm text-slate-700" data-testid="editing-since">
                      {editingSince(lock, serverNowMs)}
                    </p>
                  )}
                  {away && (
                    <p className="text-sm font-medium text-amber-900" role="status" data-testid="holder-away">
                      <bdi>{lock.holder.name}</bdi>&apos;s connection dropped: waiting for them to come back.
                    </p>
                  )}
                  <p className="truncate text-sm text-slate-600">
                    {role === "holder"
                      ? claiming
                        ? "Start editing before the time runs out, or it passes to the next person in line."
                        : "Others see your name and watch live."
                      : otherTab
                        ? "Continue here to move the lock to this tab; what you typed there is kept as your draft."
                        : lock.holder.email}
                    {lock.holder.role === "admin" && role !== "holder" ? " · admin" : ""}
                  </p>
                </div>
              </>
            ) : (
              <div>
                <p className="font-semibold text-emerald-900">No one is editing</p>
                <p className="text-sm text-emerald-800">Start editing to take the lock.</p>
              </div>
            )}
          </motion.div>
        </AnimatePresence>

        {lock && countdown !== null && (
          <div className="text-right" data-testid="countdown">
            <div className={`font-mono text-2xl font-semibold tabular-nums ${remainingMs !== null && remainingMs <= COUNTDOWN_WARN_MS ? "text-rose-700" : "text-slate-800"}`}>
              {countdown}
            </div>
            <div className="text-xs text-slate-600">{countdownCaption(role === "holder", handed)}</div>
          </div>
        )}
      </div>

      <div className="mt-3 flex flex-wrap items-center gap-2">
        {!lock && (
          <Button variant="primary" busy={busy === "acquire"} data-focus-next onClick={() => void actions.acquire()}>
            Start editing
          </Button>
        )}
        {claiming && lock && (
          <>
            <Button variant="primary" busy={busy === "renew"} data-focus-next onClick={onStartTurn}>
              Start editing
            </Button>
            <Button variant="ghost" disabled={busy !== null} onClick={() => void actions.release()}>
              Pass it on
            </Button>
          </>
        )}
        {role === "holder" && !claiming && (
          <>
            <Button variant="primary" busy={busy === "done"} disabled={busy !== null && busy !== "done"} data-focus-next onClick={() => void editor.save(true)}>
              Done
            </Button>
            <Button busy={busy === "save"} disabled={!form.isDirty || (busy !== null && busy !== "save")} onClick={() => void editor.save(false)}>
              Save
            </Button>
            <Button variant="ghost" disabled={!form.isDirty || busy !== null} onClick={editor.discardChanges}>
              Discard changes
            </Button>
            {/* Only a server that keeps a status can cancel. */}
            {editor.appointment?.status === "scheduled" && (
              <Button variant="ghost" className="text-rose-700 sm:ml-auto" disabled={busy !== null} onClick={onCancelAppointment}>
                Cancel appointment
              </Button>
            )}
            {editor.appointment?.status === "cancelled" && (
              <Button className="sm:ml-auto" busy={busy === "status"} disabled={busy !== null && busy !== "status"} onClick={() => void editor.setStatus("scheduled")}>
                Reinstate
              </Button>
            )}
          </>
        )}
        {lock && otherTab && (
          <Button variant="primary" busy={busy === "acquire"} data-focus-next onClick={() => void actions.continueHere(lock)}>
            Continue here
          </Button>
        )}
        {lock && role === "viewer" && !otherTab && (
          <Button
            busy={busy === "queue"}
            onClick={() => {
              // Asked here, on the click: browsers let only a person's gesture ask.
              askToNotify();
              void actions.joinQueue();
            }}
          >
            Notify me and take it when free
          </Button>
        )}
        {role === "queued" && (
          <>
            <span className="text-sm font-medium text-sky-900" data-testid="queue-position">
              You are #{myPlace} in line: when it frees it comes to you, and you are told.
            </span>
            <Button variant="ghost" busy={busy === "queue"} onClick={() => void actions.leaveQueue()}>
              Leave the line
            </Button>
          </>
        )}
        {lock && role !== "holder" && !otherTab && isAdmin && (
          <Button variant="danger" busy={busy === "takeover"} onClick={onRequestControl}>
            Request Control
          </Button>
        )}
      </div>

      {actions.error && (
        <p role="alert" className="mt-3 flex items-start justify-between gap-3 rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-800" data-testid="lock-error">
          <span>{actions.error}</span>
          <button type="button" className="text-rose-700 underline" onClick={actions.clearError}>
            Dismiss
          </button>
        </p>
      )}
    </section>
  );
}
