import { useCallback, useSyncExternalStore } from "react";
import type { Store } from "@lockd/client";

/** `select(state)` of a @lockd/client store, re-rendering when it changes. `select` must return
 * a value already in the state (or a primitive): a new object each call would never settle. */
export function useStoreValue<T, U>(store: Store<T>, select: (state: T) => U): U {
  const subscribe = useCallback((changed: () => void) => store.subscribe(changed), [store]);
  const read = () => select(store.getState());
  // The same on the server: a page rendered there shows the state the store has then.
  return useSyncExternalStore(subscribe, read, read);
}
