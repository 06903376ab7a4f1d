import { useEffect, useId, useRef } from "react";
import { useQuery } from "@tanstack/react-query";
import { describeError } from "@lockd/client";
import { lockd } from "../lockd";
import { queryKeys } from "../api/queryKeys";
import { AuditList } from "./AuditList";
import { Button } from "./Button";

/**
 * The appointment's audit trail, for admins, inside its page (leaving the page would release a
 * lock the admin holds): who held the lock, who took over from whom and why, what lapsed or
 * dropped, newest first. While open it follows the room: each lock event (`roomIndex`)
 * reads it again.
 */
export function AuditPanel({ appointmentId, roomIndex, onClose }: { appointmentId: string; roomIndex: number; onClose: () => void }) {
  const titleId = useId();
  const heading = useRef<HTMLHeadingElement>(null);
  const audit = useQuery({ queryKey: queryKeys.audit(appointmentId), queryFn: () => lockd.api.audit(appointmentId) });
  useEffect(() => heading.current?.focus(), []);
  const { refetch } = audit;
  useEffect(() => {
    void refetch();
  }, [roomIndex, refetch]);
  const records = audit.data ? [...audit.data.records].reverse() : [];
  return (
    <section id="audit-panel" aria-labelledby={titleId} className="space-y-3 rounded-xl border border-slate-200 bg-slate-50 p-4" data-testid="audit-panel">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h2 id={titleId} ref={heading} tabIndex={-1} className="text-lg font-semibold">
          Audit trail
        </h2>
        <Button variant="ghost" onClick={onClose}>
          Close
        </Button>
      </div>
      <p className="text-sm text-slate-600">Who held the lock, newest first (the latest 256 events).</p>
      {audit.isError ? (
        <p role="alert" className="rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-800">
          {describeError(audit.error)}
        </p>
      ) : (
        // Bounded, so the editor stays in reach below a long trail.
        <AuditList records={records} loading={audit.isPending} testId="audit-trail" className="max-h-80 overflow-y-auto" />
      )}
    </section>
  );
}
