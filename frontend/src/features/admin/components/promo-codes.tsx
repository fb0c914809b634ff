import { useState, type FormEvent } from "react";

import { Alert, Button, Card, Input, PageSpinner, Pagination, Select } from "@/components/ui";
import { ApiError, errorMessage } from "@/lib/api-client";
import { formatDateTime } from "@/lib/format";

import { useCreatePromoCode } from "../api/create-promo-code";
import { useDeactivatePromoCode } from "../api/deactivate-promo-code";
import { usePromoCodes } from "../api/get-promo-codes";
import type { Promo, PromoKind } from "../api/schemas";
import {
  describePromoTerms, describeRedemptions, emptyPromoForm, parsePromoForm, type PromoFormErrors, type PromoFormValues,
} from "../utils/promo-form";

import { EmptyRow, SectionHeading, StatusPill, Table, Td, Th, Tr } from "./table";

/** Field errors the API returned (`details.fields`) mapped onto the form. */
function apiFieldErrors(error: unknown): PromoFormErrors {
  if (!(error instanceof ApiError)) return {};
  if (error.code === "promo_code_taken") return { code: error.message };
  const fields = error.details.fields;
  if (!fields || typeof fields !== "object") return {};
  const out: PromoFormErrors = {};
  for (const [key, value] of Object.entries(fields as Record<string, unknown>)) {
    const text = Array.isArray(value) ? value.join(" ") : String(value);
    if (key in emptyPromoForm) out[key as keyof PromoFormValues] = text;
  }
  return out;
}

function CreatePromoForm() {
  const [values, setValues] = useState<PromoFormValues>(emptyPromoForm);
  const [errors, setErrors] = useState<PromoFormErrors>({});
  const [created, setCreated] = useState<string | null>(null);
  const create = useCreatePromoCode();
  const set = <K extends keyof PromoFormValues>(key: K, value: PromoFormValues[K]) => {
    setValues((v) => ({ ...v, [key]: value }));
    setErrors((e) => ({ ...e, [key]: undefined }));
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setCreated(null);
    const parsed = parsePromoForm(values);
    if (!parsed.ok) {
      setErrors(parsed.errors);
      return;
    }
    create.mutate(parsed.body, {
      onSuccess: (promo) => {
        setCreated(promo.code);
        setValues(emptyPromoForm);
        setErrors({});
      },
      onError: (err) => setErrors(apiFieldErrors(err)),
    });
  };
  const percent = values.kind === "percent";

  return (
    <Card className="p-5">
      <form onSubmit={submit} noValidate aria-labelledby="promo-create-heading" className="space-y-4">
        <h3 id="promo-create-heading" className="font-semibold text-white">New promo code</h3>
        <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
          <Input label="Code" required value={values.code} error={errors.code} maxLength={32} autoComplete="off"
                 hint="3-32 letters, digits, - or _" onChange={(e) => set("code", e.target.value.toUpperCase())} />
          <Select label="Kind" value={values.kind} onChange={(e) => set("kind", e.target.value as PromoKind)}>
            <option value="percent">Percent off</option>
            <option value="flat">Flat amount off</option>
          </Select>
          <Input label={percent ? "Percent off" : "Amount off (₹)"} required inputMode={percent ? "numeric" : "decimal"}
                 value={values.value} error={errors.value} onChange={(e) => set("value", e.target.value)} />
          {percent && (
            <Input label="Maximum discount (₹)" inputMode="decimal" value={values.max_discount} hint="Optional"
                   error={errors.max_discount} onChange={(e) => set("max_discount", e.target.value)} />
          )}
          <Input label="Minimum order (₹)" inputMode="decimal" value={values.min_order_amount} hint="Optional"
                 error={errors.min_order_amount} onChange={(e) => set("min_order_amount", e.target.value)} />
          <Input label="Total redemptions" inputMode="numeric" value={values.max_redemptions} hint="Blank for unlimited"
                 error={errors.max_redemptions} onChange={(e) => set("max_redemptions", e.target.value)} />
          <Input label="Valid from" type="datetime-local" value={values.valid_from} hint="Optional"
                 error={errors.valid_from} onChange={(e) => set("valid_from", e.target.value)} />
          <Input label="Valid until" type="datetime-local" value={values.valid_until} hint="Optional"
                 error={errors.valid_until} onChange={(e) => set("valid_until", e.target.value)} />
          <Input label="Description" value={values.description} maxLength={200} className="sm:col-span-2"
                 hint="Optional, for staff" onChange={(e) => set("description", e.target.value)} />
          <label className="flex items-center gap-2 self-center text-sm text-slate-200 sm:col-span-2">
            <input type="checkbox" checked={values.once_per_user} className="h-4 w-4 accent-gold-400"
                   onChange={(e) => set("once_per_user", e.target.checked)} />
            Once per customer
          </label>
        </div>
        {create.isError && <Alert>{errorMessage(create.error)}</Alert>}
        {created && <Alert tone="success">Promo code {created} created.</Alert>}
        <Button type="submit" loading={create.isPending}>Create promo code</Button>
      </form>
    </Card>
  );
}

function validity(promo: Promo): string {
  if (promo.valid_from && promo.valid_until) return `${formatDateTime(promo.valid_from)} – ${formatDateTime(promo.valid_until)}`;
  if (promo.valid_from) return `From ${formatDateTime(promo.valid_from)}`;
  if (promo.valid_until) return `Until ${formatDateTime(promo.valid_until)}`;
  return "Always";
}

function PromoRow({ promo }: { promo: Promo }) {
  const deactivate = useDeactivatePromoCode();
  const [confirming, setConfirming] = useState(false);
  return (
    <Tr data-testid="promo-row" data-code={promo.code}>
      <Td>
        <span className="font-mono font-semibold text-gold-300">{promo.code}</span>
        {promo.description && <span className="block text-xs text-slate-400">{promo.description}</span>}
      </Td>
      <Td>{describePromoTerms(promo)}{promo.once_per_user && <span className="block text-xs text-slate-400">Once per customer</span>}</Td>
      <Td numeric>{describeRedemptions(promo)}</Td>
      <Td className="text-xs">{validity(promo)}</Td>
      <Td>
        <StatusPill tone={promo.is_active ? "green" : "grey"} testId="promo-status">
          {promo.is_active ? "active" : "inactive"}
        </StatusPill>
      </Td>
      <Td className="text-right">
        {promo.is_active && (confirming ? (
          <div role="group" aria-label={`Confirm deactivating ${promo.code}`} className="flex justify-end gap-2">
            <Button variant="danger" size="sm" loading={deactivate.isPending}
                    onClick={() => deactivate.mutate(promo.id, { onSettled: () => setConfirming(false) })}>
              Deactivate
            </Button>
            <Button variant="ghost" size="sm" onClick={() => setConfirming(false)}>Keep</Button>
          </div>
        ) : (
          <Button variant="ghost" size="sm" aria-label={`Deactivate ${promo.code}`} onClick={() => setConfirming(true)}>
            Deactivate…
          </Button>
        ))}
        {deactivate.isError && <p role="alert" className="mt-1 text-xs text-rose-400">{errorMessage(deactivate.error)}</p>}
      </Td>
    </Tr>
  );
}

type ActiveFilter = "" | "true" | "false";

/** Promo codes, newest first: create, list, deactivate. */
export function PromoCodes() {
  const [page, setPage] = useState(1);
  const [active, setActive] = useState<ActiveFilter>("");
  const promos = usePromoCodes({ page, active: active === "" ? undefined : active === "true" });

  return (
    <section aria-labelledby="promos-heading" className="space-y-4">
      <SectionHeading id="promos-heading" title="Promo codes" description="Discounts customers enter at checkout.">
        <Select label="Show" value={active} className="w-36" onChange={(e) => { setActive(e.target.value as ActiveFilter); setPage(1); }}>
          <option value="">All codes</option>
          <option value="true">Active</option>
          <option value="false">Inactive</option>
        </Select>
      </SectionHeading>
      <CreatePromoForm />
      {promos.isPending ? <PageSpinner label="Loading promo codes…" />
        : promos.isError ? <Alert title="Could not load promo codes">{errorMessage(promos.error)}</Alert>
        : (
          <>
            <Table caption="Promo codes" testId="promo-table">
              <thead>
                <tr>
                  <Th>Code</Th>
                  <Th>Terms</Th>
                  <Th numeric>Used</Th>
                  <Th>Valid</Th>
                  <Th>Status</Th>
                  <Th className="text-right"><span className="sr-only">Actions</span></Th>
                </tr>
              </thead>
              <tbody>
                {promos.data.items.length === 0
                  ? <EmptyRow colSpan={6}>No promo codes yet.</EmptyRow>
                  : promos.data.items.map((p) => <PromoRow key={p.id} promo={p} />)}
              </tbody>
            </Table>
            <Pagination page={page} perPage={promos.data.per_page} total={promos.data.total} onPage={setPage}
                        label="Promo code pages" />
          </>
        )}
    </section>
  );
}
