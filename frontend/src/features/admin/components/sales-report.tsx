import { useState } from "react";

import { Alert, PageSpinner, Pagination, Select } from "@/components/ui";
import { errorMessage } from "@/lib/api-client";
import { formatMoney } from "@/lib/format";

import { useSalesReport } from "../api/get-sales-report";
import { GROUP_BY, type GroupBy, type SalesFigures } from "../api/schemas";
import { type DayRange, rangeProblem } from "../utils/dates";

import { DownloadCsv } from "./download-csv";
import { RangeFields } from "./range-fields";
import { EmptyRow, SectionHeading, Table, Td, Th, TotalTh, Tr } from "./table";

const groupLabels: Record<GroupBy, string> = { day: "Day", movie: "Movie", theatre: "Theatre" };

function Figures({ row, currency, testPrefix }: { row: SalesFigures; currency: string; testPrefix?: string }) {
  const id = (name: string) => (testPrefix ? `${testPrefix}-${name}` : undefined);
  return (
    <>
      <Td numeric data-testid={id("bookings")}>{row.bookings}</Td>
      <Td numeric data-testid={id("seats")}>{row.seats_sold}</Td>
      <Td numeric data-testid={id("gross")}>{formatMoney(row.gross.amount, row.gross.currency || currency)}</Td>
      <Td numeric data-testid={id("refunds")}>{formatMoney(row.refunds.amount, row.refunds.currency || currency)}</Td>
      <Td numeric data-testid={id("net")} className="font-semibold text-white">
        {formatMoney(row.net.amount, row.net.currency || currency)}
      </Td>
    </>
  );
}

/** Bookings made in a date range, grouped by day, movie or theatre, with the range's totals. */
export function SalesReport() {
  // null: the server's default range (the last 30 days by the theatres' calendar), shown once it answers
  const [range, setRange] = useState<DayRange | null>(null);
  const [groupBy, setGroupBy] = useState<GroupBy>("day");
  const [page, setPage] = useState(1);
  const valid = range === null || rangeProblem(range) === null;
  const report = useSalesReport({ ...range, group_by: groupBy, page }, valid);
  const shown = range ?? (report.data ? { from: report.data.from, to: report.data.to } : { from: "", to: "" });

  return (
    <section aria-labelledby="sales-heading" className="space-y-4">
      <SectionHeading id="sales-heading" title="Sales"
                      description="Bookings by the day they were made: gross, refunds given on them, and net.">
        <div className="flex flex-wrap items-start gap-3">
          <RangeFields idPrefix="sales" value={shown} onChange={(r) => { setRange(r); setPage(1); }} />
          <Select label="Group by" value={groupBy} className="w-36"
                  onChange={(e) => { setGroupBy(e.target.value as GroupBy); setPage(1); }}>
            {GROUP_BY.map((g) => <option key={g} value={g}>{groupLabels[g]}</option>)}
          </Select>
          <DownloadCsv path="/admin/reports/sales" filename={`sales-by-${groupBy}.csv`} label="Download sales CSV"
                       query={{ from: range?.from, to: range?.to, group_by: groupBy }} />
        </div>
      </SectionHeading>
      {!valid ? null : report.isPending ? <PageSpinner label="Loading sales…" />
        : report.isError ? <Alert title="Could not load the sales report">{errorMessage(report.error)}</Alert>
        : (
          <>
            <Table caption={`Sales by ${groupLabels[report.data.group_by].toLowerCase()}, ${report.data.from} to ${report.data.to}`}
                   testId="sales-table">
              <thead>
                <tr>
                  <Th>{groupLabels[report.data.group_by]}</Th>
                  <Th numeric>Bookings</Th>
                  <Th numeric>Seats</Th>
                  <Th numeric>Gross</Th>
                  <Th numeric>Refunds</Th>
                  <Th numeric>Net</Th>
                </tr>
              </thead>
              <tbody aria-busy={report.isFetching || undefined}>
                {report.data.items.length === 0
                  ? <EmptyRow colSpan={6}>No bookings were made in this range.</EmptyRow>
                  : report.data.items.map((row) => (
                    <Tr key={row.key} data-testid="sales-row">
                      <Td className="font-medium text-white">{row.label}</Td>
                      <Figures row={row} currency={report.data.currency} />
                    </Tr>
                  ))}
              </tbody>
              <tfoot>
                <tr className="border-t-2 border-ink-700 bg-ink-850">
                  <TotalTh>Total</TotalTh>
                  <Figures row={report.data.totals} currency={report.data.currency} testPrefix="sales-total" />
                </tr>
              </tfoot>
            </Table>
            <Pagination page={page} perPage={report.data.per_page} total={report.data.total} onPage={setPage}
                        label="Sales report pages" />
          </>
        )}
    </section>
  );
}
