/**
 * The one API client: JSON in and out under /api, the bearer token on every call, one refresh on a 401
 * (concurrent 401s share it), and every error turned into an ApiError carrying the API's code and message.
 */
import type { z } from "zod";

import { errorBodySchema, tokenPairSchema } from "@/types/api";

import { getTokens, setTokens } from "./auth-tokens";

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;
  readonly retryAfter: number | null;

  constructor(status: number, code: string, message: string, details: Record<string, unknown> = {},
              retryAfter: number | null = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;
  }
}

/** A readable message for anything thrown by a request. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error && error.message) return error.message;
  return "Something went wrong. Please try again.";
}

type Query = Record<string, string | number | boolean | undefined | null | string[]>;

export type RequestOptions = {
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  query?: Query;
  body?: unknown;
  /** send the bearer token (default true when signed in) */
  auth?: boolean;
  /** try a token refresh on 401 (default true) */
  retryOn401?: boolean;
  signal?: AbortSignal;
  /** extra request headers (X-Queue-Pass) */
  headers?: Record<string, string>;
};

export function buildUrl(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value)) value.forEach((v) => params.append(key, v));
    else params.set(key, String(value));
  }
  const qs = params.toString();
  return `/api${path}${qs ? `?${qs}` : ""}`;
}

function retryAfterOf(response: Response): number | null {
  const value = response.headers.get("Retry-After");
  if (!value) return null;
  const seconds = Number(value);
  return Number.isFinite(seconds) ? seconds : null;
}

async function toApiError(response: Response): Promise<ApiError> {
  let payload: unknown = null;
  try {
    payload = await response.json();
  } catch {
    /* not JSON: fall through to a generic message */
  }
  const parsed = errorBodySchema.safeParse(payload);
  if (parsed.success) {
    const { code, message, details } = parsed.data.error;
    return new ApiError(response.status, code, message, details ?? {}, retryAfterOf(response));
  }
  const fallback = response.status >= 500
    ? "The server had a problem. Please try again in a moment."
    : `The request failed (HTTP ${response.status}).`;
  return new ApiError(response.status, "http_error", fallback, {}, retryAfterOf(response));
}

let refreshing: Promise<boolean> | null = null;

/** Exchange the refresh token for a new pair once, however many callers ask at the same time. */
export function refreshTokens(): Promise<boolean> {
  const tokens = getTokens();
  if (!tokens) return Promise.resolve(false);
  refreshing ??= (async () => {
    try {
      const response = await fetch(buildUrl("/user/refresh"), {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ refresh_token: tokens.refresh }),
      });
      if (!response.ok) {
        // revoked, expired or already rotated elsewhere: only drop the tokens we tried to refresh
        if (response.status === 401 && getTokens()?.refresh === tokens.refresh) setTokens(null);
        return false;
      }
      const pair = tokenPairSchema.parse(await response.json());
      setTokens({ access: pair.access_token, refresh: pair.refresh_token });
      return true;
    } catch {
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** Send a request and return the raw Response (ok or not) after at most one refresh-and-retry. */
export async function send(path: string, options: RequestOptions = {}): Promise<Response> {
  const { method = "GET", query, body, auth = true, retryOn401 = true, signal } = options;
  const attempt = () => {
    const headers: Record<string, string> = { ...options.headers, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const access = getTokens()?.access;
    if (auth && access) headers.Authorization = `Bearer ${access}`;
    return fetch(buildUrl(path, query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  };
  let response: Response;
  try {
    response = await attempt();
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError(0, "network_error", "Cannot reach CineVerse. Check your connection and try again.");
  }
  if (response.status === 401 && auth && retryOn401 && getTokens() && (await refreshTokens())) {
    response = await attempt();
  }
  return response;
}

/** A JSON request whose answer is checked against `schema`; throws ApiError for any non-2xx answer. */
export async function request<S extends z.ZodTypeAny>(path: string, schema: S,
                                                      options: RequestOptions = {}): Promise<z.infer<S>> {
  const response = await send(path, options);
  if (!response.ok) throw await toApiError(response);
  if (response.status === 204) return schema.parse(undefined);
  return schema.parse(await response.json());
}

/** The ApiError for a non-2xx Response obtained through send(). */
export function apiErrorOf(response: Response): Promise<ApiError> {
  return toApiError(response);
}
