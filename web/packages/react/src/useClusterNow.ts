import { useEffect, useState } from "react";
import { useLockdClient } from "./context";

/** The cluster's time, read again every `tickMs` (for words like "idle 3 min"). */
export function useClusterNow(tickMs: number): number {
  const { clock } = useLockdClient();
  const [now, setNow] = useState(() => clock.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(clock.now()), tickMs);
    return () => clearInterval(timer);
  }, [tickMs, clock]);
  return now;
}
