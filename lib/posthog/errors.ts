/**
 * The error classes of the PostHog client, and nothing else (ky keeps one file per error; openai-node one module):
 *
 * - {@link PostHogError} is the base of every transport and API failure.
 * - error-factory.ts builds them from a response or a fetch failure; retry-policy.ts says which are retried;
 *   redact.ts masks the secrets in every string they carry.
 * - {@link ResponseValidationError} does not extend the base: the request succeeded, the response
 *   shape is what failed (ky `SchemaValidationError`), and retrying cannot fix it.
 * - {@link PostHogUsageError} is the client refusing a call before sending it.
 *
 * Secrets: no error ever stores request headers, the request body or the key. Every string that came
 * from the wire goes through `redactSecrets` before it lands in a message or field, and
 * `toJSON` lists the safe fields explicitly.
 */
import { redactedCause, redactSecrets } from './redact.ts';

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
      options.cause === undefined ? {} : { cause: redactedCause(options.cause, isOwnError) },
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

export interface ApiErrorInit extends PostHogErrorOptions, ErrorEnvelope {
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
      init.cause === undefined ? {} : { cause: redactedCause(init.cause, isOwnError) },
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

/** Error codes meaning the connection never carried the request, so even a POST may be resent. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * The client refused a call before sending anything: a missing project token, or an argument PostHog would refuse
 * or misread (an empty key, a distinct id in `ids`, an illegal merge id). A `TypeError`, as a bad argument is in
 * JavaScript, but its own class, so that a caller can tell the client's deliberate refusal from a bug.
 */
export class PostHogUsageError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = 'PostHogUsageError';
  }
}

/** Errors that were redacted when built, so a cause chain keeps them as they are. */
function isOwnError(error: Error): boolean {
  return error instanceof PostHogError || error instanceof ResponseValidationError;
}
