import type { ReactNode } from "react";

const tones = {
  error: "bg-rose-500/10 text-rose-200 ring-rose-500/30",
  success: "bg-emerald-500/10 text-emerald-200 ring-emerald-500/30",
  info: "bg-sky-500/10 text-sky-200 ring-sky-500/30",
  warning: "bg-amber-500/10 text-amber-200 ring-amber-500/30",
} as const;

export function Alert({ tone = "error", title, children, className = "" }:
                        { tone?: keyof typeof tones; title?: string; children?: ReactNode; className?: string }) {
  return (
    <div role={tone === "error" ? "alert" : "status"}
         className={`rounded-lg px-4 py-3 text-sm ring-1 ${tones[tone]} ${className}`}>
      {title && <p className="font-semibold">{title}</p>}
      {children && <div className={title ? "mt-0.5 opacity-90" : ""}>{children}</div>}
    </div>
  );
}
