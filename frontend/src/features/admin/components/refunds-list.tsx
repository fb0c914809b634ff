import { useState } from "react";

import { Alert, Button, PageSpinner, Pagination, Select } from "@/components/ui";
import { errorMessage } from "@/lib/api-client";
import { formatDateTime, formatMoney } from "@/lib/format";

import { useRefunds } from "../api/get-refunds";
import { useRetryRefund } from "../api/retry-refund";
import type { AdminRefund, RefundState } from "../api/schemas";
import { describeRefundRetry } from "../utils/summaries";

import { EmptyRow, SectionHeading, StatusPill, Table, Td, Th, Tr } from "./table";

const stateTone = { failed: "red", pending: "gold", processed: "green" } as const;

const retryTone = { failed: "error", pending: "info", processed: "success" } as const;

const emptyText: Record<RefundState | "", string> = {
  failed: "No refunds are waiting for staff: the gateway has refused none.",
  pending: "No refunds are waiting for the gateway.",
  processed: "No refunds have been processed yet.",
  "": "No refunds.",
};

function RefundRow({ refund, onRetried }: { refund: AdminRefund; onRetried: (refund: AdminRefund) => void }) {
  const retry = useRetryRefund();

  return (
    <Tr data-testid="refund-row" data-refund-id={refund.id} data-order-id={refund.order_id}>
      <Td>
        <span className="font-mono text-xs text-white">{refund.order_id}</span>
        <span className="block text-xs text-slate-400">{refund.order_state.replace(/_/g, " ")}</span>
      </Td>
      <Td numeric className="font-medium text-white">{formatMoney(refund.amount)}</Td>
      <Td>{refund.reason.replace(/_/g, " ")}</Td>
      <Td numeric>
        <span data-testid="refund-attempts">{refund.attempts}</span>
        {refund.requested_at && (
          <span className="block text-xs text-slate-400">{formatDateTime(refund.requested_at)}</span>
        )}
      </Td>
      <Td className="max-w-xs whitespace-normal text-xs text-slate-300" data-testid="refund-last-error">
        {refund.last_error ?? "—"}
      </Td>
      <Td><StatusPill tone={stateTone[refund.state]} testId="refund-state">{refund.state}</StatusPill></Td>
      <Td className="text-right">
        {refund.state === "failed" && (
          <Button variant="secondary" size="sm" loading={retry.isPending}
                  aria-label={`Retry refund for order ${refund.order_id}`}
                  onClick={() => retry.mutate(refund.id, { onSuccess: onRetried })}>
            Retry
          </Button>
        )}
        {retry.isError && <p role="alert" className="mt-1 text-xs text-rose-400">{errorMessage(retry.error)}</p>}
      </Td>
    </Tr>
  );
}

/** Refunds by state; those the gateway refused (`failed`, the default) can be asked for again. */
export function RefundsList() {
  const [state, setState] = useState<RefundState | "">("failed");
  const [page, setPage] = useState(1);
  const [retried, setRetried] = useState<AdminRefund | null>(null);
  const refunds = useRefunds({ page, state: state || undefined });

  return (
    <section aria-labelledby="refunds-heading" className="space-y-4">
      <SectionHeading id="refunds-heading" title="Refunds"
                      description="Refunds the payment gateway refused wait here; fix the cause, then retry.">
        <Select label="Refund state" hideLabel value={state} className="w-44"
                onChange={(e) => { setState(e.target.value as RefundState | ""); setPage(1); setRetried(null); }}>
          <option value="failed">Failed</option>
          <option value="pending">Pending</option>
          <option value="processed">Processed</option>
          <option value="">All states</option>
        </Select>
      </SectionHeading>
      <div aria-live="polite">
        {retried && (
          <Alert tone={retryTone[retried.state]} title="Refund retried">
            {describeRefundRetry(retried)}
          </Alert>
        )}
      </div>
      {refunds.isPending ? <PageSpinner label="Loading refunds…" />
        : refunds.isError ? <Alert title="Could not load refunds">{errorMessage(refunds.error)}</Alert>
        : (
          <>
            <Table caption="Refunds" testId="refunds-table">
              <thead>
                <tr>
                  <Th>Order</Th>
                  <Th numeric>Amount</Th>
                  <Th>Reason</Th>
                  <Th numeric>Attempts</Th>
                  <Th>Last error</Th>
                  <Th>State</Th>
                  <Th className="text-right"><span className="sr-only">Actions</span></Th>
                </tr>
              </thead>
              <tbody aria-busy={refunds.isFetching || undefined}>
                {refunds.data.items.length === 0
                  ? <EmptyRow colSpan={7}>{emptyText[state]}</EmptyRow>
                  : refunds.data.items.map((r) => <RefundRow key={r.id} refund={r} onRetried={setRetried} />)}
              </tbody>
            </Table>
            <Pagination page={page} perPage={refunds.data.per_page} total={refunds.data.total} onPage={setPage}
                        label="Refund pages" />
          </>
        )}
    </section>
  );
}
