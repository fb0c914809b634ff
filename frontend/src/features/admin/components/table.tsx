import type { ReactNode, TdHTMLAttributes, ThHTMLAttributes } from "react";

import { Card } from "@/components/ui";

/** A scrollable, captioned table in a card: the look shared by every staff list. */
export function Table({ caption, children, testId }: { caption: string; children: ReactNode; testId?: string }) {
  return (
    <Card className="overflow-x-auto">
      <table className="w-full min-w-max text-left text-sm" data-testid={testId}>
        <caption className="sr-only">{caption}</caption>
        {children}
      </table>
    </Card>
  );
}

export function Th({ className = "", numeric = false, ...rest }: ThHTMLAttributes<HTMLTableCellElement> & { numeric?: boolean }) {
  return (
    <th scope="col" className={`border-b border-ink-700 px-4 py-3 text-xs font-semibold uppercase tracking-wide
      text-slate-400 ${numeric ? "text-right" : ""} ${className}`} {...rest} />
  );
}

export function Td({ className = "", numeric = false, ...rest }: TdHTMLAttributes<HTMLTableCellElement> & { numeric?: boolean }) {
  return <td className={`px-4 py-3 align-top text-slate-200 ${numeric ? "text-right tabular-nums" : ""} ${className}`} {...rest} />;
}

export function Tr({ children, className = "", ...rest }: { children: ReactNode; className?: string } & Record<`data-${string}`, string | number>) {
  return <tr className={`border-b border-ink-800 last:border-0 ${className}`} {...rest}>{children}</tr>;
}

const tones = {
  green: "bg-emerald-500/15 text-emerald-300 ring-emerald-500/30",
  red: "bg-rose-500/15 text-rose-300 ring-rose-500/30",
  gold: "bg-gold-400/15 text-gold-300 ring-gold-400/30",
  grey: "bg-ink-800 text-slate-300 ring-ink-600",
} as const;

export function StatusPill({ tone, children, testId }: { tone: keyof typeof tones; children: ReactNode; testId?: string }) {
  return (
    <span data-testid={testId} className={`inline-flex items-center rounded-full px-2.5 py-0.5 text-xs font-medium ring-1 ${tones[tone]}`}>
      {children}
    </span>
  );
}

/** The first cell of a totals row. */
export function TotalTh({ children }: { children: ReactNode }) {
  return <th scope="row" className="px-4 py-3 text-left text-xs font-semibold uppercase tracking-wide text-white">{children}</th>;
}

export function EmptyRow({ colSpan, children }: { colSpan: number; children: ReactNode }) {
  return (
    <tr><td colSpan={colSpan} className="px-4 py-8 text-center text-slate-400">{children}</td></tr>
  );
}

export function SectionHeading({ id, title, description, children }:
                                 { id: string; title: string; description?: string; children?: ReactNode }) {
  return (
    <div className="flex flex-wrap items-end justify-between gap-4">
      <div>
        <h2 id={id} className="text-xl font-semibold text-white">{title}</h2>
        {description && <p className="mt-1 text-sm text-slate-400">{description}</p>}
      </div>
      {children}
    </div>
  );
}
