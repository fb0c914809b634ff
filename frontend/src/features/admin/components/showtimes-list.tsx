import { Fragment, useState } from "react";

import { Alert, Button, PageSpinner, Pagination, Spinner } from "@/components/ui";
import { errorMessage } from "@/lib/api-client";
import { formatDateTime, formatMoney } from "@/lib/format";

import { useCancelShowtime } from "../api/cancel-showtime";
import { useOccupancyReport } from "../api/get-occupancy-report";
import { useShowtimeSales } from "../api/get-showtime-sales";
import type { OccupancyRow } from "../api/schemas";
import { nextDays } from "../utils/dates";
import { describeCancellation, plural } from "../utils/summaries";

import { OnSaleForm } from "./on-sale-form";
import { EmptyRow, SectionHeading, StatusPill, Table, Td, Th, Tr } from "./table";

function SalesDetail({ showtimeId }: { showtimeId: number }) {
  const sales = useShowtimeSales(showtimeId);
  if (sales.isPending) return <Spinner label="Loading sales…" />;
  if (sales.isError) return <Alert>{errorMessage(sales.error)}</Alert>;
  const s = sales.data;
  return (
    <div className="grid gap-4 sm:grid-cols-[auto_1fr]" data-testid="showtime-sales">
      <dl className="grid grid-cols-2 gap-x-6 gap-y-1 text-sm">
        <dt className="text-slate-400">Revenue</dt>
        <dd className="text-right font-semibold text-white" data-testid="showtime-revenue">
          {formatMoney(s.revenue.amount, s.revenue.currency)}
        </dd>
        <dt className="text-slate-400">Bookings</dt>
        <dd className="text-right">{s.bookings_confirmed} confirmed · {s.bookings_cancelled} cancelled</dd>
        <dt className="text-slate-400">Seats</dt>
        <dd className="text-right">
          {s.seats.booked ?? 0} booked · {s.seats.available ?? 0} free · {s.seats.blocked ?? 0} blocked of {s.seats_total}
        </dd>
      </dl>
      {s.sections.length > 0 && (
        <table className="text-sm">
          <caption className="sr-only">Seats by section</caption>
          <thead>
            <tr className="text-xs text-slate-400">
              <th scope="col" className="px-3 text-left font-medium">Section</th>
              <th scope="col" className="px-3 text-right font-medium">Booked</th>
              <th scope="col" className="px-3 text-right font-medium">Free</th>
              <th scope="col" className="px-3 text-right font-medium">Blocked</th>
            </tr>
          </thead>
          <tbody>
            {s.sections.map((section) => (
              <tr key={section.name}>
                <th scope="row" className="px-3 text-left font-normal capitalize">{section.name}</th>
                <td className="px-3 text-right tabular-nums">{section.booked}</td>
                <td className="px-3 text-right tabular-nums">{section.available}</td>
                <td className="px-3 text-right tabular-nums">{section.blocked}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function ShowtimeRow({ row }: { row: OccupancyRow }) {
  const [open, setOpen] = useState(false);
  const [onSale, setOnSale] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const cancel = useCancelShowtime();
  const cancelled = row.status === "cancelled";
  const label = `${row.movie.title}, ${formatDateTime(row.starts_at)}`;
  const detailId = `showtime-${row.showtime_id}-detail`;
  const showDetail = open || onSale || confirming || cancel.isError || cancel.isSuccess;

  return (
    <Fragment>
      <Tr data-testid="showtime-row" data-showtime-id={row.showtime_id}>
        <Td>
          <span className="font-medium text-white">{row.movie.title}</span>
          <span className="block text-xs text-slate-400">#{row.showtime_id}</span>
        </Td>
        <Td>{formatDateTime(row.starts_at)}</Td>
        <Td>{row.theatre.name}<span className="block text-xs text-slate-400">{row.screen}</span></Td>
        <Td>
          <StatusPill tone={cancelled ? "red" : "green"} testId="showtime-status">{row.status}</StatusPill>
        </Td>
        <Td numeric>{row.sold} / {row.capacity}</Td>
        <Td className="text-right">
          <div className="flex justify-end gap-2">
            <Button variant="secondary" size="sm" aria-expanded={open} aria-controls={detailId}
                    aria-label={`${open ? "Hide" : "Show"} sales of ${label}`} onClick={() => setOpen(!open)}>
              {open ? "Hide sales" : "Sales"}
            </Button>
            {!cancelled && (
              <Button variant="secondary" size="sm" aria-expanded={onSale} aria-controls={detailId}
                      aria-label={`On-sale settings of ${label}`} onClick={() => setOnSale(!onSale)}>
                On-sale
              </Button>
            )}
            {!cancelled && !confirming && (
              <Button variant="ghost" size="sm" aria-label={`Cancel showtime ${label}`} onClick={() => setConfirming(true)}>
                Cancel…
              </Button>
            )}
          </div>
        </Td>
      </Tr>
      {showDetail && (
        <tr id={detailId} className="border-b border-ink-800 bg-ink-850/60">
          <td colSpan={6} className="space-y-3 px-4 py-4">
            {confirming && (
              <div role="group" aria-label={`Confirm cancelling ${label}`}
                   className="flex flex-wrap items-center gap-3 rounded-lg bg-rose-500/10 px-4 py-3 ring-1 ring-rose-500/30">
                <p className="flex-1 text-sm text-rose-100">
                  Cancel this showtime? Every booking ({plural(row.sold, "seat")} sold) is cancelled
                  and refunded in full, and it stops selling. This cannot be undone.
                </p>
                <Button variant="danger" size="sm" loading={cancel.isPending}
                        onClick={() => cancel.mutate(row.showtime_id, { onSettled: () => setConfirming(false) })}>
                  Yes, cancel and refund
                </Button>
                <Button variant="ghost" size="sm" disabled={cancel.isPending} onClick={() => setConfirming(false)}>
                  Keep it
                </Button>
              </div>
            )}
            {cancel.isError && <Alert>{errorMessage(cancel.error)}</Alert>}
            {cancel.data && <Alert tone="success">{describeCancellation(cancel.data)}</Alert>}
            {onSale && <OnSaleForm showtimeId={row.showtime_id} />}
            {open && <SalesDetail showtimeId={row.showtime_id} />}
          </td>
        </tr>
      )}
    </Fragment>
  );
}

/** Showtimes from today on, with their sales and a cancel action that refunds every booking. */
export function ShowtimesList() {
  const [range] = useState(() => nextDays(14));
  const [page, setPage] = useState(1);
  const showtimes = useOccupancyReport({ ...range, page });

  return (
    <section aria-labelledby="showtimes-heading" className="space-y-4">
      <SectionHeading id="showtimes-heading" title="Showtimes"
                      description={`Showtimes from today to ${range.to}, cancelled ones included.`} />
      {showtimes.isPending ? <PageSpinner label="Loading showtimes…" />
        : showtimes.isError ? <Alert title="Could not load showtimes">{errorMessage(showtimes.error)}</Alert>
        : (
          <>
            <Table caption="Upcoming showtimes" testId="showtimes-table">
              <thead>
                <tr>
                  <Th>Movie</Th>
                  <Th>Starts</Th>
                  <Th>Theatre</Th>
                  <Th>Status</Th>
                  <Th numeric>Sold</Th>
                  <Th className="text-right"><span className="sr-only">Actions</span></Th>
                </tr>
              </thead>
              <tbody>
                {showtimes.data.items.length === 0
                  ? <EmptyRow colSpan={6}>No showtimes in the next two weeks.</EmptyRow>
                  : showtimes.data.items.map((row) => <ShowtimeRow key={row.showtime_id} row={row} />)}
              </tbody>
            </Table>
            <Pagination page={page} perPage={showtimes.data.per_page} total={showtimes.data.total} onPage={setPage}
                        label="Showtime pages" />
          </>
        )}
    </section>
  );
}
