import { setTimeout as delay } from 'node:timers/promises';
import type * as z from 'zod';
import { ENDPOINT_POLICY, type EndpointName, type EndpointPolicy } from './endpoints.ts';
import { errorFromFetchFailure, errorFromResponse, requestIdOf } from './error-factory.ts';
import {
  PostHogAbortError,
  PostHogApiError,
  PostHogConnectionError,
  PostHogDeadlineError,
  type PostHogError,
  PostHogRateLimitError,
  ResponseValidationError,
} from './errors.ts';
import type { PostHogRateLimiter, RatePermit } from './rate-limiter.ts';
import { type BackoffOptions, decideRetry } from './retry-policy.ts';
import type { PostHogLogger, RequestOptions, ResponseInfo } from './types.ts';

/** No attempt starts with less time than this before the deadline: it could not finish anyway. */
export const MIN_ATTEMPT_MS = 100;

/** How the body of a successful response is read. */
export interface ResponseSpec<T> {
  endpoint: EndpointName;
  /** `json` validates with `schema`; `empty` ignores the body (202s); `text` returns it (CSV). */
  response: 'json' | 'empty' | 'text';
  schema?: z.ZodType<T>;
  /** Turns a generic API error into a more specific one (funnel routes). */
  mapError?: (error: PostHogApiError) => PostHogApiError;
}

/** One logical request: a {@link ResponseSpec} plus where and what to send. */
export interface RequestSpec<T> extends ResponseSpec<T> {
  method: 'GET' | 'POST' | 'PATCH';
  url: URL;
  body?: unknown;
}

/** Everything the transport needs, resolved and validated by `PostHogClient`. */
export interface TransportOptions {
  readonly host: string;
  readonly captureHost: string;
  readonly projectId: string;
  readonly personalApiKey: string;
  readonly fetch: typeof fetch;
  readonly now: () => number;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  readonly maxRetryAfterMs: number;
  readonly backoff: Required<BackoffOptions>;
  /** Only what the request loop calls, so any governor with PostHogRateLimiter's two methods fits. */
  readonly limiter: Pick<PostHogRateLimiter, 'acquire' | 'blockUntil'> | undefined;
  readonly logger: PostHogLogger | undefined;
  readonly onResponse: ((info: ResponseInfo) => void) | undefined;
}

/** Where a request stands between attempts. */
interface RequestState {
  attempt: number;
  resetRetried: boolean;
  lastError: PostHogError | undefined;
}

/**
 * The request loop every endpoint goes through (openai-node's `APIClient`): the rate limiter, a per-attempt
 * AbortSignal timeout, retries with exponential backoff and full jitter, `Retry-After` honoured up to a ceiling,
 * no attempt or sleep past the caller's deadline, and a validated body. The endpoint methods (persons.ts,
 * capture.ts, funnel-legacy.ts) only say what to send; {@link ENDPOINT_POLICY} says how it may be retried.
 */
export class PostHogTransport {
  readonly #o: TransportOptions;

  constructor(options: TransportOptions) {
    this.#o = options;
  }

  /** The URL of a route of the project's private API, with the defined query values set. */
  apiUrl(route: string, query: Record<string, string | number | boolean | undefined> = {}): URL {
    const url = new URL(`${this.#o.host}/api/projects/${this.#o.projectId}${route}`);
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    return url;
  }

  /** The URL of a route on the capture host. */
  captureUrl(route: string): URL {
    return new URL(`${this.#o.captureHost}${route}`);
  }

  get<T>(url: URL, spec: ResponseSpec<T>, o: RequestOptions = {}): Promise<T> {
    return this.request({ ...spec, method: 'GET', url }, o);
  }

  post<T>(url: URL, body: unknown, spec: ResponseSpec<T>, o: RequestOptions = {}): Promise<T> {
    return this.request({ ...spec, method: 'POST', url, body }, o);
  }

  patch<T>(url: URL, body: unknown, spec: ResponseSpec<T>, o: RequestOptions = {}): Promise<T> {
    return this.request({ ...spec, method: 'PATCH', url, body }, o);
  }

  /** One logical request: limiter, attempts, retries, validation. */
  async request<T>(spec: RequestSpec<T>, o: RequestOptions): Promise<T> {
    const policy: EndpointPolicy = ENDPOINT_POLICY[spec.endpoint];
    const state: RequestState = { attempt: 0, resetRetried: false, lastError: undefined };
    for (;;) {
      if (o.signal?.aborted) throw abortError(spec, o.signal.reason);
      this.#checkDeadline(spec, o, state.lastError, 0);
      const permit = await this.#acquire(spec, policy, o, state.lastError);
      const remaining =
        o.deadline === undefined ? Number.POSITIVE_INFINITY : o.deadline - this.#o.now();
      const timeoutMs = Math.max(1, Math.min(this.#o.timeoutMs, remaining));
      let error: PostHogError;
      try {
        return await this.#attempt(spec, state.attempt, timeoutMs, o.signal);
      } catch (caught) {
        if (!(caught instanceof PostHogApiError || caught instanceof PostHogConnectionError)) {
          throw caught;
        }
        error = caught;
      } finally {
        permit?.release();
      }
      await this.#afterFailure(spec, policy, o, state, error);
    }
  }

  /** Decides on a failed attempt: throws it, or waits for the retry and updates `state`. */
  async #afterFailure(
    spec: RequestSpec<unknown>,
    policy: EndpointPolicy,
    o: RequestOptions,
    state: RequestState,
    error: PostHogError,
  ): Promise<void> {
    state.lastError = error;
    if (error instanceof PostHogRateLimitError && policy.bucket !== null && this.#o.limiter) {
      // Someone else is spending this key's budget: hold the bucket back for everyone in-process.
      this.#o.limiter.blockUntil(policy.bucket, this.#o.now() + (error.retryAfterMs ?? 1000));
    }
    const decision = decideRetry(error, { ...state, policy, ...this.#retrySettings() });
    if (!decision.retry) {
      this.#logGivingUp(spec, state.attempt, error, decision.retryAfterTooLong === true);
      throw error;
    }
    if (decision.reset) state.resetRetried = true;
    this.#checkDeadline(spec, o, error, decision.delayMs);
    this.#o.logger?.debug('Retrying PostHog request', {
      ...logFields(spec, state.attempt, error),
      delayMs: decision.delayMs,
    });
    if (decision.delayMs > 0) await this.#sleep(spec, decision.delayMs, o.signal);
    if (!decision.reset) state.attempt += 1;
  }

  #retrySettings() {
    const { maxRetries, maxRetryAfterMs, backoff } = this.#o;
    return { maxRetries, maxRetryAfterMs, backoff };
  }

  #logGivingUp(
    spec: RequestSpec<unknown>,
    attempt: number,
    error: PostHogError,
    retryAfterTooLong: boolean,
  ) {
    if (retryAfterTooLong && error instanceof PostHogApiError) {
      this.#o.logger?.warn('PostHog Retry-After exceeds the ceiling; not waiting', {
        ...logFields(spec, attempt, error),
        retryAfterMs: error.retryAfterMs,
        maxRetryAfterMs: this.#o.maxRetryAfterMs,
      });
    }
    if (error instanceof PostHogRateLimitError) {
      this.#o.logger?.warn(
        'PostHog throttled the request; giving up',
        logFields(spec, attempt, error),
      );
    }
  }

  async #sleep(
    spec: RequestSpec<unknown>,
    ms: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    try {
      await this.#o.sleep(ms, signal);
    } catch (sleepError) {
      throw abortError(spec, sleepError);
    }
  }

  /** A permit of the endpoint's bucket, or undefined when it has none (capture) or limits are off. */
  async #acquire(
    spec: RequestSpec<unknown>,
    policy: EndpointPolicy,
    o: RequestOptions,
    lastError: PostHogError | undefined,
  ): Promise<RatePermit | undefined> {
    if (policy.bucket === null || this.#o.limiter === undefined) return undefined;
    try {
      return await this.#o.limiter.acquire(policy.bucket, {
        ...(o.deadline === undefined ? {} : { deadline: o.deadline - MIN_ATTEMPT_MS }),
        ...(o.signal === undefined ? {} : { signal: o.signal }),
      });
    } catch (error) {
      if (!(error instanceof PostHogDeadlineError)) throw error;
      throw new PostHogDeadlineError(`PostHog ${spec.endpoint}: ${error.message}`, {
        endpoint: spec.endpoint,
        method: spec.method,
        remainingMs: error.remainingMs,
        ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
        ...(lastError === undefined ? {} : { cause: lastError }),
      });
    }
  }

  /** Throws PostHogDeadlineError when starting an attempt after `waitMs` would pass the deadline. */
  #checkDeadline(
    spec: RequestSpec<unknown>,
    o: RequestOptions,
    lastError: PostHogError | undefined,
    waitMs: number,
  ): void {
    if (o.deadline === undefined) return;
    const remainingMs = o.deadline - this.#o.now();
    if (remainingMs - waitMs >= MIN_ATTEMPT_MS) return;
    const why =
      waitMs > 0
        ? `a retry in ${waitMs} ms would pass the deadline (${Math.max(0, remainingMs)} ms left)`
        : `only ${Math.max(0, remainingMs)} ms left before the deadline`;
    const last = lastError === undefined ? '' : `; last error: ${lastError.message}`;
    throw new PostHogDeadlineError(`PostHog ${spec.endpoint}: ${why}${last}`, {
      endpoint: spec.endpoint,
      method: spec.method,
      remainingMs: Math.max(0, remainingMs),
      ...(waitMs > 0 ? { retryAfterMs: waitMs } : {}),
      ...(lastError === undefined ? {} : { cause: lastError }),
    });
  }

  /** One HTTP attempt with its own timeout. Resolves with the validated body or throws a typed error. */
  async #attempt<T>(
    spec: RequestSpec<T>,
    attempt: number,
    timeoutMs: number,
    callerSignal: AbortSignal | undefined,
  ): Promise<T> {
    const timeoutSignal = AbortSignal.timeout(timeoutMs);
    const signal =
      callerSignal === undefined ? timeoutSignal : AbortSignal.any([timeoutSignal, callerSignal]);
    // Serialised outside the try: a body that cannot be encoded is a caller bug, not a network error.
    const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    const started = this.#o.now();
    let status = 0; // 0 until a response arrives
    let reported = false;
    try {
      const response = await this.#o.fetch(spec.url, {
        method: spec.method,
        headers: this.#headers(spec),
        ...(body === undefined ? {} : { body }),
        signal,
        // Never follow a redirect with the key attached; a 3xx surfaces as a permanent error that
        // names the target, so the operator can configure that host instead.
        redirect: 'manual',
      });
      status = response.status;
      const text = await response.text();
      this.#report(spec, status, started, attempt);
      reported = true;
      if (!response.ok) throw this.#errorOf(spec, response, text);
      return parseSuccess(spec, response, text);
    } catch (error) {
      if (error instanceof PostHogApiError || error instanceof ResponseValidationError) throw error;
      if (!reported) this.#report(spec, status, started, attempt);
      throw errorFromFetchFailure(error, {
        endpoint: spec.endpoint,
        method: spec.method,
        host: new URL(spec.url).origin,
        timedOut: timeoutSignal.aborted,
        aborted: callerSignal?.aborted === true,
        timeoutMs,
      });
    }
  }

  #headers(spec: RequestSpec<unknown>): Record<string, string> {
    const policy: EndpointPolicy = ENDPOINT_POLICY[spec.endpoint];
    return {
      accept: spec.response === 'text' ? 'text/csv, text/plain, */*' : 'application/json',
      'user-agent': 'persons-relay',
      // The personal key goes only to the API host; capture carries the project token in its body.
      ...(policy.auth === 'personal' ? { authorization: `Bearer ${this.#o.personalApiKey}` } : {}),
      ...(spec.body === undefined ? {} : { 'content-type': 'application/json' }),
    };
  }

  #errorOf(spec: RequestSpec<unknown>, response: Response, text: string): PostHogApiError {
    const error = errorFromResponse({
      status: response.status,
      body: parseMaybeJson(text),
      headers: response.headers,
      endpoint: spec.endpoint,
      method: spec.method,
      now: this.#o.now(),
    });
    return spec.mapError ? spec.mapError(error) : error;
  }

  #report(spec: RequestSpec<unknown>, status: number, started: number, attempt: number): void {
    this.#o.onResponse?.({
      endpoint: spec.endpoint,
      method: spec.method,
      status,
      durationMs: Math.max(0, this.#o.now() - started),
      attempt,
    });
  }
}

function abortError(spec: RequestSpec<unknown>, cause: unknown): PostHogAbortError {
  return new PostHogAbortError(`PostHog ${spec.endpoint} request was aborted by the caller`, {
    cause,
    endpoint: spec.endpoint,
    method: spec.method,
  });
}

function parseSuccess<T>(spec: ResponseSpec<T>, response: Response, text: string): T {
  // For `text`, T is string (listCsv); for `empty` the caller ignores the value.
  if (spec.response === 'text') return text as T;
  if (spec.response === 'empty') return undefined as T;
  const requestId = requestIdOf(response.headers);
  const fail = (issues: string[], cause?: unknown): never => {
    throw new ResponseValidationError({
      endpoint: spec.endpoint,
      status: response.status,
      issues,
      ...(requestId === undefined ? {} : { requestId }),
      ...(cause === undefined ? {} : { cause }),
    });
  };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    return fail([`body is not JSON (${text.length} bytes)`], cause);
  }
  if (spec.schema === undefined) return json as T;
  const parsed = spec.schema.safeParse(json);
  if (!parsed.success) {
    return fail(
      parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`),
      parsed.error,
    );
  }
  return parsed.data;
}

function logFields(
  spec: RequestSpec<unknown>,
  attempt: number,
  error: PostHogError,
): Record<string, unknown> {
  return {
    endpoint: spec.endpoint,
    method: spec.method,
    attempt,
    error: error.name,
    ...(error instanceof PostHogApiError
      ? { status: error.status, code: error.code, requestId: error.requestId }
      : {}),
    ...(error instanceof PostHogConnectionError && error.errorCode !== undefined
      ? { errorCode: error.errorCode }
      : {}),
  };
}

function parseMaybeJson(text: string): unknown {
  if (text === '') return '';
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** setTimeout-based sleep that rejects when `signal` aborts. */
export function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, signal === undefined ? {} : { signal });
}
