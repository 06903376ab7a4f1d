import { FollowingPointers, useLockActions, useLockNotices, useLockState, usePresence } from "@lockd/react";

/** One appointment's form: editable only by the lock's holder, everyone's pointers on it. */
export function LockedForm({ id }: { id: string }) {
  const { editing, lock, remainingMs } = useLockState(id);
  const { acquire, release, activity, typed, error } = useLockActions(id);
  const { loss, dismissLoss } = useLockNotices(id);
  const { viewers } = usePresence(id);
  const holder = lock?.holder;
  return (
    <FollowingPointers appointmentId={id} onPointerMove={activity} style={{ padding: 24, border: "1px solid #ccc", borderRadius: 12 }}>
      <p data-testid="holder">{editing ? "You are editing" : holder ? `${holder.name} is editing` : "Nobody is editing"}</p>
      <p>{viewers.length} viewing · {remainingMs === null ? "" : `${Math.ceil(remainingMs / 1000)} s left`}</p>
      <input aria-label="Title" disabled={!editing} onInput={typed} />
      <textarea aria-label="Notes" disabled={!editing} onInput={typed} />
      <button onClick={() => void acquire()} disabled={holder !== undefined}>Edit</button>
      <button onClick={() => void release()} disabled={!editing}>Done</button>
      {error && <p role="alert">{error}</p>}
      {loss && (
        <p role="status">
          {loss.kind === "taken_over" ? `${loss.by.name} took over.` : "You no longer hold the lock."} <button onClick={dismissLoss}>OK</button>
        </p>
      )}
    </FollowingPointers>
  );
}
