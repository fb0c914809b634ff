import type { ButtonHTMLAttributes } from "react";

import { Spinner } from "./spinner";

const variants = {
  primary: "bg-gold-400 text-ink-950 hover:bg-gold-300 disabled:bg-gold-400/40",
  secondary: "bg-ink-800 text-slate-100 ring-1 ring-ink-600 hover:bg-ink-700 disabled:opacity-50",
  ghost: "text-slate-300 hover:bg-ink-800 hover:text-white disabled:opacity-50",
  danger: "bg-rose-600/90 text-white hover:bg-rose-500 disabled:opacity-50",
} as const;

const sizes = { sm: "h-8 px-3 text-sm", md: "h-10 px-4 text-sm", lg: "h-12 px-6 text-base" } as const;

export type ButtonProps = ButtonHTMLAttributes<HTMLButtonElement> & {
  variant?: keyof typeof variants;
  size?: keyof typeof sizes;
  loading?: boolean;
};

export function Button({ variant = "primary", size = "md", loading = false, className = "", children, disabled,
                         type = "button", ...rest }: ButtonProps) {
  return (
    <button
      type={type}
      disabled={disabled || loading}
      aria-busy={loading || undefined}
      className={`inline-flex items-center justify-center gap-2 rounded-lg font-semibold transition-colors
        disabled:cursor-not-allowed ${variants[variant]} ${sizes[size]} ${className}`}
      {...rest}
    >
      {loading && <Spinner className="h-4 w-4" />}
      {children}
    </button>
  );
}
