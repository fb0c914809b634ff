import { Input } from "@/components/ui";

import { type DayRange, rangeProblem } from "../utils/dates";

/** From / to day pickers; the problem with the range (if any) is shown under them. */
export function RangeFields({ value, onChange, idPrefix }:
                              { value: DayRange; onChange: (next: DayRange) => void; idPrefix: string }) {
  const problem = value.from || value.to ? rangeProblem(value) : null; // both blank: still loading the default
  return (
    <>
      <Input label="From" type="date" value={value.from} max={value.to || undefined} className="w-40"
             name={`${idPrefix}-from`} onChange={(e) => onChange({ ...value, from: e.target.value })}
             error={problem && value.from > value.to ? problem : null} />
      <Input label="To" type="date" value={value.to} min={value.from || undefined} className="w-40"
             name={`${idPrefix}-to`} onChange={(e) => onChange({ ...value, to: e.target.value })}
             error={problem && !(value.from > value.to) ? problem : null} />
    </>
  );
}
