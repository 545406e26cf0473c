import type { ApiKey } from './auth.ts';
import type { ScaledClock } from './clock.ts';
import type { IngestEvent } from './ingestion.ts';
import type { EffectScheduler } from './scheduler.ts';
import type { EmulatorStore } from './store.ts';
import type { FunnelRoutes, JsonObject, JsonValue } from './types.ts';

/** Emulator-wide settings after defaults. */
export interface ResolvedSettings {
  projectId: number;
  splitDelayMs: number;
  ingestionDelayMs: number;
  asyncDeleteDelayMs: number;
  bulkDeleteMode: 'sync' | 'async';
  funnelRoutes: FunnelRoutes;
  user: { first_name: string; email: string };
}

/** What every handler can reach. */
export interface EmulatorContext {
  readonly store: EmulatorStore;
  readonly scheduler: EffectScheduler;
  readonly clock: ScaledClock;
  readonly settings: ResolvedSettings;
  readonly restricted: Set<string>;
  /** `http://127.0.0.1:PORT`. */
  readonly baseUrl: () => string;
  /** Queue events for ingestion after the ingestion delay. */
  readonly ingestLater: (events: IngestEvent[]) => void;
}

/** A routed, authenticated API request. */
export interface ApiRequest {
  method: string;
  teamId: number;
  /** The `:id` path segment, when the route has one. */
  personId: string | undefined;
  /** The path as requested (no query). */
  path: string;
  query: URLSearchParams;
  /** `request.data` as a dict (`{}` when the body is not an object). */
  body: JsonObject;
  key: ApiKey;
}

/** A handler's answer. */
export interface ApiResult {
  status: number;
  body: JsonValue | string | null;
  headers?: Record<string, string>;
  contentType?: string;
}

/** Absolute URL of `path` with `params` (PostHog builds `next`/`previous` as absolute URLs). */
export const pageUrl = (ctx: EmulatorContext, path: string, params: URLSearchParams): string => {
  const qs = params.toString();
  return `${ctx.baseUrl()}${path}${qs ? `?${qs}` : ''}`;
};

/** A copy of `query` with `changes` applied. */
export const withParams = (
  query: URLSearchParams,
  changes: Record<string, string | number>,
): URLSearchParams => {
  const next = new URLSearchParams(query);
  for (const [k, v] of Object.entries(changes)) next.set(k, String(v));
  return next;
};
