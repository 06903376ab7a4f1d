import { queryKeys } from "../api/queryKeys";
import { useEffect, useReducer, useRef } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { AnimatePresence, motion } from "motion/react";
import { listAppointments } from "../api/endpoints";
import { describeError } from "../api/client";
import type { AppointmentWithLock, ListMessage } from "../api/types";
import { useAuth } from "../auth";
import { AppLink } from "../components/AppLink";
import { Avatar } from "../components/Avatar";
import { reportConnection } from "../live/connection";
import { emptyList, mergeRow, reduceList } from "../live/list";
import { LiveSocket } from "../live/socket";
import { socketProtocols, socketUrl } from "../live/urls";
import { appointmentPath, NEW_PATH } from "../router";
import { formatWhen } from "../lib/format";
import { lastSaved } from "../lib/activity";
import { serverClock } from "../lib/serverClock";
import { sessionId } from "../api/session";

export function ListPage() {
  const queryClient = useQueryClient();
  const query = useQuery({ queryKey: queryKeys.appointments(), queryFn: listAppointments });
  const refresh = useAuth((s) => s.refresh);
  const profile = useAuth((s) => s.auth?.profile);
  const [live, dispatch] = useReducer(reduceList, emptyList);
  // After sign-in or coming back from an appointment, focus starts at the page's heading.
  const heading = useRef<HTMLHeadingElement>(null);
  const loaded = query.data !== undefined;
  useEffect(() => {
    if (loaded) heading.current?.focus();
  }, [loaded]);

  useEffect(() => {
    const socket = new LiveSocket<ListMessage>({
      url: () => socketUrl("/updates"),
      protocols: socketProtocols,
      onMessage: (message) => {
        if (message.type === "pong" || message.type === "error" || message.type === "pointer" || message.type === "presence") return;
        // A new appointment: the REST list has its fields.
        if (message.type === "appointment.updated" && message.appointment.version === 1) {
          void queryClient.invalidateQueries({ queryKey: queryKeys.appointments() });
        }
        dispatch(message);
      },
      onStatus: reportConnection,
      onAuthExpired: refresh,
    });
    socket.start();
    return () => socket.stop();
  }, [queryClient, refresh]);

  if (query.isPending) return <p className="text-sm text-slate-500">Loading appointments…</p>;
  if (query.isError)
    return (
      <p role="alert" className="rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-800">
        {describeError(query.error)}
      </p>
    );
  const appointments = query.data.appointments.map((a) => mergeRow(a, live.rows[a.id])).sort((a, b) => a.startsAt.localeCompare(b.startsAt));
  // Savers named by id only (older servers): the names this page saw, and this person's own.
  const names = profile ? { ...live.names, [profile.userId]: profile.name } : live.names;
  const nowMs = serverClock.now();
  return (
    <section aria-labelledby="list-title">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h1 id="list-title" ref={heading} tabIndex={-1} className="text-xl font-semibold tracking-tight">
          Appointments
        </h1>
        <AppLink href={NEW_PATH} className="rounded-md bg-indigo-600 px-3.5 py-2 text-sm font-medium text-white hover:bg-indigo-700">
          New appointment
        </AppLink>
      </div>
      <p className="mt-1 text-sm text-slate-600">One person edits an appointment at a time; everyone else watches it live.</p>
      <ul className="mt-5 divide-y divide-slate-200 overflow-hidden rounded-xl border border-slate-200 bg-white shadow-sm">
        {appointments.map((appointment) => (
          <Row key={appointment.id} appointment={appointment} saved={lastSaved(appointment, names, nowMs)} />
        ))}
        {appointments.length === 0 && <li className="p-5 text-sm text-slate-500">No appointments yet.</li>}
      </ul>
    </section>
  );
}

function Row({ appointment, saved }: { appointment: AppointmentWithLock; saved: string }) {
  return (
    <li data-testid={`row-${appointment.id}`}>
      <AppLink href={appointmentPath(appointment.id)} className="flex items-center gap-4 px-5 py-4 transition hover:bg-slate-50">
        <div className="min-w-0 flex-1">
          <div className="truncate font-medium">{appointment.title}</div>
          <div className="mt-0.5 truncate text-sm text-slate-500">
            {formatWhen(appointment.startsAt, appointment.endsAt)} · {appointment.client} · {appointment.location}
          </div>
          <div className="mt-0.5 truncate text-xs text-slate-600" data-testid="last-saved">
            {saved}
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
