import { useEffect, useState } from "react";
import { serverClock } from "./serverClock";

/** The cluster's time, read again every `tickMs` (for words like "idle 3 min"). */
export function useServerNow(tickMs: number): number {
  const [now, setNow] = useState(() => serverClock.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(serverClock.now()), tickMs);
    return () => clearInterval(timer);
  }, [tickMs]);
  return now;
}
