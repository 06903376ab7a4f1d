// An area (a form) whose viewers see each other's pointers: this tab's pointer is sent as a
// fraction of the area, the others' are drawn over it with their names, each in its user's
// colour. Plain DOM with inline styles, so it needs no CSS setup; an app with its own look
// builds on `useFollowingPointers` and `usePointerSender` instead.

import type { CSSProperties, PointerEvent, ReactNode } from "react";
import { userColor } from "@lockd/client";
import { useFollowingPointers, usePointerSender, type FollowedPointer } from "./usePointers";

export interface FollowingPointersProps {
  appointmentId: string;
  children?: ReactNode;
  className?: string;
  style?: CSSProperties;
  /** Also told of this tab's pointer moves (e.g. `useEditLock`'s `activity`). */
  onPointerMove?: (event: PointerEvent<HTMLDivElement>) => void;
  /** A pointer still for this long is drawn faded. */
  idleMs?: number;
}

const layer: CSSProperties = { position: "absolute", inset: 0, pointerEvents: "none", overflow: "hidden" };

export function FollowingPointers({ appointmentId, children, className, style, onPointerMove, idleMs }: FollowingPointersProps) {
  const sender = usePointerSender(appointmentId);
  const pointers = useFollowingPointers(appointmentId, idleMs === undefined ? {} : { idleMs });
  return (
    <div
      className={className}
      style={{ position: "relative", ...style }}
      onPointerMove={(event) => {
        const box = event.currentTarget.getBoundingClientRect();
        if (box.width > 0 && box.height > 0) sender.move((event.clientX - box.left) / box.width, (event.clientY - box.top) / box.height);
        onPointerMove?.(event);
      }}
      onPointerLeave={sender.leave}
    >
      {children}
      <div style={layer} aria-hidden="true">
        {pointers.map((p) => (
          <Pointer key={p.sessionId} pointer={p} />
        ))}
      </div>
    </div>
  );
}

function Pointer({ pointer }: { pointer: FollowedPointer }) {
  const color = userColor(pointer.userId).solid;
  return (
    <div
      data-lockd-pointer=""
      data-user={pointer.userId}
      style={{
        position: "absolute",
        left: `${pointer.x * 100}%`,
        top: `${pointer.y * 100}%`,
        opacity: pointer.idle ? 0.35 : 1,
        transition: "left 80ms linear, top 80ms linear, opacity 300ms",
      }}
    >
      <svg width="18" height="18" viewBox="0 0 16 16" style={{ display: "block" }}>
        <path d="M1.5 1.2 14 6.1 8.3 7.9 6.2 14.2Z" fill={color} stroke="white" strokeWidth="1.2" strokeLinejoin="round" />
      </svg>
      <span
        dir="auto"
        style={{
          display: "block",
          marginLeft: 12,
          maxWidth: "10rem",
          overflow: "hidden",
          textOverflow: "ellipsis",
          whiteSpace: "nowrap",
          borderRadius: 999,
          padding: "1px 8px",
          font: "500 12px/1.4 system-ui, sans-serif",
          color: "white",
          backgroundColor: color,
        }}
      >
        {pointer.name}
      </span>
    </div>
  );
}
