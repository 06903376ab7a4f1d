// The connection shown in the header: the socket of the page on screen, and the node serving us.

import { create } from "zustand";
import type { ConnectionState } from "@lockd/client";
import { lockd } from "../lockd";

interface ConnectionStore extends ConnectionState {
  nodeId: number | null;
  leaderId: number | null;
  set: (state: Partial<ConnectionStore>) => void;
}

export const useConnection = create<ConnectionStore>((set) => ({
  status: "connecting",
  attempts: 0,
  retryAtMs: null,
  nodeId: null,
  leaderId: null,
  set: (state) => set(state),
}));

/** A page's socket changed state: show it, and on (re)connect which node serves this tab. */
export function reportConnection(state: ConnectionState): void {
  useConnection.getState().set(state);
  if (state.status === "open") {
    lockd.api.clusterStatus().then((s) => useConnection.getState().set({ nodeId: s.nodeId, leaderId: s.leaderId ?? null }), () => {});
  }
}
