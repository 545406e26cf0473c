import { describe, expect, it } from 'vitest';
import { classify, messageOutcome, OUTCOME_CODES } from '../../../../lib/outcome/index.ts';
import {
  errorFromResponse,
  PostHogDeadlineError,
  PostHogUsageError,
  ResponseValidationError,
} from '../../../../lib/posthog/index.ts';

const apiError = (status: number, headers: Record<string, string> = {}) =>
  errorFromResponse({
    status,
    body: { detail: 'no' },
    headers: new Headers(headers),
    endpoint: 'split',
  });

describe('classify', () => {
  it('retries a programming error instead of dead-lettering the message', () => {
    // Prepare
    const bug = new TypeError("Cannot read properties of undefined (reading 'uuid')");

    // Act
    const outcome = classify(bug, 'split');

    // Assess
    expect(outcome).toEqual({
      status: 'retry',
      code: OUTCOME_CODES.internal,
      delayMs: 0,
      reason: "split failed: Cannot read properties of undefined (reading 'uuid')",
    });
  });

  it('rejects a call the client refused (invalid_request), but not any other TypeError', () => {
    expect(
      classify(new PostHogUsageError('captureBatch needs projectToken'), 'capture_batch'),
    ).toEqual({
      status: 'rejected',
      code: OUTCOME_CODES.invalidRequest,
      reason: 'capture_batch failed: captureBatch needs projectToken',
    });
    expect(classify(new RangeError('Invalid array length')).status).toBe('retry');
  });

  it('names PostHog failures by status and keeps the Retry-After of a 429', () => {
    expect(classify(apiError(429, { 'retry-after': '7' }))).toMatchObject({
      status: 'retry',
      code: 'throttled',
      delayMs: 7000,
    });
    expect(classify(apiError(503))).toMatchObject({ status: 'retry', code: 'http_503' });
    expect(classify(apiError(400))).toMatchObject({ status: 'rejected', code: 'http_400' });
    expect(classify(apiError(404), 'split')).toMatchObject({ code: 'person_not_found' });
    expect(classify(apiError(404), 'bulk_delete')).toMatchObject({ code: 'http_404' });
  });

  it('rejects a response of an unexpected shape, and treats a deadline before any attempt as no fault', () => {
    const invalid = new ResponseValidationError({
      endpoint: 'split',
      status: 201,
      issues: ['x: bad'],
    });
    expect(classify(invalid)).toMatchObject({ status: 'rejected', code: 'unexpected_response' });
    const deadline = new PostHogDeadlineError('no time', { remainingMs: 0 });
    expect(classify(deadline)).toMatchObject({ status: 'retry', code: 'deadline' });
    const cutShort = new PostHogDeadlineError('no time', { remainingMs: 0, cause: apiError(503) });
    expect(classify(cutShort)).toMatchObject({ status: 'retry', code: 'http_503' });
  });
});

describe('messageOutcome', () => {
  it.each([401, 403])(
    'retries a message whose call PostHog refused with %i (the key, not the message)',
    (status) => {
      // Prepare
      const rejected = classify(apiError(status), 'update_property');

      // Act
      const settled = messageOutcome(rejected);

      // Assess
      expect(rejected).toMatchObject({ status: 'rejected', code: `http_${status}` });
      expect(settled).toMatchObject({ status: 'retry', code: 'posthog_auth', delayMs: 0 });
    },
  );

  it('leaves every other outcome as it is', () => {
    const rejected = classify(apiError(400));
    expect(messageOutcome(rejected)).toBe(rejected);
    expect(messageOutcome({ status: 'applied' })).toEqual({ status: 'applied' });
  });
});
