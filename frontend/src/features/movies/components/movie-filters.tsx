import { useEffect, useState, type FormEvent } from "react";

import { Button, Input, Select } from "@/components/ui";

import { useCities } from "../api/get-cities";
import { useMovieFacets } from "../api/get-facets";
import type { MovieFilters as Filters } from "../api/get-movies";

type Props = { value: Filters; onChange: (next: Filters) => void };

export function MovieFilters({ value, onChange }: Props) {
  const facets = useMovieFacets();
  const cities = useCities();
  const [q, setQ] = useState(value.q ?? "");
  useEffect(() => setQ(value.q ?? ""), [value.q]);

  const set = (key: keyof Filters, v: string) => onChange({ ...value, [key]: v || undefined, page: undefined });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    set("q", q.trim());
  };
  const any = Boolean(value.q || value.genre || value.language || value.city || value.date);

  return (
    <div className="space-y-3">
      <form role="search" onSubmit={submit} className="flex gap-2">
        <Input label="Search movies by title" hideLabel type="search" placeholder="Search movies by title…"
               value={q} onChange={(e) => setQ(e.target.value)} maxLength={100} className="flex-1" />
        <Button type="submit">Search</Button>
      </form>
      <div className="grid grid-cols-2 gap-3 md:grid-cols-5">
        <Select label="Genre" value={value.genre ?? ""} onChange={(e) => set("genre", e.target.value)}>
          <option value="">All genres</option>
          {facets.data?.genres.map((g) => <option key={g} value={g}>{g}</option>)}
        </Select>
        <Select label="Language" value={value.language ?? ""} onChange={(e) => set("language", e.target.value)}>
          <option value="">All languages</option>
          {facets.data?.languages.map((l) => <option key={l} value={l}>{l}</option>)}
        </Select>
        <Select label="City" value={value.city ?? ""} onChange={(e) => set("city", e.target.value)}>
          <option value="">All cities</option>
          {cities.data?.map((c) => <option key={c} value={c}>{c}</option>)}
        </Select>
        <Input label="Date" type="date" value={value.date ?? ""} onChange={(e) => set("date", e.target.value)} />
        <div className="flex items-end">
          <Button variant="ghost" className="w-full" disabled={!any}
                  onClick={() => { setQ(""); onChange({}); }}>
            Clear filters
          </Button>
        </div>
      </div>
    </div>
  );
}
