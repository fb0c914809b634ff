import { useState, type FormEvent } from "react";

import { Alert, Button, Input, Spinner } from "@/components/ui";
import { errorMessage } from "@/lib/api-client";

import { useSaveWaitingRoom, useWaitingRoomSettings, type WaitingRoomSettings } from "../api/waiting-room";

/** An ISO instant as the value of a datetime-local input (the browser's zone), and back. */
function toLocalInput(iso: string | null): string {
  if (!iso) return "";
  const date = new Date(iso);
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

function fromLocalInput(value: string): string | null {
  return value ? new Date(value).toISOString() : null;
}

type Save = ReturnType<typeof useSaveWaitingRoom>;

function OnSaleEditor({ save, initial }: { save: Save; initial: WaitingRoomSettings }) {
  const [enabled, setEnabled] = useState(initial.enabled);
  const [limit, setLimit] = useState(String(initial.active_limit));
  const [ttl, setTtl] = useState(String(Math.round(initial.pass_ttl_s / 60)));
  const [opensAt, setOpensAt] = useState(toLocalInput(initial.sales_open_at));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate({ enabled, active_limit: Number(limit), pass_ttl_s: Number(ttl) * 60,
                  sales_open_at: fromLocalInput(opensAt) });
  };

  return (
    <form onSubmit={submit} className="grid gap-3 sm:grid-cols-4" aria-label="On-sale settings">
      <label className="flex items-center gap-2 text-sm text-slate-200 sm:col-span-4">
        <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)}
               data-testid="waiting-room-enabled" />
        Waiting room: buyers queue for a pass before they can hold seats
      </label>
      <Input label="Sales open at" type="datetime-local" value={opensAt} onChange={(e) => setOpensAt(e.target.value)}
             hint="Empty: open now. Nobody can hold seats before it." data-testid="sales-open-at" />
      <Input label="Buyers choosing at once" type="number" min={1} max={100000} required value={limit}
             onChange={(e) => setLimit(e.target.value)} data-testid="active-limit" />
      <Input label="Pass lasts (minutes)" type="number" min={1} max={120} required value={ttl}
             onChange={(e) => setTtl(e.target.value)} />
      <div className="flex items-end">
        <Button type="submit" size="sm" loading={save.isPending}>Save on-sale</Button>
      </div>
      {save.isError && <Alert className="sm:col-span-4">{errorMessage(save.error)}</Alert>}
      {save.isSuccess && <Alert tone="success" className="sm:col-span-4">Saved.</Alert>}
    </form>
  );
}

/** Staff: a showtime's opening time and waiting room, and how many wait or choose now. */
export function OnSaleForm({ showtimeId }: { showtimeId: number }) {
  const settings = useWaitingRoomSettings(showtimeId);
  const save = useSaveWaitingRoom(showtimeId); // here, not in the editor: a save re-keys the editor
  if (settings.isPending) return <Spinner label="Loading on-sale settings…" />;
  if (settings.isError) return <Alert>{errorMessage(settings.error)}</Alert>;
  const s = settings.data;
  return (
    <div className="space-y-3" data-testid="on-sale">
      <p className="text-sm text-slate-400" data-testid="queue-occupancy">
        {s.waiting === null ? "Queue figures unavailable (Redis)." : `${s.waiting} waiting · ${s.active} choosing seats now`}
      </p>
      <OnSaleEditor key={s.updated_at ?? "new"} save={save}
                    initial={{ enabled: s.enabled, active_limit: s.active_limit, pass_ttl_s: s.pass_ttl_s,
                               sales_open_at: s.sales_open_at }} />
    </div>
  );
}
