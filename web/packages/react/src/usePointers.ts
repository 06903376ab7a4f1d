// Others' pointers in, this tab's pointer out. Positions on the wire are {x, y} in 0..1 of the
// area they point at; pointers never enter the log, and the socket coalesces them.

import { useEffect, useMemo, useState } from "react";
import { POINTER_IDLE_MS, PointerThrottle, type RemotePointer } from "@lockd/client";
import { useRoom } from "./useRoom";
import { useStoreValue } from "./useStoreValue";

export interface FollowedPointer extends RemotePointer {
  /** Not moved for `idleMs`: its owner is reading, not pointing (draw it faded). */
  idle: boolean;
}

/** The other tabs' pointers over `appointmentId`, each marked idle once still for `idleMs`. */
export function useFollowingPointers(appointmentId: string, { idleMs = POINTER_IDLE_MS }: { idleMs?: number } = {}): FollowedPointer[] {
  const room = useRoom(appointmentId);
  const pointers = useStoreValue(room.store, (s) => s.pointers);
  // Idle is judged against this, read again each second while there is a pointer to judge.
  const [nowMs, setNowMs] = useState(() => Date.now());
  const hasPointers = Object.keys(pointers).length > 0;
  useEffect(() => {
    if (!hasPointers) return;
    const timer = setInterval(() => setNowMs(Date.now()), 1_000);
    return () => clearInterval(timer);
  }, [hasPointers]);
  return Object.values(pointers).map((p) => ({ ...p, idle: nowMs - p.movedAtMs > idleMs }));
}

export interface PointerSender {
  /** This tab's pointer at (x, y), each in 0..1 of the shared area (clamped). */
  move: (x: number, y: number) => void;
  /** It left the area. */
  leave: () => void;
}

/** Sends this tab's pointer over `appointmentId`'s socket, at most ~30 times a second and
 * always ending on the latest position (`PointerThrottle`). */
export function usePointerSender(appointmentId: string): PointerSender {
  const room = useRoom(appointmentId);
  const throttle = useMemo(
    () =>
      new PointerThrottle({
        move: (x, y) => room.socket.send({ type: "pointer", x, y }),
        leave: () => room.socket.send({ type: "pointerLeave" }),
      }),
    [room],
  );
  useEffect(() => () => throttle.cancel(), [throttle]);
  return useMemo(() => ({ move: (x, y) => throttle.move(x, y), leave: () => throttle.leave() }), [throttle]);
}
