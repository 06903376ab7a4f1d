import { AnimatePresence, motion } from "motion/react";
import type { AppointmentWithLock } from "@lockd/client";
import { sessionId } from "../lockd";
import { formatWhen } from "../lib/format";
import { appointmentPath } from "../router";
import { AppLink } from "./AppLink";
import { Avatar } from "./Avatar";

/** One appointment of the list: what and when, who saved it last, who edits it now, how many
 * people look at it. */
export function AppointmentRow({ appointment, saved, viewers }: { appointment: AppointmentWithLock; saved: string; viewers: number | undefined }) {
  const cancelled = appointment.status === "cancelled";
  return (
    <li data-testid={`row-${appointment.id}`}>
      <AppLink href={appointmentPath(appointment.id)} className="flex items-center gap-4 px-5 py-4 transition hover:bg-slate-50">
        <div className="min-w-0 flex-1">
          <div className="flex min-w-0 items-center gap-2">
            <span className={`truncate font-medium ${cancelled ? "text-slate-600 line-through" : ""}`} dir="auto">
              {appointment.title}
            </span>
            {cancelled && (
              <span className="shrink-0 rounded bg-rose-50 px-1.5 py-0.5 text-xs font-semibold text-rose-800 ring-1 ring-rose-200" data-testid="cancelled-badge">
                Cancelled
              </span>
            )}
          </div>
          <div className="mt-0.5 truncate text-sm text-slate-500">
            {formatWhen(appointment.startsAt, appointment.endsAt)} · {appointment.client} · {appointment.location}
          </div>
          <div className="mt-0.5 truncate text-xs text-slate-600">
            <span data-testid="last-saved">{saved}</span>
            {/* Nothing from a server that does not count viewers, nor when nobody looks. */}
            {viewers !== undefined && viewers > 0 && (
              <>
                {" · "}
                <span className="font-medium text-slate-700" data-testid="viewers-count">
                  {viewers} viewing
                </span>
              </>
            )}
          </div>
        </div>
        <LockBadge appointment={appointment} />
      </AppLink>
    </li>
  );
}

function LockBadge({ appointment }: { appointment: AppointmentWithLock }) {
  const { lock, queueLength } = appointment;
  return (
    <AnimatePresence mode="wait" initial={false}>
      {lock ? (
        <motion.span
          key={`locked-${lock.fencingToken}`}
          initial={{ opacity: 0, scale: 0.9 }}
          animate={{ opacity: 1, scale: 1 }}
          exit={{ opacity: 0, scale: 0.9 }}
          className="inline-flex items-center gap-2 rounded-full bg-amber-50 py-1 pl-1 pr-3 text-xs font-medium text-amber-900 ring-1 ring-amber-200"
          data-testid="lock-badge"
        >
          <Avatar userId={lock.holder.userId} name={lock.holder.name} size="sm" />
          <span>
            {lock.holder.sessionId === sessionId ? "You are editing" : `${lock.holder.name} is editing`}
            {queueLength > 0 && <span className="text-amber-700"> · {queueLength} waiting</span>}
          </span>
        </motion.span>
      ) : (
        <motion.span
          key="free"
          initial={{ opacity: 0 }}
          animate={{ opacity: 1 }}
          exit={{ opacity: 0 }}
          className="rounded-full bg-emerald-50 px-3 py-1 text-xs font-medium text-emerald-800 ring-1 ring-emerald-200"
          data-testid="lock-badge"
        >
          Free
        </motion.span>
      )}
    </AnimatePresence>
  );
}
