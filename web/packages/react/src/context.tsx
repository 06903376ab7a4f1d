// The client every hook of this package uses, given once near the top of the app.

import { createContext, use, type ReactNode } from "react";
import type { LockdClient } from "@lockd/client";

const LockdContext = createContext<LockdClient | null>(null);

export function LockdProvider({ client, children }: { client: LockdClient; children?: ReactNode }) {
  return <LockdContext value={client}>{children}</LockdContext>;
}

/** The `LockdClient` of the nearest `<LockdProvider>`. */
export function useLockdClient(): LockdClient {
  const client = use(LockdContext);
  if (!client) throw new Error("@lockd/react: wrap the app in <LockdProvider client={createLockdClient(…)}>");
  return client;
}
