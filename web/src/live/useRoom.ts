// One appointment's live room: a store fed by the appointment's socket.

import { useEffect, useState } from "react";
import { createStore, type StoreApi } from "zustand/vanilla";
import type { AppointmentMessage } from "../api/types";
import { sessionId } from "../api/session";
import { useAuth } from "../auth";
import { reportConnection } from "./connection";
import { emptyRoom, reduceRoom, type LocalAction, type RoomState } from "./room";
import { LiveSocket } from "./socket";
import { socketProtocols, socketUrl } from "./urls";

export interface Room {
  store: StoreApi<RoomState>;
  socket: LiveSocket<AppointmentMessage>;
  /** Applies what this tab learnt from its own HTTP answers, through the same reducer. */
  dispatch: (action: LocalAction) => void;
}

export function useRoom(appointmentId: string, enabled: boolean): Room {
  const refresh = useAuth((s) => s.refresh);
  const [room] = useState<Room>(() => {
    const store = createStore<RoomState>(() => emptyRoom);
    // Read at each input: the person of this tab is fixed while a room lives (signing out
    // unmounts it), but the store is outside React.
    const me = () => ({ sessionId, nowMs: Date.now(), userId: useAuth.getState().auth?.profile.userId ?? null });
    const socket = new LiveSocket<AppointmentMessage>({
      url: () => socketUrl(`/appointments/${encodeURIComponent(appointmentId)}/updates`),
      protocols: socketProtocols,
      onMessage: (message) => store.setState((state) => reduceRoom(state, message, me()), true),
      onStatus: (state) => {
        reportConnection(state);
        // Disconnected: what we show may be stale until the next snapshot.
        if (state.status !== "open" && store.getState().synced) store.setState({ synced: false });
      },
      onAuthExpired: () => refresh(),
    });
    const dispatch = (action: LocalAction) => store.setState((state) => reduceRoom(state, action, me()), true);
    return { store, socket, dispatch };
  });

  useEffect(() => {
    if (!enabled) return;
    const { socket } = room;
    socket.start();
    // The browser knows first when the network goes: say so at once, not after a ping deadline.
    const online = () => socket.reconnectNow();
    const offline = () => socket.offline();
    window.addEventListener("online", online);
    window.addEventListener("offline", offline);
    return () => {
      window.removeEventListener("online", online);
      window.removeEventListener("offline", offline);
      socket.stop();
    };
  }, [room, enabled]);

  return room;
}
