import type { JsonObject } from './types.ts';

/**
 * An answer that ends request handling early. The body is sent verbatim, so handlers that build PostHog's
 * hand-made bodies (update_property's swapped `code`/`detail`) keep their exact key order.
 */
export class EmulatorHttpError extends Error {
  public readonly status: number;
  public readonly body: JsonObject | string | null;
  public readonly headers: Record<string, string>;

  public constructor(
    status: number,
    body: JsonObject | string | null,
    headers: Record<string, string> = {},
  ) {
    super(typeof body === 'string' ? body : JSON.stringify(body));
    this.name = 'EmulatorHttpError';
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

/** drf-exceptions-hog 0.4.0 envelope, in its key order. */
export const envelope = (
  type: string,
  code: string,
  detail: string,
  attr: string | null = null,
): JsonObject => ({ type, code, detail, attr });

/** `ValidationError("msg")` or `ValidationError({attr: "msg"})`: 400 `validation_error` / `invalid_input`. */
export const validationError = (detail: string, attr: string | null = null): EmulatorHttpError =>
  new EmulatorHttpError(400, envelope('validation_error', 'invalid_input', detail, attr));

/** The hand-built 400 of update_property and PATCH, with `code` and `detail` swapped (§6), in PostHog's key order. */
export const swappedRequiredError = (attr: string): EmulatorHttpError =>
  new EmulatorHttpError(400, {
    attr,
    code: 'This field is required.',
    detail: 'required',
    type: 'validation_error',
  });

/** 404 `Not found.` */
export const notFound = (detail = 'Not found.'): EmulatorHttpError =>
  new EmulatorHttpError(404, envelope('invalid_request', 'not_found', detail));

/** 405 with DRF's message, or a custom one (create). */
export const methodNotAllowed = (method: string, detail?: string): EmulatorHttpError =>
  new EmulatorHttpError(
    405,
    envelope('invalid_request', 'method_not_allowed', detail ?? `Method "${method}" not allowed.`),
  );

/** 403 `permission_denied`. */
export const permissionDenied = (detail: string): EmulatorHttpError =>
  new EmulatorHttpError(403, envelope('authentication_error', 'permission_denied', detail));

/** 401 `authentication_failed` (bad key) or `not_authenticated` (no credentials). */
export const authenticationFailed = (detail: string): EmulatorHttpError =>
  new EmulatorHttpError(401, envelope('authentication_error', 'authentication_failed', detail));

/** 401 when no credentials were given. */
export const notAuthenticated = (): EmulatorHttpError =>
  new EmulatorHttpError(
    401,
    envelope(
      'authentication_error',
      'not_authenticated',
      'Authentication credentials were not provided.',
    ),
  );

/** What an uncaught Python exception becomes: 500 `server_error`. */
export const serverError = (): EmulatorHttpError =>
  new EmulatorHttpError(500, envelope('server_error', 'error', 'A server error occurred.'));

/** DRF's throttled detail: `1 second.` in the singular. */
export const throttledDetail = (seconds: number): string =>
  `Request was throttled. Expected available in ${seconds} second${seconds === 1 ? '' : 's'}.`;

/** The 429 body of the API throttles. */
export const throttled = (
  retryAfterSeconds: number,
  extraHeaders: Record<string, string> = {},
): EmulatorHttpError =>
  new EmulatorHttpError(
    429,
    envelope('throttled_error', 'throttled', throttledDetail(retryAfterSeconds)),
    { 'Retry-After': String(retryAfterSeconds), ...extraHeaders },
  );

/** The capture service's error body (current Rust capture): `{status, code, error}`. */
export const captureError = (status: number, code: string, error: string): EmulatorHttpError =>
  new EmulatorHttpError(status, { status, code, error });
