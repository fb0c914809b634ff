import { useState } from "react";

import { Alert, PageSpinner, Pagination } from "@/components/ui";
import { errorMessage } from "@/lib/api-client";
import { formatDateTime } from "@/lib/format";

import { useOccupancyReport } from "../api/get-occupancy-report";
import { formatPercent, nextDays, rangeProblem } from "../utils/dates";
import { plural } from "../utils/summaries";

import { DownloadCsv } from "./download-csv";
import { RangeFields } from "./range-fields";
import { EmptyRow, SectionHeading, StatusPill, Table, Td, Th, TotalTh, Tr } from "./table";

function OccupancyBar({ percent }: { percent: number }) {
  return (
    <div className="flex items-center justify-end gap-2">
      <div className="h-1.5 w-20 overflow-hidden rounded-full bg-ink-700" aria-hidden="true">
        <div className="h-full rounded-full bg-gold-400" style={{ width: `${Math.min(100, percent)}%` }} />
      </div>
      <span className="w-14 text-right">{formatPercent(percent)}</span>
    </div>
  );
}

/** Capacity, seats sold and occupancy of each showtime starting in a date range. */
export function OccupancyReport() {
  const [range, setRange] = useState(() => nextDays(7));
  const [page, setPage] = useState(1);
  const valid = rangeProblem(range) === null;
  const report = useOccupancyReport({ ...range, page }, valid);

  return (
    <section aria-labelledby="occupancy-heading" className="space-y-4">
      <SectionHeading id="occupancy-heading" title="Occupancy" description="Seats sold of the seats for sale, per showtime.">
        <div className="flex flex-wrap items-start gap-3">
          <RangeFields idPrefix="occupancy" value={range} onChange={(r) => { setRange(r); setPage(1); }} />
          <DownloadCsv path="/admin/reports/occupancy" filename="occupancy.csv" label="Download occupancy CSV"
                       query={{ from: range.from, to: range.to }} />
        </div>
      </SectionHeading>
      {!valid ? null : report.isPending ? <PageSpinner label="Loading occupancy…" />
        : report.isError ? <Alert title="Could not load the occupancy report">{errorMessage(report.error)}</Alert>
        : (
          <>
            <Table caption={`Occupancy of showtimes from ${report.data.from} to ${report.data.to}`} testId="occupancy-table">
              <thead>
                <tr>
                  <Th>Showtime</Th>
                  <Th>Theatre</Th>
                  <Th numeric>Capacity</Th>
                  <Th numeric>Sold</Th>
                  <Th numeric>Occupancy</Th>
                </tr>
              </thead>
              <tbody aria-busy={report.isFetching || undefined}>
                {report.data.items.length === 0
                  ? <EmptyRow colSpan={5}>No showtimes start in this range.</EmptyRow>
                  : report.data.items.map((row) => (
                    <Tr key={row.showtime_id} data-testid="occupancy-row" data-showtime-id={row.showtime_id}>
                      <Td>
                        <span className="font-medium text-white">{row.movie.title}</span>
                        {row.status !== "scheduled" && <> <StatusPill tone="red">{row.status}</StatusPill></>}
                        <span className="block text-xs text-slate-400">{formatDateTime(row.starts_at)}</span>
                      </Td>
                      <Td>{row.theatre.name}<span className="block text-xs text-slate-400">{row.screen}</span></Td>
                      <Td numeric>{row.capacity}</Td>
                      <Td numeric>{row.sold}</Td>
                      <Td numeric><OccupancyBar percent={row.occupancy_percent} /></Td>
                    </Tr>
                  ))}
              </tbody>
              <tfoot>
                <tr className="border-t-2 border-ink-700 bg-ink-850">
                  <TotalTh>Total ({plural(report.data.totals.showtimes, "showtime")})</TotalTh>
                  <Td />
                  <Td numeric>{report.data.totals.capacity}</Td>
                  <Td numeric>{report.data.totals.sold}</Td>
                  <Td numeric className="font-semibold text-white">{formatPercent(report.data.totals.occupancy_percent)}</Td>
                </tr>
              </tfoot>
            </Table>
            <Pagination page={page} perPage={report.data.per_page} total={report.data.total} onPage={setPage}
                        label="Occupancy report pages" />
          </>
        )}
    </section>
  );
}
