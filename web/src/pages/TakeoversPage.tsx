import { useEffect, useRef } from "react";
import { useQuery } from "@tanstack/react-query";
import { describeError } from "@lockd/client";
import { lockd } from "../lockd";
import { queryKeys } from "../api/queryKeys";
import { useAuth } from "../auth";
import { AppLink } from "../components/AppLink";
import { AuditList } from "../components/AuditList";
import { Button } from "../components/Button";
import { RECENT_TAKEOVERS_MAX } from "../lib/constants";

/** Admins: the latest takeovers across the cluster, newest first, each with its reason and a
 * link to its appointment. */
export function TakeoversPage() {
  const isAdmin = useAuth((s) => s.auth?.profile.role === "admin");
  const heading = useRef<HTMLHeadingElement>(null);
  const takeovers = useQuery({
    queryKey: queryKeys.recentAudit("taken_over"),
    queryFn: () => lockd.api.recentAudit("taken_over", RECENT_TAKEOVERS_MAX),
    enabled: isAdmin,
    refetchOnMount: "always",
  });
  // The appointments' titles, to name each link.
  const appointments = useQuery({ queryKey: queryKeys.appointments(), queryFn: () => lockd.api.listAppointments(), enabled: isAdmin });
  useEffect(() => heading.current?.focus(), []);
  const titles = new Map(appointments.data?.appointments.map((a) => [a.id, a.title]));

  return (
    <section aria-labelledby="takeovers-title" className="space-y-4">
      <div>
        <AppLink href="/" className="text-sm text-indigo-700 hover:underline">
          ← All appointments
        </AppLink>
        <h1 id="takeovers-title" ref={heading} tabIndex={-1} className="mt-1 text-2xl font-semibold tracking-tight">
          Recent takeovers
        </h1>
        <p className="text-sm text-slate-600">Who took control from whom, and why, across every appointment; newest first.</p>
      </div>
      {!isAdmin ? (
        <p role="alert" className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900">
          Recent takeovers are for admins.
        </p>
      ) : takeovers.isError ? (
        <p role="alert" className="rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-800">
          {describeError(takeovers.error)}
        </p>
      ) : (
        <>
          <Button busy={takeovers.isFetching} onClick={() => void takeovers.refetch()}>
            Refresh
          </Button>
          <AuditList
            records={takeovers.data?.records ?? []}
            loading={takeovers.isPending}
            testId="recent-takeovers"
            appointmentTitle={(id) => titles.get(id) ?? id}
          />
        </>
      )}
    </section>
  );
}
