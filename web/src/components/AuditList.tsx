import type { AuditRecord } from "@lockd/client";
import { describeAudit, formatAuditTime } from "../lib/auditWords";
import { appointmentPath } from "../router";
import { AppLink } from "./AppLink";

/** Records in words with their times; `appointmentTitle` links each to its appointment (the
 * cluster-wide list). */
export function AuditList({
  records,
  loading,
  testId,
  appointmentTitle,
  className = "overflow-hidden",
}: {
  records: AuditRecord[];
  loading: boolean;
  testId: string;
  appointmentTitle?: (id: string) => string;
  className?: string;
}) {
  if (loading) return <p className="text-sm text-slate-600">Loading…</p>;
  if (records.length === 0) return <p className="text-sm text-slate-600">Nothing recorded yet.</p>;
  return (
    <ol className={`divide-y divide-slate-200 rounded-xl border border-slate-200 bg-white shadow-sm ${className}`} data-testid={testId}>
      {records.map((record) => (
        <li key={`${record.appointmentId}-${record.seq}`} className="flex flex-col gap-1 px-5 py-3 sm:flex-row sm:items-baseline sm:gap-4" data-testid="audit-record" data-action={record.action}>
          <time dateTime={record.at} className="shrink-0 text-xs tabular-nums text-slate-600 sm:w-44">
            {formatAuditTime(record.at)}
          </time>
          <div className="min-w-0 flex-1">
            <p className="break-words text-sm text-slate-900" dir="auto">
              {describeAudit(record)}
            </p>
            {appointmentTitle && record.appointmentId && (
              <AppLink href={appointmentPath(record.appointmentId)} className="text-sm text-indigo-700 hover:underline">
                <bdi>{appointmentTitle(record.appointmentId)}</bdi>
              </AppLink>
            )}
          </div>
          {record.fencingToken !== null && <span className="shrink-0 text-xs text-slate-600">lock #{record.fencingToken}</span>}
        </li>
      ))}
    </ol>
  );
}
