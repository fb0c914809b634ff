import { describe, expect, it } from "vitest";

import { addDays, dayKey, formatPercent, nextDays, rangeProblem } from "./dates";

describe("report ranges", () => {
  const today = new Date(2026, 2, 1, 15, 0); // 1 March 2026, local time

  it("counts calendar days across month ends", () => {
    expect(dayKey(today)).toBe("2026-03-01");
    expect(addDays("2026-03-01", -1)).toBe("2026-02-28");
    expect(addDays("2024-02-28", 1)).toBe("2024-02-29");
    expect(addDays("2026-03-01", -29)).toBe("2026-01-31");
    expect(nextDays(7, today)).toEqual({ from: "2026-03-01", to: "2026-03-07" });
  });

  it("refuses what the API would refuse", () => {
    expect(rangeProblem({ from: "2026-03-01", to: "2026-03-01" })).toBeNull();
    expect(rangeProblem({ from: "2026-03-02", to: "2026-03-01" })).toMatch(/after/);
    expect(rangeProblem({ from: "", to: "2026-03-01" })).toMatch(/both/);
    expect(rangeProblem({ from: "2025-01-01", to: "2026-01-01" })).toBeNull(); // 366 days
    expect(rangeProblem({ from: "2025-01-01", to: "2026-01-02" })).toMatch(/366/);
  });

  it("formats percentages", () => {
    expect(formatPercent(40)).toBe("40%");
    expect(formatPercent(37.5)).toBe("37.5%");
  });
});
