/**
 * The one error module of the PostHog client (openai-node `src/core/error.ts`, Powertools `errors.ts`).
 *
 * - {@link PostHogError} is the base of every transport and API failure.
 * - {@link errorFromResponse} is the ONE factory: it reads the status plus PostHog's
 *   `{type, code, detail, attr}` envelope (drf-exceptions-hog), the hand-built bodies that break it
 *   (update_property's swapped `code`/`detail`, capture's `{status, code, error}`), and picks the class.
 * - {@link isRetryable} is the ONE retry predicate; {@link retryDelayMs} and {@link isAlreadyDone}
 *   sit beside it so the executor never re-derives policy.
 * - {@link ResponseValidationError} does not extend the base: the request succeeded, the response
 *   shape is what failed (ky `SchemaValidationError`), and retrying cannot fix it.
 *
 * Secrets: no error ever stores request headers, the request body or the key. Every string that came
 * from the wire goes through {@link redactSecrets} before it lands in a message or field, and
 * `toJSON` lists the safe fields explicitly.
 */

/** Which endpoint and method a failure belongs to (logical endpoint names, never URLs with secrets). */
export interface ErrorContext {
  endpoint?: string;
  method?: string;
}

/** The parsed error envelope, after un-swapping hand-built bodies. */
export interface ErrorEnvelope {
  type?: string;
  code?: string;
  detail?: string;
  attr?: string | null;
}

interface PostHogErrorOptions extends ErrorOptions, ErrorContext {}

/** Base class of every PostHog transport or API failure. */
export class PostHogError extends Error {
  /** Logical endpoint name, e.g. `bulk_delete`. */
  readonly endpoint?: string;
  /** HTTP method of the failed request. */
  readonly method?: string;

  constructor(message: string, options: PostHogErrorOptions = {}) {
    super(
      redactSecrets(message),
      options.cause === undefined ? {} : { cause: redactedCause(options.cause) },
    );
    this.name = 'PostHogError';
    if (options.endpoint !== undefined) this.endpoint = options.endpoint;
    if (options.method !== undefined) this.method = options.method;
  }

  /** Safe, explicit serialisation: the fields below and nothing else (no headers, no body, no key). */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { name: this.name, message: this.message };
    for (const [k, v] of Object.entries(this)) {
      if (v !== undefined && (typeof v !== 'object' || v === null)) out[k] = v;
    }
    return out;
  }
}

interface ApiErrorInit extends PostHogErrorOptions, ErrorEnvelope {
  status: number;
  requestId?: string;
  retryAfterMs?: number;
}

/** PostHog answered with a non-2xx status. */
export class PostHogApiError extends PostHogError {
  readonly status: number;
  readonly type?: string;
  readonly code?: string;
  readonly detail?: string;
  readonly attr?: string | null;
  /** The request id PostHog (or its edge) returned, for support tickets. */
  readonly requestId?: string;
  /** The server's `Retry-After`, in ms, when it sent one. */
  readonly retryAfterMs?: number;

  constructor(message: string, init: ApiErrorInit) {
    super(message, init);
    this.name = 'PostHogApiError';
    this.status = init.status;
    // Every one of these came from the wire: a misbehaving server or proxy may echo the key in any of them.
    if (init.type !== undefined) this.type = redactSecrets(init.type);
    if (init.code !== undefined) this.code = redactSecrets(init.code);
    if (init.detail !== undefined) this.detail = redactSecrets(init.detail);
    if (init.attr !== undefined) this.attr = init.attr === null ? null : redactSecrets(init.attr);
    if (init.requestId !== undefined) this.requestId = redactSecrets(init.requestId);
    if (init.retryAfterMs !== undefined) this.retryAfterMs = init.retryAfterMs;
  }
}

/** 400: PostHog rejected the input (`validation_error`). Permanent. */
export class PostHogValidationError extends PostHogApiError {
  constructor(message: string, init: ApiErrorInit) {
    super(message, init);
    this.name = 'PostHogValidationError';
  }
}

/** 401: the key is missing or invalid. Permanent. */
export class PostHogAuthError extends PostHogApiError {
  constructor(message: string, init: ApiErrorInit) {
    super(message, init);
    this.name = 'PostHogAuthError';
  }
}

/** 403: the key lacks a scope or project access. Permanent. */
export class PostHogPermissionError extends PostHogApiError {
  constructor(message: string, init: ApiErrorInit) {
    super(message, init);
    this.name = 'PostHogPermissionError';
  }
}

/** 404: unknown person/project or route. Permanent (but "already done" for a delete). */
export class PostHogNotFoundError extends PostHogApiError {
  constructor(message: string, init: ApiErrorInit) {
    super(message, init);
    this.name = 'PostHogNotFoundError';
  }
}

/** 429: throttled. Retryable; `retryAfterMs` carries the server's `Retry-After`. */
export class PostHogRateLimitError extends PostHogApiError {
  constructor(message: string, init: ApiErrorInit) {
    super(message, init);
    this.name = 'PostHogRateLimitError';
  }
}

/** 5xx: a server or edge failure. Retryable. */
export class PostHogServerError extends PostHogApiError {
  constructor(message: string, init: ApiErrorInit) {
    super(message, init);
    this.name = 'PostHogServerError';
  }
}

/** Why a legacy funnel route cannot be used. */
export type EndpointUnavailableReason = 'removed' | 'personal_api_key_refused';

/**
 * funnel / funnel/correlation cannot be used: PostHog removed them in mid-2026 (PR #61218, #73064) or
 * refuses them to every scoped personal API key. Permanent; never retried.
 */
export class PostHogEndpointUnavailableError extends PostHogApiError {
  readonly reason: EndpointUnavailableReason;

  constructor(message: string, init: ApiErrorInit & { reason: EndpointUnavailableReason }) {
    super(message, init);
    this.name = 'PostHogEndpointUnavailableError';
    this.reason = init.reason;
  }
}

/** No HTTP response: DNS, refused or reset connection, TLS. Retryable. */
export class PostHogConnectionError extends PostHogError {
  /** The system error code from the cause chain (e.g. `ECONNRESET`), when there is one. */
  readonly errorCode?: string;
  /** True when the request provably never reached the server (refused, DNS), so any method may retry. */
  readonly notSent: boolean;

  constructor(message: string, options: PostHogErrorOptions & { errorCode?: string } = {}) {
    super(message, options);
    this.name = 'PostHogConnectionError';
    if (options.errorCode !== undefined) this.errorCode = options.errorCode;
    this.notSent = options.errorCode !== undefined && NOT_SENT_CODES.has(options.errorCode);
  }
}

/** One attempt ran past its per-attempt timeout. Retryable. */
export class PostHogTimeoutError extends PostHogConnectionError {
  readonly timeoutMs: number;

  constructor(message: string, options: PostHogErrorOptions & { timeoutMs: number }) {
    super(message, options);
    this.name = 'PostHogTimeoutError';
    this.timeoutMs = options.timeoutMs;
  }
}

/**
 * Not enough time is left before the caller's deadline to start (or wait for) another attempt.
 * Retryable later: `retryAfterMs` says how long the blocked wait was, `cause` holds the last failure.
 */
export class PostHogDeadlineError extends PostHogError {
  readonly remainingMs: number;
  readonly retryAfterMs?: number;

  constructor(
    message: string,
    options: PostHogErrorOptions & { remainingMs: number; retryAfterMs?: number },
  ) {
    super(message, options);
    this.name = 'PostHogDeadlineError';
    this.remainingMs = options.remainingMs;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

/** The caller's own AbortSignal fired. Not retried: the caller asked to stop. */
export class PostHogAbortError extends PostHogError {
  constructor(message: string, options: PostHogErrorOptions = {}) {
    super(message, options);
    this.name = 'PostHogAbortError';
  }
}

/**
 * The request succeeded but the response did not have the documented shape. Deliberately NOT a
 * {@link PostHogError}: it is not a transport failure, and a retry would get the same body.
 */
export class ResponseValidationError extends Error {
  readonly endpoint: string;
  readonly status: number;
  readonly requestId?: string;
  /** Zod issues, summarised as `path: message` lines. */
  readonly issues: string[];

  constructor(init: {
    endpoint: string;
    status: number;
    issues: string[];
    requestId?: string;
    cause?: unknown;
  }) {
    super(
      redactSecrets(
        `PostHog ${init.endpoint} returned ${init.status} with an unexpected body: ${init.issues.slice(0, 3).join('; ')}`,
      ),
      init.cause === undefined ? {} : { cause: redactedCause(init.cause) },
    );
    this.name = 'ResponseValidationError';
    this.endpoint = init.endpoint;
    this.status = init.status;
    this.issues = init.issues.map(redactSecrets);
    if (init.requestId !== undefined) this.requestId = redactSecrets(init.requestId);
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      message: this.message,
      endpoint: this.endpoint,
      status: this.status,
      requestId: this.requestId,
      issues: this.issues,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Secrets

/** PostHog personal API keys, project tokens, OAuth tokens and project secret keys, of any length. */
const KEY_PATTERN = /\b(?:phx|phc|pha|phs|phe)_[A-Za-z0-9_-]+/g;
const BEARER_PATTERN = /(Bearer\s+)[^\s"',]+/gi;
// A process-wide registry: errors are built far from the client that knows the keys, and masking
// too much is harmless. It only ever grows by the handful of keys a process is configured with.
const registeredSecrets = new Set<string>();

/**
 * Registers a secret value so {@link redactSecrets} masks it wherever it appears. The client calls this
 * for its keys, so a key with an unusual prefix (a self-hosted setup) is still masked.
 */
export function registerSecret(value: string | undefined): void {
  if (value === undefined || value === '') return;
  // Also the forms the key takes inside JSON text and inside a URL, so it is masked there too.
  for (const form of [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)]) {
    registeredSecrets.add(form);
  }
}

/** Masks known keys and key-shaped tokens in a string. */
export function redactSecrets(text: string): string {
  let out = text;
  // Longest first: one registered form may contain another.
  for (const secret of [...registeredSecrets].sort((a, b) => b.length - a.length)) {
    if (out.includes(secret)) out = out.split(secret).join('[REDACTED]');
  }
  return out.replace(KEY_PATTERN, '[REDACTED]').replace(BEARER_PATTERN, '$1[REDACTED]');
}

/**
 * A copy of a cause chain that is safe to keep: each `Error` rebuilt with its name, `code` and redacted message and
 * stack (a JSON.parse `SyntaxError` quotes the body it failed on, which a misbehaving server may fill with the key).
 * Anything else is dropped to its redacted string form. Four levels deep at most.
 */
function redactedCause(cause: unknown, depth = 0): unknown {
  if (!(cause instanceof Error)) {
    return typeof cause === 'string'
      ? redactSecrets(cause)
      : cause === undefined
        ? undefined
        : redactSecrets(String(cause));
  }
  if (cause instanceof PostHogError || cause instanceof ResponseValidationError) return cause;
  const inner =
    depth < 4 && cause.cause !== undefined ? redactedCause(cause.cause, depth + 1) : undefined;
  const copy = new Error(redactSecrets(cause.message), inner === undefined ? {} : { cause: inner });
  copy.name = cause.name;
  copy.stack = redactSecrets(cause.stack ?? '');
  const code = (cause as { code?: unknown }).code;
  if (typeof code === 'string') Object.assign(copy, { code: redactSecrets(code) });
  return copy;
}

// ---------------------------------------------------------------------------------------------
// The factory

/** Error codes meaning the connection never carried the request, so even a POST may be resent. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
]);
/** Error codes of a connection that closed under us: typically a stale keep-alive socket. */
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

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

// ---------------------------------------------------------------------------------------------
// Policy

/**
 * THE retry predicate, pure. Retryable: connection errors, timeouts, 408, 429, 5xx, and a deadline
 * that cut a retryable failure short (a later invocation may succeed). Permanent: every other 4xx
 * (400, 401, 403, 404, 413, 415…), an unavailable funnel route, a caller abort, and a response
 * that failed validation.
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof PostHogEndpointUnavailableError) return false;
  if (error instanceof PostHogApiError) {
    return error.status === 408 || error.status === 429 || error.status >= 500;
  }
  if (error instanceof PostHogConnectionError) return true; // includes PostHogTimeoutError
  if (error instanceof PostHogDeadlineError)
    return error.cause === undefined || isRetryable(error.cause);
  return false;
}

/** A connection closed under a request that was probably sent on a stale keep-alive socket. */
export function isConnectionReset(error: unknown): boolean {
  if (!(error instanceof PostHogConnectionError) || error instanceof PostHogTimeoutError) {
    return false;
  }
  if (error.errorCode !== undefined) return RESET_CODES.has(error.errorCode);
  // undici without a code: "other side closed", "socket hang up".
  return /other side closed|socket hang up|ECONNRESET/i.test(causeMessages(error));
}

function causeMessages(error: unknown): string {
  const out: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    out.push(current.message);
    current = current.cause;
  }
  return out.join(' | ');
}

/** Backoff knobs for {@link retryDelayMs}. */
export interface BackoffOptions {
  /** First backoff ceiling in ms. @default 500 */
  baseMs?: number;
  /** Largest backoff ceiling in ms. @default 8000 */
  capMs?: number;
  /** Source of randomness in [0, 1). @default Math.random */
  random?: () => number;
}

/** Default first backoff ceiling (openai-node: 0.5 s × 2ⁿ, capped at 8 s). */
export const DEFAULT_BACKOFF_BASE_MS = 500;
/** Default backoff cap. */
export const DEFAULT_BACKOFF_CAP_MS = 8_000;

/**
 * How long to wait before retrying after `error` on retry number `attempt` (0-based), or `undefined`
 * when the error is not retryable. The server's `Retry-After` wins when present; otherwise
 * exponential backoff with full jitter: `random() × min(cap, base × 2^attempt)` (AWS "full jitter").
 */
export function retryDelayMs(
  error: unknown,
  attempt: number,
  options: BackoffOptions = {},
): number | undefined {
  if (!isRetryable(error)) return undefined;
  const hinted =
    error instanceof PostHogApiError || error instanceof PostHogDeadlineError
      ? error.retryAfterMs
      : undefined;
  const causeHint =
    error instanceof PostHogDeadlineError && error.cause instanceof PostHogApiError
      ? error.cause.retryAfterMs
      : undefined;
  const hint = hinted ?? causeHint;
  if (hint !== undefined) return hint;
  const base = options.baseMs ?? DEFAULT_BACKOFF_BASE_MS;
  const cap = options.capMs ?? DEFAULT_BACKOFF_CAP_MS;
  const ceiling = Math.min(cap, base * 2 ** Math.max(0, attempt));
  return Math.floor((options.random ?? Math.random)() * ceiling);
}

/**
 * True when a failure means the operation's goal already holds, so the caller may treat it as
 * applied: a 404 on a delete (the person is already gone), or a 400 "not on this person" on a
 * split with `distinct_ids_to_split` (a repeated split whose ids already moved).
 */
export function isAlreadyDone(error: unknown, op: 'delete' | 'split'): boolean {
  if (!(error instanceof PostHogApiError) || error instanceof PostHogEndpointUnavailableError) {
    return false;
  }
  if (op === 'delete') return error.status === 404;
  return error.status === 400 && /not on this person/i.test(error.detail ?? '');
}
