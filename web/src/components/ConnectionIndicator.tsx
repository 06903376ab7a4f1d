import { useEffect, useState } from "react";
import { useConnection } from "../live/connection";

export function ConnectionIndicator() {
  const { status, retryAtMs, nodeId, attempts } = useConnection();
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (status !== "reconnecting") return;
    const timer = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(timer);
  }, [status]);
  const node = nodeId === null ? "" : ` · node ${nodeId}`;
  let dot = "bg-amber-400";
  let text = "Connecting…";
  if (status === "open") {
    dot = "bg-emerald-500";
    text = `Live${node}`;
  } else if (status === "reconnecting") {
    dot = "bg-rose-500";
    const seconds = retryAtMs === null ? 0 : Math.max(0, Math.ceil((retryAtMs - now) / 1000));
    text = seconds > 0 ? `Reconnecting in ${seconds} s (attempt ${attempts})` : "Reconnecting…";
  } else if (status === "offline") {
    dot = "bg-rose-500";
    text = "Offline: waiting for the network";
  } else if (status === "stopped") {
    dot = "bg-slate-400";
    text = `Idle${node}`;
  }
  return (
    <div className="flex min-w-0 items-center gap-2 text-xs text-slate-600" role="status" aria-live="polite" data-testid="connection">
      <span className={`relative inline-flex h-2.5 w-2.5 shrink-0 rounded-full ${dot}`} aria-hidden="true">
        {status === "open" && <span className="absolute inset-0 animate-ping rounded-full bg-emerald-400 opacity-60" />}
      </span>
      <span className="truncate">{text}</span>
    </div>
  );
}
