import { useEffect, useState } from "react";
import { startCountdown } from "./countdown";
import { serverClock } from "./serverClock";

/** Milliseconds left until `expiresAt` on the cluster clock, updated each second; null without one. */
export function useRemaining(expiresAt: string | null): number | null {
  const [remaining, setRemaining] = useState<number | null>(null);
  useEffect(() => {
    if (!expiresAt) {
      setRemaining(null);
      return;
    }
    return startCountdown({ expiresAt, serverNow: () => serverClock.now(), onTick: setRemaining });
  }, [expiresAt]);
  return expiresAt ? remaining : null;
}
