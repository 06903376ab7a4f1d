import { userColor } from "@lockd/client";
import { initials } from "../lib/initials";

interface AvatarProps {
  userId: string;
  name: string;
  size?: "sm" | "md";
  ring?: boolean;
  title?: string;
}

export function Avatar({ userId, name, size = "md", ring = false, title }: AvatarProps) {
  const color = userColor(userId);
  const dimensions = size === "sm" ? "h-7 w-7 text-[11px]" : "h-9 w-9 text-xs";
  return (
    <span
      className={`inline-flex shrink-0 select-none items-center justify-center rounded-full font-semibold ${dimensions} ${ring ? "ring-2 ring-white" : ""}`}
      style={{ backgroundColor: color.tint, color: color.solid }}
      title={title ?? name}
      aria-hidden="true"
    >
      {initials(name)}
    </span>
  );
}
