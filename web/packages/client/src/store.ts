// A value that changes over time, and who wants to hear of it: the smallest store a room needs,
// shaped for React's `useSyncExternalStore` (and any other framework's equivalent).

export interface Store<T> {
  getState(): T;
  /** Replaces the state; listeners hear of it only when it is another object. */
  setState(next: T): void;
  /** `listener(state, previous)` after each change; returns the function that stops it. */
  subscribe(listener: (state: T, previous: T) => void): () => void;
}

export function createStore<T>(initial: T): Store<T> {
  let state = initial;
  const listeners = new Set<(state: T, previous: T) => void>();
  return {
    getState: () => state,
    setState(next) {
      if (Object.is(next, state)) return;
      const previous = state;
      state = next;
      for (const listener of [...listeners]) listener(state, previous);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
