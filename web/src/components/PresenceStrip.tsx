import { AnimatePresence, motion } from "motion/react";
import type { Lock, Viewer, Waiter } from "@lockd/client";
import { useAuth } from "../auth";
import { sessionId } from "../lockd";
import { Avatar } from "./Avatar";

interface PresenceStripProps {
  viewers: Viewer[];
  lock: Lock | null;
  queue: Waiter[];
}

/** Who has this appointment open (one entry per tab), who edits it, and who waits for it. */
export function PresenceStrip({ viewers, lock, queue }: PresenceStripProps) {
  const position = new Map(queue.map((w) => [w.person.sessionId, w.position]));
  const myUserId = useAuth((s) => s.auth?.profile.userId);
  return (
    <section aria-label="Viewers" className="flex flex-wrap items-center gap-3">
      <span className="text-xs font-medium uppercase tracking-wide text-slate-500">Viewing</span>
      <ul className="flex flex-wrap items-center gap-2" data-testid="presence">
        <AnimatePresence initial={false}>
          {viewers.map((v) => {
            const editing = lock?.holder.sessionId === v.sessionId;
            // Handed over from the queue, not started yet: their turn, not their editing.
            const state = lock?.claimBy ? (v.sessionId === sessionId ? "your turn" : "their turn") : "editing";
            const waiting = position.get(v.sessionId);
            const you = v.sessionId === sessionId;
            // This person's other tab: theirs, but not this one.
            const otherTab = !you && v.userId === myUserId;
            const label = `${v.name}${you ? " (you)" : otherTab ? " (your other tab)" : ""}${editing ? `, ${state}` : ""}${waiting ? `, #${waiting} in line` : ""} · node ${v.nodeId}`;
            return (
              <motion.li
                key={v.sessionId}
                layout
                initial={{ opacity: 0, scale: 0.6 }}
                animate={{ opacity: 1, scale: 1 }}
                exit={{ opacity: 0, scale: 0.6 }}
                className={`flex items-center gap-1.5 rounded-full border bg-white py-0.5 pl-0.5 pr-2.5 text-xs ${editing ? "border-amber-300" : "border-slate-200"}`}
                title={`${label} (${v.email})`}
                data-testid="viewer"
                data-user={v.userId}
              >
                <Avatar userId={v.userId} name={v.name} size="sm" />
                <bdi className="inline-block max-w-[8rem] truncate align-bottom font-medium">{you ? "You" : otherTab ? "Your other tab" : v.name.split(" ")[0]}</bdi>
                {editing && <span className="rounded bg-amber-100 px-1 text-[10px] font-semibold text-amber-800">{state}</span>}
                {waiting !== undefined && <span className="rounded bg-sky-100 px-1 text-[10px] font-semibold text-sky-800">#{waiting} in line</span>}
                <span className="sr-only">{label}</span>
              </motion.li>
            );
          })}
        </AnimatePresence>
      </ul>
    </section>
  );
}
