import { Button } from "./button";

export function Pagination({ page, perPage, total, onPage, label = "Pages" }:
                             { page: number; perPage: number; total: number; onPage: (page: number) => void;
                               label?: string }) {
  const pages = Math.max(1, Math.ceil(total / perPage));
  if (pages <= 1) return null;
  return (
    <nav aria-label={label} className="flex items-center justify-center gap-3 pt-6">
      <Button variant="secondary" size="sm" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        ← Previous
      </Button>
      <span className="text-sm text-slate-400" aria-live="polite">Page {page} of {pages}</span>
      <Button variant="secondary" size="sm" disabled={page >= pages} onClick={() => onPage(page + 1)}>
        Next →
      </Button>
    </nav>
  );
}
