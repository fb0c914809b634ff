import type { HTMLAttributes } from "react";

export function Card({ className = "", ...rest }: HTMLAttributes<HTMLDivElement>) {
  return <div className={`rounded-2xl bg-ink-900 ring-1 ring-ink-700/70 ${className}`} {...rest} />;
}

export function Badge({ children, className = "" }: { children: React.ReactNode; className?: string }) {
  return (
    <span className={`inline-flex items-center rounded-full bg-ink-800 px-2.5 py-0.5 text-xs font-medium
      text-slate-300 ring-1 ring-ink-600 ${className}`}>
      {children}
    </span>
  );
}
