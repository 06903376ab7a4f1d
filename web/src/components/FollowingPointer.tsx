// Another viewer's pointer: an arrow and a name pill in the user's colour, in the spirit of
// Aceternity's "Following Pointer", built here on Motion. The position is a fraction of the
// form (so it lands on the same field whatever the window size), eased with a spring.

import { motion } from "motion/react";
import { userColor } from "@lockd/client";

interface FollowingPointerProps {
  userId: string;
  name: string;
  x: number;
  y: number;
  idle: boolean;
}

const spring = { type: "spring", stiffness: 420, damping: 34, mass: 0.6 } as const;

export function FollowingPointer({ userId, name, x, y, idle }: FollowingPointerProps) {
  const color = userColor(userId).solid;
  return (
    <motion.div
      className="pointer-events-none absolute left-0 top-0 z-20"
      data-testid="remote-pointer"
      data-user={userId}
      initial={{ left: `${x * 100}%`, top: `${y * 100}%`, opacity: 0, scale: 0.4 }}
      animate={{ left: `${x * 100}%`, top: `${y * 100}%`, opacity: idle ? 0.35 : 1, scale: 1 }}
      exit={{ opacity: 0, scale: 0.4, transition: { duration: 0.18 } }}
      transition={{ left: spring, top: spring, opacity: { duration: 0.3 }, scale: { duration: 0.2 } }}
    >
      <svg width="18" height="18" viewBox="0 0 16 16" className="-translate-x-[2px] -translate-y-[2px] drop-shadow-sm" aria-hidden="true">
        <path d="M1.5 1.2 14 6.1 8.3 7.9 6.2 14.2Z" fill={color} stroke="white" strokeWidth="1.2" strokeLinejoin="round" />
      </svg>
      <motion.span
        // Near the right edge the tag hangs to the left of the arrow; long names are cut short.
        className={`mt-0.5 block max-w-[10rem] truncate whitespace-nowrap rounded-full px-2 py-0.5 text-xs font-medium text-white shadow ${x > 0.6 ? "absolute right-2 top-4" : "ml-3"}`}
        dir="auto"
        title={name}
        style={{ backgroundColor: color }}
        initial={{ scale: 0.5, opacity: 0 }}
        animate={{ scale: 1, opacity: 1 }}
        exit={{ scale: 0.5, opacity: 0 }}
      >
        {name}
      </motion.span>
    </motion.div>
  );
}
