/**
 * The create-promo form holds strings, as inputs do; this schema checks them and turns them into the
 * API's body: rupees become paise, percentages stay whole numbers, blank optional fields are left out
 * and local date-times become ISO instants with a zone.
 */
import { z } from "zod";

import { formatMoney } from "@/lib/format";

import type { Promo, PromoKind } from "../api/schemas";

export type PromoFormValues = {
  code: string;
  description: string;
  kind: PromoKind;
  value: string;
  max_discount: string;
  min_order_amount: string;
  max_redemptions: string;
  once_per_user: boolean;
  valid_from: string;
  valid_until: string;
};

export const emptyPromoForm: PromoFormValues = {
  code: "", description: "", kind: "percent", value: "", max_discount: "", min_order_amount: "",
  max_redemptions: "", once_per_user: false, valid_from: "", valid_until: "",
};

export type PromoCreateBody = {
  code: string;
  kind: PromoKind;
  value: number;
  description?: string;
  max_discount?: number;
  min_order_amount?: number;
  max_redemptions?: number;
  once_per_user: boolean;
  valid_from?: string;
  valid_until?: string;
};

const MAX_PAISE = 100_000_000;

/** "250" or "99.50" rupees -> paise; undefined for blank, NaN for anything that is not an amount. */
export function rupeesToPaise(value: string): number | undefined {
  const text = value.trim();
  if (!text) return undefined;
  if (!/^\d+(\.\d{1,2})?$/.test(text)) return Number.NaN;
  return Math.round(Number(text) * 100);
}

/** A `datetime-local` value (local wall time) -> an ISO instant; undefined for blank, null if invalid. */
export function localDateTimeToIso(value: string): string | undefined | null {
  if (!value.trim()) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

function wholeNumber(value: string): number | undefined {
  const text = value.trim();
  if (!text) return undefined;
  return /^\d+$/.test(text) ? Number(text) : Number.NaN;
}

export const promoFormSchema = z
  .object({
    code: z.string(),
    description: z.string(),
    kind: z.enum(["percent", "flat"]),
    value: z.string(),
    max_discount: z.string(),
    min_order_amount: z.string(),
    max_redemptions: z.string(),
    once_per_user: z.boolean(),
    valid_from: z.string(),
    valid_until: z.string(),
  })
  .transform((form, ctx): PromoCreateBody => {
    const issue = (path: keyof PromoFormValues, message: string) => ctx.addIssue({ code: "custom", path: [path], message });
    const code = form.code.trim().toUpperCase();
    if (!/^[A-Z0-9][A-Z0-9_-]{2,31}$/.test(code)) issue("code", "3-32 letters, digits, '-' or '_'.");

    const value = form.kind === "percent" ? wholeNumber(form.value) : rupeesToPaise(form.value);
    if (value === undefined) issue("value", "Required.");
    else if (form.kind === "percent" && !(value >= 1 && value <= 100)) issue("value", "A whole percentage from 1 to 100.");
    else if (form.kind === "flat" && !(value >= 1 && value <= MAX_PAISE)) issue("value", "An amount in rupees, such as 50 or 49.50.");

    const maxDiscount = form.kind === "percent" ? rupeesToPaise(form.max_discount) : undefined;
    if (maxDiscount !== undefined && !(maxDiscount >= 1 && maxDiscount <= MAX_PAISE)) {
      issue("max_discount", "An amount in rupees, or leave it blank.");
    }
    const minOrder = rupeesToPaise(form.min_order_amount);
    if (minOrder !== undefined && !(minOrder >= 0 && minOrder <= MAX_PAISE)) {
      issue("min_order_amount", "An amount in rupees, or leave it blank.");
    }
    const maxRedemptions = wholeNumber(form.max_redemptions);
    if (maxRedemptions !== undefined && !(maxRedemptions >= 1 && maxRedemptions <= 10_000_000)) {
      issue("max_redemptions", "A whole number of at least 1, or blank for unlimited.");
    }
    const validFrom = localDateTimeToIso(form.valid_from);
    const validUntil = localDateTimeToIso(form.valid_until);
    if (validFrom === null) issue("valid_from", "Not a date and time.");
    if (validUntil === null) issue("valid_until", "Not a date and time.");
    if (validFrom && validUntil && validUntil <= validFrom) issue("valid_until", "Must be after the start.");

    const body: PromoCreateBody = { code, kind: form.kind, value: value ?? 0, once_per_user: form.once_per_user };
    const description = form.description.trim();
    if (description) body.description = description;
    if (maxDiscount !== undefined) body.max_discount = maxDiscount;
    if (minOrder !== undefined) body.min_order_amount = minOrder;
    if (maxRedemptions !== undefined) body.max_redemptions = maxRedemptions;
    if (validFrom) body.valid_from = validFrom;
    if (validUntil) body.valid_until = validUntil;
    return body;
  });

export type PromoFormErrors = Partial<Record<keyof PromoFormValues, string>>;

/** The API body, or the first message for each field that is wrong. */
export function parsePromoForm(values: PromoFormValues):
  { ok: true; body: PromoCreateBody } | { ok: false; errors: PromoFormErrors } {
  const result = promoFormSchema.safeParse(values);
  if (result.success) return { ok: true, body: result.data };
  const errors: PromoFormErrors = {};
  for (const issue of result.error.issues) {
    const key = issue.path[0] as keyof PromoFormValues | undefined;
    if (key && !errors[key]) errors[key] = issue.message;
  }
  return { ok: false, errors };
}

/** The deal in words: "20% off, up to ₹100" or "₹50 off", plus a minimum order when there is one. */
export function describePromoTerms(promo: Pick<Promo, "kind" | "value" | "max_discount" | "min_order_amount">): string {
  const deal = promo.kind === "percent"
    ? `${promo.value}% off${promo.max_discount ? `, up to ${formatMoney(promo.max_discount)}` : ""}`
    : `${formatMoney(promo.value)} off`;
  return promo.min_order_amount > 0 ? `${deal} on orders of ${formatMoney(promo.min_order_amount)} or more` : deal;
}

/** "3 / 100" or "3 / ∞" redemptions. */
export function describeRedemptions(promo: Pick<Promo, "redemptions" | "max_redemptions">): string {
  return `${promo.redemptions} / ${promo.max_redemptions ?? "∞"}`;
}
