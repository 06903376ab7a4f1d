import { useEffect, useState } from "react";
import { AnimatePresence } from "motion/react";
import { useStore, type StoreApi } from "zustand";
import type { RoomState } from "../live/room";
import { FollowingPointer } from "./FollowingPointer";

/** A pointer that has not moved for this long fades: its owner is reading, not pointing. */
const IDLE_AFTER_MS = 5_000;

export function PointerLayer({ store }: { store: StoreApi<RoomState> }) {
  const pointers = useStore(store, (s) => s.pointers);
  const [now, setNow] = useState(() => Date.now());
  const hasPointers = Object.keys(pointers).length > 0;
  useEffect(() => {
    if (!hasPointers) return;
    const timer = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(timer);
  }, [hasPointers]);
  return (
    <div className="pointer-events-none absolute inset-0 overflow-visible" aria-hidden="true">
      <AnimatePresence>
        {Object.values(pointers).map((p) => (
          <FollowingPointer key={p.sessionId} userId={p.userId} name={p.name} x={p.x} y={p.y} idle={now - p.movedAtMs > IDLE_AFTER_MS} />
        ))}
      </AnimatePresence>
    </div>
  );
}
