import { queryKeys } from "../api/queryKeys";
import { useEffect, useReducer, useRef, useState } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { describeError, emptyList, mergeRow, reduceList, viewersOf, type ListMessage } from "@lockd/client";
import { useAuth } from "../auth";
import { lockd } from "../lockd";
import { AppLink } from "../components/AppLink";
import { AppointmentRow } from "../components/AppointmentRow";
import { ListFilterBar } from "../components/ListFilterBar";
import { reportConnection } from "../live/connection";
import { NEW_PATH, TAKEOVERS_PATH } from "../router";
import { lastSaved } from "../lib/activity";
import { dayOptions, filterFromSearch, matchesFilter, noFilter, searchOfFilter, type ListFilter } from "../lib/listFilter";

export function ListPage() {
  const queryClient = useQueryClient();
  const query = useQuery({ queryKey: queryKeys.appointments(), queryFn: () => lockd.api.listAppointments() });
  const profile = useAuth((s) => s.auth?.profile);
  const [live, dispatch] = useReducer(reduceList, emptyList);
  const [filter, setFilter] = useState<ListFilter>(() => filterFromSearch(window.location.search));
  const changeFilter = (next: ListFilter) => {
    setFilter(next);
    // In the address: a reload, or coming back to this entry, keeps it.
    window.history.replaceState(window.history.state, "", `${window.location.pathname}${searchOfFilter(next)}`);
  };
  // After sign-in or coming back from an appointment, focus starts at the page's heading.
  const heading = useRef<HTMLHeadingElement>(null);
  const loaded = query.data !== undefined;
  useEffect(() => {
    if (loaded) heading.current?.focus();
  }, [loaded]);

  useEffect(() => {
    const socket = lockd.openSocket<ListMessage>("/updates", {
      onMessage: (message) => {
        if (message.type === "pong" || message.type === "error" || message.type === "pointer" || message.type === "presence") return;
        // A new appointment: the REST list has its fields.
        if (message.type === "appointment.updated" && message.appointment.version === 1) {
          void queryClient.invalidateQueries({ queryKey: queryKeys.appointments() });
        }
        dispatch(message);
      },
      onStatus: reportConnection,
    });
    socket.start();
    return () => socket.stop();
  }, [queryClient]);

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
  const nowMs = lockd.clock.now();
  const shown = appointments.filter((a) => matchesFilter(a, filter));
  return (
    <section aria-labelledby="list-title">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h1 id="list-title" ref={heading} tabIndex={-1} className="text-xl font-semibold tracking-tight">
          Appointments
        </h1>
        <div className="flex flex-wrap items-center gap-3">
          {profile?.role === "admin" && (
            <AppLink href={TAKEOVERS_PATH} className="text-sm font-medium text-indigo-700 underline-offset-2 hover:underline">
              Recent takeovers
            </AppLink>
          )}
          <AppLink href={NEW_PATH} className="rounded-md bg-indigo-600 px-3.5 py-2 text-sm font-medium text-white hover:bg-indigo-700">
            New appointment
          </AppLink>
        </div>
      </div>
      <p className="mt-1 text-sm text-slate-600">One person edits an appointment at a time; everyone else watches it live.</p>
      <ListFilterBar filter={filter} days={dayOptions(appointments)} shown={shown.length} total={appointments.length} onChange={changeFilter} />
      <ul className="mt-3 divide-y divide-slate-200 overflow-hidden rounded-xl border border-slate-200 bg-white shadow-sm" aria-label="Appointments">
        {shown.map((appointment) => (
          <AppointmentRow key={appointment.id} appointment={appointment} saved={lastSaved(appointment, names, nowMs)} viewers={viewersOf(appointment, live)} />
        ))}
        {appointments.length === 0 && <li className="p-5 text-sm text-slate-600">No appointments yet.</li>}
        {appointments.length > 0 && shown.length === 0 && (
          <li className="flex flex-wrap items-center gap-3 p-5 text-sm text-slate-600">
            No appointment matches.
            <button type="button" className="text-indigo-700 underline" onClick={() => changeFilter(noFilter)}>
              Show them all
            </button>
          </li>
        )}
      </ul>
    </section>
  );
}
