import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  errorFromResponse,
  isAlreadyDone,
  isRetryable,
  PostHogAbortError,
  PostHogApiError,
  PostHogAuthError,
  PostHogConnectionError,
  PostHogDeadlineError,
  PostHogEndpointUnavailableError,
  PostHogError,
  PostHogNotFoundError,
  PostHogPermissionError,
  PostHogRateLimitError,
  PostHogServerError,
  PostHogTimeoutError,
  PostHogValidationError,
  parseErrorBody,
  parseRetryAfterMs,
  ResponseValidationError,
  redactSecrets,
  retryDelayMs,
} from '../../../../lib/posthog/index.ts';

const envelope = (type: string, code: string, detail: string, attr: string | null = null) => ({
  type,
  code,
  detail,
  attr,
});

function fromStatus(status: number, body: unknown = {}, headers: Record<string, string> = {}) {
  return errorFromResponse({
    status,
    body,
    headers: new Headers(headers),
    endpoint: 'split',
    method: 'POST',
  });
}

describe('errorFromResponse (the one factory)', () => {
  it.each([
    [400, PostHogValidationError],
    [401, PostHogAuthError],
    [403, PostHogPermissionError],
    [404, PostHogNotFoundError],
    [429, PostHogRateLimitError],
    [500, PostHogServerError],
    [502, PostHogServerError],
    [503, PostHogServerError],
  ])('maps %i to %o', (status, cls) => {
    // Act
    const error = fromStatus(status, envelope('x', 'y', 'z'));

    // Assess
    expect(error).toBeInstanceOf(cls);
    expect(error).toBeInstanceOf(PostHogApiError);
    expect(error).toBeInstanceOf(PostHogError);
    expect(error.status).toBe(status);
    expect(error.name).toBe(cls.name);
  });

  it('maps other statuses (405, 408, 413, 415) to the PostHogApiError base', () => {
    for (const status of [405, 408, 413, 415]) {
      const error = fromStatus(status);
      expect(error.constructor).toBe(PostHogApiError);
      expect(error.status).toBe(status);
    }
  });

  it('carries type, code, detail, attr, request id and Retry-After from a 429', () => {
    // Act
    const error = fromStatus(
      429,
      envelope(
        'throttled_error',
        'throttled',
        'Request was throttled. Expected available in 62 seconds.',
      ),
      { 'Retry-After': '62', 'x-request-id': 'req-123' },
    );

    // Assess
    expect(error).toMatchObject({
      type: 'throttled_error',
      code: 'throttled',
      detail: 'Request was throttled. Expected available in 62 seconds.',
      attr: null,
      requestId: 'req-123',
      retryAfterMs: 62_000,
      endpoint: 'split',
      method: 'POST',
    });
    expect(error.message).toContain('429');
    expect(error.message).toContain('throttled');
  });

  it("un-swaps update_property's hand-built 400 (code and detail swapped)", () => {
    // Act
    const error = fromStatus(400, {
      attr: 'value',
      code: 'This field is required.',
      detail: 'required',
      type: 'validation_error',
    });

    // Assess
    expect(error).toMatchObject({
      code: 'required',
      detail: 'This field is required.',
      attr: 'value',
    });
    expect(error.message).toContain('field value');
  });

  it("reads split's field error with attr", () => {
    const error = fromStatus(
      400,
      envelope(
        'validation_error',
        'invalid_input',
        "not on this person: ['x']",
        'distinct_ids_to_split',
      ),
    );
    expect(error).toMatchObject({ attr: 'distinct_ids_to_split', code: 'invalid_input' });
  });

  it("reads capture's {status, code, error} body", () => {
    const error = fromStatus(401, {
      status: 401,
      code: 'ingest_key_required',
      error: 'No api key',
    });
    expect(error).toBeInstanceOf(PostHogAuthError);
    expect(error).toMatchObject({
      code: 'ingest_key_required',
      detail: 'No api key',
      type: 'capture_error',
    });
  });

  it('reads DRF field dicts, cohorts {message, detail} and HTML error pages', () => {
    expect(parseErrorBody({ distinct_ids_to_split: ['must not be empty'] })).toEqual({
      type: 'validation_error',
      detail: 'must not be empty',
      attr: 'distinct_ids_to_split',
    });
    expect(
      parseErrorBody({
        message: 'Could not retrieve team',
        detail: 'Could not validate team associated with user',
      }),
    ).toMatchObject({ detail: 'Could not validate team associated with user' });
    expect(parseErrorBody('<html>\n<body>502 Bad Gateway</body></html>')).toEqual({
      detail: '<html> <body>502 Bad Gateway</body></html>',
    });
    expect(parseErrorBody('')).toEqual({});
  });
});

describe('parseRetryAfterMs', () => {
  it('reads integer seconds, an HTTP date and retry-after-ms', () => {
    const now = Date.parse('2026-11-28T12:00:00Z');
    expect(parseRetryAfterMs(new Headers({ 'retry-after': '3' }), now)).toBe(3000);
    expect(
      parseRetryAfterMs(new Headers({ 'retry-after': 'Sat, 28 Nov 2026 12:00:05 GMT' }), now),
    ).toBe(5000);
    expect(parseRetryAfterMs(new Headers({ 'retry-after-ms': '250' }), now)).toBe(250);
    expect(parseRetryAfterMs(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(parseRetryAfterMs(new Headers(), now)).toBeUndefined();
  });
});

describe('isRetryable (the one predicate)', () => {
  it.each([408, 429, 500, 502, 503, 504])('retries %i', (status) => {
    expect(isRetryable(fromStatus(status))).toBe(true);
  });

  it.each([400, 401, 403, 404, 405, 413, 415])('does not retry %i', (status) => {
    expect(isRetryable(fromStatus(status))).toBe(false);
  });

  it('retries connection errors and timeouts, not aborts or bad responses', () => {
    expect(isRetryable(new PostHogConnectionError('reset', { errorCode: 'ECONNRESET' }))).toBe(
      true,
    );
    expect(isRetryable(new PostHogTimeoutError('slow', { timeoutMs: 10 }))).toBe(true);
    expect(isRetryable(new PostHogAbortError('stop'))).toBe(false);
    expect(
      isRetryable(new ResponseValidationError({ endpoint: 'split', status: 201, issues: [] })),
    ).toBe(false);
    expect(isRetryable(new Error('random'))).toBe(false);
    expect(isRetryable('string')).toBe(false);
  });

  it('never retries an unavailable funnel route, whatever its status', () => {
    const error = new PostHogEndpointUnavailableError('gone', { status: 503, reason: 'removed' });
    expect(isRetryable(error)).toBe(false);
  });

  it('treats a deadline as retryable later unless its cause was permanent', () => {
    const throttled = fromStatus(429);
    expect(
      isRetryable(new PostHogDeadlineError('late', { remainingMs: 5, cause: throttled })),
    ).toBe(true);
    expect(isRetryable(new PostHogDeadlineError('late', { remainingMs: 5 }))).toBe(true);
    expect(
      isRetryable(new PostHogDeadlineError('late', { remainingMs: 5, cause: fromStatus(400) })),
    ).toBe(false);
  });
});

describe('retryDelayMs', () => {
  it('prefers Retry-After, also through a deadline error', () => {
    const throttled = fromStatus(429, {}, { 'retry-after': '7' });
    expect(retryDelayMs(throttled, 0)).toBe(7000);
    expect(
      retryDelayMs(new PostHogDeadlineError('late', { remainingMs: 1, cause: throttled }), 0),
    ).toBe(7000);
  });

  it('uses full jitter under an exponential ceiling with a cap', () => {
    const error = fromStatus(503);
    const max = () => 0.999_999;
    expect(retryDelayMs(error, 0, { random: max })).toBe(499);
    expect(retryDelayMs(error, 3, { random: max })).toBe(3999);
    expect(retryDelayMs(error, 10, { random: max })).toBe(7999);
    expect(retryDelayMs(error, 10, { random: () => 0 })).toBe(0);
    expect(retryDelayMs(error, 2, { random: () => 0.5, baseMs: 100, capMs: 1000 })).toBe(200);
  });

  it('is undefined for permanent errors', () => {
    expect(retryDelayMs(fromStatus(400), 0)).toBeUndefined();
  });
});

describe('isAlreadyDone', () => {
  it('recognises a 404 on delete and a 400 "not on this person" on split', () => {
    expect(
      isAlreadyDone(
        fromStatus(404, envelope('invalid_request', 'not_found', 'Not found.')),
        'delete',
      ),
    ).toBe(true);
    const repeated = fromStatus(
      400,
      envelope(
        'validation_error',
        'invalid_input',
        "not on this person: ['a', 'b']",
        'distinct_ids_to_split',
      ),
    );
    expect(isAlreadyDone(repeated, 'split')).toBe(true);
  });

  it('does not confuse other failures with success', () => {
    expect(isAlreadyDone(fromStatus(404), 'split')).toBe(false);
    expect(
      isAlreadyDone(
        fromStatus(400, envelope('validation_error', 'invalid_input', 'must not be empty')),
        'split',
      ),
    ).toBe(false);
    expect(isAlreadyDone(fromStatus(500), 'delete')).toBe(false);
    expect(isAlreadyDone(new Error('x'), 'delete')).toBe(false);
    expect(
      isAlreadyDone(
        new PostHogEndpointUnavailableError('gone', { status: 404, reason: 'removed' }),
        'delete',
      ),
    ).toBe(false);
  });
});

describe('secrets', () => {
  it('masks key-shaped tokens and bearer values in messages, toJSON and inspect', () => {
    // Prepare
    const key = 'phx_abcdefghijklmnop1234';
    const error = fromStatus(
      401,
      envelope('authentication_error', 'authentication_failed', `bad key ${key}`),
    );

    // Act
    const rendered = [error.message, String(error), JSON.stringify(error), inspect(error)].join(
      '\n',
    );

    // Assess
    expect(rendered).not.toContain(key);
    expect(rendered).toContain('[REDACTED]');
    expect(redactSecrets('Authorization: Bearer sekret-value')).toBe(
      'Authorization: Bearer [REDACTED]',
    );
  });

  it('serialises only safe scalar fields', () => {
    const error = fromStatus(429, envelope('throttled_error', 'throttled', 'slow down'), {
      'retry-after': '1',
    });
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: 'PostHogRateLimitError',
      message: error.message,
      endpoint: 'split',
      method: 'POST',
      status: 429,
      type: 'throttled_error',
      code: 'throttled',
      detail: 'slow down',
      attr: null,
      retryAfterMs: 1000,
    });
  });
});
