/**
 * THE factory of the client's errors (openai-node `APIError.generate`): from a status, PostHog's
 * `{type, code, detail, attr}` envelope (drf-exceptions-hog) and the hand-built bodies that break it
 * (update_property's swapped `code`/`detail`, capture's `{status, code, error}`), or from whatever `fetch` threw.
 */
import {
  type ApiErrorInit,
  type ErrorContext,
  type ErrorEnvelope,
  PostHogAbortError,
  PostHogApiError,
  PostHogAuthError,
  PostHogConnectionError,
  type PostHogError,
  PostHogNotFoundError,
  PostHogPermissionError,
  PostHogRateLimitError,
  PostHogServerError,
  PostHogTimeoutError,
  PostHogValidationError,
} from './errors.ts';
import { redactSecrets } from './redact.ts';

/**
 * Normalises an error body into the `{type, code, detail, attr}` envelope.
 *
 * Handles: the drf-exceptions-hog envelope; update_property's hand-built 400 that swaps `code`
 * (`"This field is required."`) and `detail` (`"required"`); capture's `{status, code, error}`;
 * cohorts' `{message, detail}`; delete_property's `{success:false, detail}`; DRF's plain
 * `{"detail": …}` and field dicts `{"field": ["msg"]}`; and non-JSON text (an HTML 502 page).
 */
export function parseErrorBody(body: unknown): ErrorEnvelope {
  if (typeof body === 'string') {
    const text = body.trim().replace(/\s+/g, ' ');
    return text === '' ? {} : { detail: text.slice(0, 300) };
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return {};
  // Known fields by name; the rest is scanned below for DRF field dicts.
  const o = body as {
    type?: unknown;
    code?: unknown;
    detail?: unknown;
    error?: unknown;
    message?: unknown;
    attr?: unknown;
    status?: unknown;
  };
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  let type = str(o.type);
  let code = str(o.code);
  let detail = str(o.detail) ?? str(o.error) ?? str(o.message);
  const attr = typeof o.attr === 'string' || o.attr === null ? o.attr : undefined;
  // update_property (and PATCH) build this 400 by hand with code and detail swapped:
  // {"attr":"value","code":"This field is required.","detail":"required","type":"validation_error"}
  if (
    code !== undefined &&
    detail !== undefined &&
    looksLikeSentence(code) &&
    isCodeToken(detail)
  ) {
    [code, detail] = [detail, code];
  }
  if (detail === undefined) {
    // DRF field errors without the envelope: {"distinct_ids_to_split": ["must not be empty"]}
    for (const [key, value] of Object.entries(o)) {
      const first = Array.isArray(value) ? value[0] : value;
      if (typeof first === 'string' && key !== 'type' && key !== 'code') {
        detail = first;
        return compact({ type: type ?? 'validation_error', code, detail, attr: attr ?? key });
      }
    }
  }
  if (type === undefined && typeof o.status === 'number' && code !== undefined) {
    type = 'capture_error';
  }
  return compact({ type, code, detail, attr });
}

function looksLikeSentence(s: string): boolean {
  return /\s/.test(s) || s.endsWith('.');
}
function isCodeToken(s: string): boolean {
  return /^[a-z][a-z0-9_]*$/.test(s);
}
function compact(e: {
  type: string | undefined;
  code: string | undefined;
  detail: string | undefined;
  attr: string | null | undefined;
}): ErrorEnvelope {
  const out: ErrorEnvelope = {};
  if (e.type !== undefined) out.type = e.type;
  if (e.code !== undefined) out.code = e.code;
  if (e.detail !== undefined) out.detail = e.detail;
  if (e.attr !== undefined) out.attr = e.attr;
  return out;
}

/**
 * Parses a `Retry-After` header (integer seconds, or an HTTP date) into ms. PostHog sends integer
 * seconds (DRF `Throttled.wait`). Also reads the non-standard `retry-after-ms` (openai-node does),
 * which the local emulator may use for sub-second waits.
 */
export function parseRetryAfterMs(headers: Headers, now: number = Date.now()): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.ceil(Number(ms));
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The request id of a response, from the headers PostHog's stack sets. */
export function requestIdOf(headers: Headers): string | undefined {
  return (
    headers.get('x-request-id') ??
    headers.get('request-id') ??
    headers.get('x-amz-cf-id') ??
    undefined
  );
}

/**
 * THE factory: builds the right {@link PostHogApiError} subclass from a status, a parsed body
 * (JSON value or text) and the response headers.
 */
export function errorFromResponse(init: {
  status: number;
  body: unknown;
  headers: Headers;
  endpoint?: string;
  method?: string;
  now?: number;
}): PostHogApiError {
  const envelope = parseErrorBody(init.body);
  const requestId = requestIdOf(init.headers);
  const retryAfterMs = parseRetryAfterMs(init.headers, init.now);
  const where = init.endpoint === undefined ? 'PostHog' : `PostHog ${init.endpoint}`;
  const location = init.headers.get('location');
  if (init.status >= 300 && init.status < 400 && location !== null) {
    // Not PostHog's body: the host is wrong (e.g. a retired domain). Name where it points.
    envelope.detail = `redirected to ${redactSecrets(location)}; configure that host instead`;
  }
  const what = [envelope.code, envelope.detail].filter(Boolean).join(': ');
  const field = envelope.attr ? ` (field ${envelope.attr})` : '';
  const message = `${where} failed with ${init.status}${what ? ` ${what}` : ''}${field}`;
  const args: ApiErrorInit = {
    ...envelope,
    status: init.status,
    ...(init.endpoint === undefined ? {} : { endpoint: init.endpoint }),
    ...(init.method === undefined ? {} : { method: init.method }),
    ...(requestId === undefined ? {} : { requestId }),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  };
  const s = init.status;
  if (s === 400) return new PostHogValidationError(message, args);
  if (s === 401) return new PostHogAuthError(message, args);
  if (s === 403) return new PostHogPermissionError(message, args);
  if (s === 404) return new PostHogNotFoundError(message, args);
  if (s === 429) return new PostHogRateLimitError(message, args);
  if (s >= 500) return new PostHogServerError(message, args);
  return new PostHogApiError(message, args);
}

/**
 * Wraps whatever `fetch` threw into a typed error: a timeout, the caller's abort, or a connection
 * failure carrying the system error code found in the cause chain.
 */
export function errorFromFetchFailure(
  error: unknown,
  context: ErrorContext & { timedOut: boolean; aborted: boolean; timeoutMs: number; host?: string },
): PostHogError {
  const where = context.endpoint === undefined ? 'PostHog' : `PostHog ${context.endpoint}`;
  const base = {
    cause: error,
    ...(context.endpoint === undefined ? {} : { endpoint: context.endpoint }),
    ...(context.method === undefined ? {} : { method: context.method }),
  };
  if (context.aborted)
    return new PostHogAbortError(`${where} request was aborted by the caller`, base);
  if (context.timedOut) {
    return new PostHogTimeoutError(`${where} request timed out after ${context.timeoutMs} ms`, {
      ...base,
      timeoutMs: context.timeoutMs,
    });
  }
  const errorCode = systemCodeOf(error);
  const reason = errorCode ?? innermostMessage(error);
  // The host and the code are what an operator needs to tell a typo, a firewall and an outage apart.
  const to = context.host === undefined ? '' : ` to ${context.host}`;
  return new PostHogConnectionError(`${where} connection${to} failed (${reason})`, {
    ...base,
    ...(errorCode === undefined ? {} : { errorCode }),
  });
}

/** fetch's own message is only "fetch failed"; the reason (e.g. "bad port") is in its cause. */
function innermostMessage(error: unknown): string {
  let message = 'unknown error';
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current.message !== '') message = current.message;
    current = current.cause;
  }
  return message;
}

function systemCodeOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== null && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z_]+$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
