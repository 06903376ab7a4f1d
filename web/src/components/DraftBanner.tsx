import { useEffect, useRef, useState } from "react";
import { describeError } from "@lockd/client";
import type { OfferedDraft } from "../editor/editForm";
import { timeAgo } from "../lib/format";
import { lockd } from "../lockd";
import { Button } from "./Button";

interface DraftBannerProps {
  draft: OfferedDraft;
  holding: boolean;
  onRestore: () => void;
  onHide: () => void;
  /** Throws it away for good (server and browser). */
  onDiscard: () => Promise<void>;
}

/** Unsaved changes kept from before, offered back: restore, hide for now, or discard for good
 * (asked once more: it cannot be undone). */
export function DraftBanner({ draft, holding, onRestore, onHide, onDiscard }: DraftBannerProps) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const confirmButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (confirming) confirmButton.current?.focus();
  }, [confirming]);

  const discard = async () => {
    setBusy(true);
    setError(null);
    try {
      await onDiscard();
    } catch (e) {
      setError(`Not discarded: ${describeError(e)}`);
      setBusy(false);
    }
  };

  return (
    <div className="flex flex-wrap items-center gap-3 rounded-xl border border-sky-200 bg-sky-50 p-3 text-sm text-sky-900" data-testid="draft-banner">
      {confirming ? (
        <>
          <span className="flex-1" role="alert">
            Discard these unsaved changes for good? They cannot be restored afterwards.
          </span>
          <Button ref={confirmButton} variant="danger" busy={busy} onClick={() => void discard()}>
            Discard for good
          </Button>
          <Button variant="ghost" disabled={busy} onClick={() => setConfirming(false)}>
            Keep them
          </Button>
        </>
      ) : (
        <>
          <span className="flex-1">
            You have unsaved changes from {timeAgo(draft.savedAt, lockd.clock.now())} (based on version {draft.baseVersion})
            {draft.source === "browser" ? ", kept in this browser." : "."}
            {!holding && " Start editing to restore them."}
          </span>
          {holding && (
            <Button variant="primary" onClick={onRestore}>
              Restore my draft
            </Button>
          )}
          <Button variant="ghost" onClick={onHide}>
            Hide
          </Button>
          <Button variant="ghost" className="text-rose-700" onClick={() => setConfirming(true)}>
            Discard…
          </Button>
        </>
      )}
      {error && (
        <p role="alert" className="basis-full text-rose-800">
          {error}
        </p>
      )}
    </div>
  );
}
