import { describe, expect, it } from "vitest";

import {
  describePromoTerms, describeRedemptions, emptyPromoForm, localDateTimeToIso, parsePromoForm, rupeesToPaise,
} from "./promo-form";

describe("rupeesToPaise", () => {
  it("turns rupees (up to two decimals) into integer paise", () => {
    expect(rupeesToPaise("250")).toBe(25_000);
    expect(rupeesToPaise(" 49.5 ")).toBe(4_950);
    expect(rupeesToPaise("0.07")).toBe(7);
    expect(rupeesToPaise("19.99")).toBe(1_999); // no float drift
  });
  it("is undefined for blank and NaN for anything else", () => {
    expect(rupeesToPaise("  ")).toBeUndefined();
    expect(rupeesToPaise("12.345")).toBeNaN();
    expect(rupeesToPaise("-5")).toBeNaN();
    expect(rupeesToPaise("1e3")).toBeNaN();
  });
});

describe("localDateTimeToIso", () => {
  it("reads datetime-local values as local time and answers an instant", () => {
    const iso = localDateTimeToIso("2030-01-15T18:30");
    expect(iso).toBe(new Date(2030, 0, 15, 18, 30).toISOString());
    expect(localDateTimeToIso("")).toBeUndefined();
    expect(localDateTimeToIso("not a date")).toBeNull();
  });
});

describe("parsePromoForm", () => {
  it("builds a percent body, upper-casing the code and leaving blank options out", () => {
    const result = parsePromoForm({ ...emptyPromoForm, code: " summer-25 ", value: "25", max_discount: "150" });
    expect(result).toEqual({ ok: true, body: { code: "SUMMER-25", kind: "percent", value: 25, max_discount: 15_000,
                                               once_per_user: false } });
  });

  it("builds a flat body in paise with every limit", () => {
    const result = parsePromoForm({
      ...emptyPromoForm, code: "FLAT50", kind: "flat", value: "50", max_discount: "999", min_order_amount: "300",
      max_redemptions: "100", once_per_user: true, description: "  Launch week ", valid_from: "2030-01-01T00:00",
      valid_until: "2030-01-08T00:00",
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.body).toEqual({
      code: "FLAT50", kind: "flat", value: 5_000, min_order_amount: 30_000, max_redemptions: 100, once_per_user: true,
      description: "Launch week", valid_from: new Date(2030, 0, 1).toISOString(),
      valid_until: new Date(2030, 0, 8).toISOString(),
    }); // a cap only means something for percent codes, so it is not sent for flat ones
  });

  it("names each wrong field", () => {
    const result = parsePromoForm({
      ...emptyPromoForm, code: "x!", value: "150", min_order_amount: "abc", max_redemptions: "0",
      valid_from: "2030-01-08T00:00", valid_until: "2030-01-01T00:00",
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(Object.keys(result.errors).sort()).toEqual(
      ["code", "max_redemptions", "min_order_amount", "valid_until", "value"]);
    expect(result.errors.value).toMatch(/1 to 100/);
    expect(result.errors.valid_until).toBe("Must be after the start.");
  });

  it("requires a value and refuses fractional percentages", () => {
    const missing = parsePromoForm({ ...emptyPromoForm, code: "ABC" });
    expect(missing.ok || missing.errors.value).toBe("Required.");
    const fractional = parsePromoForm({ ...emptyPromoForm, code: "ABC", value: "12.5" });
    expect(fractional.ok).toBe(false);
  });
});

describe("promo descriptions", () => {
  it("says the deal in rupees", () => {
    expect(describePromoTerms({ kind: "percent", value: 20, max_discount: 10_000, min_order_amount: 0 }))
      .toBe("20% off, up to ₹100");
    expect(describePromoTerms({ kind: "flat", value: 5_050, max_discount: null, min_order_amount: 50_000 }))
      .toBe("₹50.50 off on orders of ₹500 or more");
    expect(describeRedemptions({ redemptions: 3, max_redemptions: null })).toBe("3 / ∞");
    expect(describeRedemptions({ redemptions: 3, max_redemptions: 10 })).toBe("3 / 10");
  });
});
