import { describe, expect, it } from "vitest";
import { createStore } from "./store";

describe("createStore", () => {
  it("tells listeners the new and the previous state, and stops when asked", () => {
    const store = createStore({ n: 1 });
    const heard: [number, number][] = [];
    const stop = store.subscribe((state, previous) => heard.push([state.n, previous.n]));
    store.setState({ n: 2 });
    stop();
    store.setState({ n: 3 });
    expect(heard).toEqual([[2, 1]]);
    expect(store.getState()).toEqual({ n: 3 });
  });

  it("says nothing when the same state is set again", () => {
    const state = { n: 1 };
    const store = createStore(state);
    let calls = 0;
    store.subscribe(() => calls++);
    store.setState(state);
    expect(calls).toBe(0);
  });
});
