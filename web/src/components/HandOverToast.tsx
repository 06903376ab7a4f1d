import { motion } from "motion/react";
import { formatRemaining } from "@lockd/client";
import { Button } from "./Button";

interface HandOverToastProps {
  /** Not confirmed yet: the time left to start before the lock passes on. */
  claimRemainingMs: number | null;
  busy: boolean;
  onStart: () => void;
  onDismiss: () => void;
}

/** "Your turn": the lock came from the queue. Stays until the person acts on it or dismisses it. */
export function HandOverToast({ claimRemainingMs, busy, onStart, onDismiss }: HandOverToastProps) {
  return (
    <motion.section
      aria-label="Your turn"
      initial={{ opacity: 0, y: 12 }}
      animate={{ opacity: 1, y: 0 }}
      className="fixed inset-x-4 bottom-4 z-40 rounded-xl border border-indigo-200 bg-white p-4 shadow-xl sm:left-auto sm:w-96"
      data-testid="handover-toast"
    >
      <div role="alert">
        <p className="font-semibold text-indigo-900">Your turn: the lock is yours</p>
        <p className="mt-1 text-sm text-slate-700">
          {claimRemainingMs === null ? (
            "You can edit this appointment now."
          ) : (
            <>
              Start editing within <strong className="font-mono tabular-nums">{formatRemaining(claimRemainingMs)}</strong>, or it passes to the
              next person in line.
            </>
          )}
        </p>
      </div>
      <div className="mt-3 flex justify-end gap-2">
        <Button variant="ghost" onClick={onDismiss}>
          Dismiss
        </Button>
        <Button variant="primary" busy={busy} onClick={onStart}>
          Start editing
        </Button>
      </div>
    </motion.section>
  );
}
