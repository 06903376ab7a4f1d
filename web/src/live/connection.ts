// The connection shown in the header: the socket of the page on screen, and the node serving us.

import { create } from "zustand";
import type { ConnectionState } from "./socket";

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
