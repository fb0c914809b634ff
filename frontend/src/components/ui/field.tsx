import { useId, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes } from "react";

const control = `h-10 w-full rounded-lg bg-ink-900 px-3 text-sm text-slate-100 ring-1 ring-ink-600
  placeholder:text-slate-500 focus:outline-none focus:ring-2 focus:ring-gold-400 disabled:opacity-60`;

type FieldProps = { label: string; hint?: ReactNode; error?: string | null; hideLabel?: boolean };

export function Input({ label, hint, error, hideLabel, className = "", ...rest }:
                        FieldProps & InputHTMLAttributes<HTMLInputElement>) {
  const id = useId();
  return (
    <div className={className}>
      <label htmlFor={id} className={hideLabel ? "sr-only" : "mb-1.5 block text-xs font-medium text-slate-300"}>
        {label}
      </label>
      <input id={id} aria-invalid={error ? true : undefined} aria-describedby={error ? `${id}-err` : undefined}
             className={control} {...rest} />
      {hint && !error && <p className="mt-1 text-xs text-slate-400">{hint}</p>}
      {error && <p id={`${id}-err`} className="mt-1 text-xs text-rose-400">{error}</p>}
    </div>
  );
}

export function Select({ label, hideLabel, className = "", children, ...rest }:
                         FieldProps & SelectHTMLAttributes<HTMLSelectElement>) {
  const id = useId();
  return (
    <div className={className}>
      <label htmlFor={id} className={hideLabel ? "sr-only" : "mb-1.5 block text-xs font-medium text-slate-300"}>
        {label}
      </label>
      <select id={id} className={control} {...rest}>{children}</select>
    </div>
  );
}
