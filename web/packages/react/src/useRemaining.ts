import { useEffect, useState } from "react";
import { startCountdown } from "@lockd/client";
import { useLockdClient } from "./context";

/** Milliseconds left until `expiresAt` on the cluster clock, updated each second; null without one. */
export function useRemaining(expiresAt: string | null): number | null {
  const { clock } = useLockdClient();
  // The tick remembers which lease it counted, so a new lease never shows the old one's time.
  const [tick, setTick] = useState<{ expiresAt: string; remainingMs: number } | null>(null);
  useEffect(() => {
    if (!expiresAt) return;
    return startCountdown({ expiresAt, serverNow: () => clock.now(), onTick: (remainingMs) => setTick({ expiresAt, remainingMs }) });
  }, [expiresAt, clock]);
  return expiresAt && tick?.expiresAt === expiresAt ? tick.remainingMs : null;
}
