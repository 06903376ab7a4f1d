// Every TanStack Query key of the app, from one factory, so a read and its invalidation can
// never disagree on a key's shape.

export const queryKeys = {
  appointments: () => ["appointments"] as const,
  appointment: (id: string) => ["appointment", id] as const,
  draft: (id: string) => ["draft", id] as const,
  audit: (id: string) => ["audit", id] as const,
  recentAudit: (action: string) => ["audit-recent", action] as const,
};
