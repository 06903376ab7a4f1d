import { FollowingPointers, useEditLock, usePresence } from "@lockd/react";

/** One appointment's form: editable only by the lock's holder, everyone's pointers on it. */
export function LockedForm({ id }: { id: string }) {
  const lock = useEditLock(id);
  const { viewers } = usePresence(id);
  const holder = lock.lock?.holder;
  return (
    <FollowingPointers appointmentId={id} onPointerMove={lock.activity} style={{ padding: 24, border: "1px solid #ccc", borderRadius: 12 }}>
      <p data-testid="holder">{lock.editing ? "You are editing" : holder ? `${holder.name} is editing` : "Nobody is editing"}</p>
      <p>{viewers.length} viewing · {lock.remainingMs === null ? "" : `${Math.ceil(lock.remainingMs / 1000)} s left`}</p>
      <input aria-label="Title" disabled={!lock.editing} onInput={lock.typed} />
      <textarea aria-label="Notes" disabled={!lock.editing} onInput={lock.typed} />
      <button onClick={() => void lock.acquire()} disabled={holder !== undefined}>Edit</button>
      <button onClick={() => void lock.release()} disabled={!lock.editing}>Done</button>
      {lock.error && <p role="alert">{lock.error}</p>}
    </FollowingPointers>
  );
}
