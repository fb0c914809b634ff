import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { clearQueuePass, getQueuePass, queuePassHeaders, setQueuePass } from "./queue-pass";

describe("queue passes", () => {
  beforeEach(() => {
    const store = new Map<string, string>();
    vi.stubGlobal("sessionStorage", {
      getItem: (k: string) => store.get(k) ?? null,
      setItem: (k: string, v: string) => void store.set(k, v),
      removeItem: (k: string) => void store.delete(k),
    });
    vi.stubGlobal("window", { dispatchEvent: vi.fn() });
    vi.stubGlobal("CustomEvent", class { constructor(public type: string, public init?: unknown) {} });
  });
  afterEach(() => vi.unstubAllGlobals());

  it("sends the pass of the showtime only, and forgets it when it expires or is cleared", () => {
    const soon = new Date(Date.now() + 60_000).toISOString();
    setQueuePass(7, "qp1.7.1.123.sig", soon);
    expect(queuePassHeaders(7)).toEqual({ "X-Queue-Pass": "qp1.7.1.123.sig" });
    expect(queuePassHeaders(8)).toEqual({});
    clearQueuePass(7);
    expect(getQueuePass(7)).toBeNull();
    setQueuePass(9, "qp1.9.1.1.sig", new Date(Date.now() - 1_000).toISOString());
    expect(queuePassHeaders(9)).toEqual({});
  });
});
