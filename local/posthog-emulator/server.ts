import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiKeyRegistry } from './auth.ts';
import { authorize } from './auth.ts';
import { CAPTURE_PATHS, CAPTURE_V1_PATH, handleCapture } from './capture.ts';
import type { ApiRequest, EmulatorContext } from './context.ts';
import { EmulatorHttpError, envelope, notFound, serverError, throttled } from './errors.ts';
import type { FaultInjector } from './faults.ts';
import { asObject, parseApiJson, readBody, send } from './http.ts';
import type { RateLimiter } from './rate-limiter.ts';
import { matchApiPath, resolveAction } from './router.ts';
import type { JsonValue, RequestLogEntry } from './types.ts';

/** Everything the request handler needs besides the context. */
export interface ServerParts {
  ctx: EmulatorContext;
  keys: ApiKeyRegistry;
  limiter: RateLimiter;
  faults: FaultInjector;
  rateLimitScope: 'key' | 'team';
  requestLog: RequestLogEntry[];
  /** Sockets of hung requests, destroyed on close. */
  hung: Set<ServerResponse>;
  /** Test-only HTTP inspection (`GET /_emulator/state`, `POST /_emulator/flush`). */
  inspect: (path: string, method: string) => JsonValue | undefined;
}

const HTML_ERRORS: Record<number, string> = {
  502: '<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>',
  503: '<html><head><title>503 Service Temporarily Unavailable</title></head><body><h1>503 Service Temporarily Unavailable</h1></body></html>',
  504: '<html><head><title>504 Gateway Time-out</title></head><body><h1>504 Gateway Time-out</h1></body></html>',
};

const sendError = (res: ServerResponse, error: EmulatorHttpError): void => {
  if (typeof error.body === 'string') {
    send(res, error.status, error.body, error.headers, 'text/html; charset=utf-8');
  } else send(res, error.status, error.body, error.headers);
};

/** The node:http request listener of one emulator. */
export const createRequestListener =
  (parts: ServerParts) =>
  (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const pathname = url.pathname;
    const entry: RequestLogEntry = {
      method,
      path: pathname,
      status: 0,
      at: Date.now(),
      endpoint: 'unknown',
      ...(url.search.length > 1 ? { query: url.search.slice(1) } : {}),
    };
    res.on('finish', () => {
      entry.status = res.statusCode;
    });
    const trimmed = pathname.replace(/\/+$/, '') || '/';
    const isCapture = CAPTURE_PATHS.has(trimmed);
    const api = isCapture ? null : matchApiPath(pathname);

    if (trimmed.startsWith('/_emulator/')) {
      entry.endpoint = 'emulator';
      parts.requestLog.push(entry);
      req.resume();
      const out = parts.inspect(trimmed, method);
      if (out === undefined) send(res, 404, envelope('invalid_request', 'not_found', 'Not found.'));
      else send(res, 200, out);
      return;
    }
    entry.endpoint = isCapture
      ? trimmed === '/batch'
        ? 'batch'
        : trimmed === CAPTURE_V1_PATH
          ? 'capture_v1'
          : 'capture'
      : 'unknown';
    if (api) {
      try {
        entry.endpoint = resolveAction(api.rest, parts.ctx.settings.funnelRoutes).endpoint;
      } catch {
        entry.endpoint = 'unknown';
      }
    }
    parts.requestLog.push(entry);

    if (isCapture || api) {
      const fault = parts.faults.draw();
      if (fault.kind !== 'none') {
        entry.fault = fault.kind;
        req.resume();
        switch (fault.kind) {
          case 'outage':
            if (isCapture) {
              send(res, 503, {
                status: 503,
                code: 'service_unavailable',
                error: 'Service unavailable (emulated outage)',
              });
            } else {
              send(
                res,
                503,
                envelope(
                  'server_error',
                  'service_unavailable',
                  'Service unavailable (emulated outage).',
                ),
              );
            }
            return;
          case 'error': {
            const html = HTML_ERRORS[fault.status];
            if (html) send(res, fault.status, html, {}, 'text/html; charset=utf-8');
            else
              send(
                res,
                fault.status,
                envelope('server_error', 'error', 'A server error occurred.'),
              );
            return;
          }
          case 'throttle':
            sendError(res, throttled(fault.retryAfterSeconds));
            return;
          case 'hang':
            parts.hung.add(res);
            res.on('close', () => parts.hung.delete(res));
            return;
          case 'reset':
            req.socket.destroy();
            return;
        }
      }
    }

    handle(parts, req, res, method, url, pathname, isCapture, api).catch((error: unknown) => {
      if (error instanceof EmulatorHttpError) sendError(res, error);
      else {
        console.error('posthog-emulator: unexpected error', error);
        sendError(res, serverError());
      }
    });
  };

const handle = async (
  parts: ServerParts,
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  url: URL,
  pathname: string,
  isCapture: boolean,
  api: ReturnType<typeof matchApiPath>,
): Promise<void> => {
  const { ctx } = parts;
  const raw = await readBody(req);
  if (raw === null) {
    throw isCapture
      ? new EmulatorHttpError(413, {
          status: 413,
          code: 'payload_too_large',
          error: 'Payload too large',
        })
      : new EmulatorHttpError(
          413,
          envelope('invalid_request', 'payload_too_large', 'Request body too large.'),
        );
  }
  if (isCapture) {
    if (method !== 'POST') {
      throw new EmulatorHttpError(405, {
        status: 405,
        code: 'method_not_allowed',
        error: 'Use POST',
      });
    }
    const capture = {
      path: pathname.replace(/\/+$/, ''),
      query: url.searchParams,
      headers: req.headers,
    };
    send(res, 200, handleCapture(ctx, capture, raw));
    return;
  }
  if (!api) throw notFound();

  const action = resolveAction(api.rest, ctx.settings.funnelRoutes);
  // DRF: a format suffix (`/api/person.csv`) picks the renderer like `?format=csv` does.
  if (api.format !== undefined) url.searchParams.set('format', api.format);
  let teamId: number;
  if (api.teamSegment === null || api.teamSegment === '@current') teamId = ctx.settings.projectId;
  else if (/^\d+$/.test(api.teamSegment)) teamId = Number(api.teamSegment);
  else throw notFound('Project not found.');

  // DRF parses the body lazily: a bad body only fails authentication when the key is looked up in it.
  let body: JsonValue = {};
  let bodyError: EmulatorHttpError | undefined;
  try {
    body = parseApiJson(req, raw);
  } catch (error) {
    if (!(error instanceof EmulatorHttpError)) throw error;
    bodyError = error;
  }
  const hasBearer = /^Bearer\s+(?!pha_)\S+/i.test(req.headers.authorization ?? '');
  if (bodyError && !hasBearer) throw bodyError;
  const data = asObject(body);
  const key = parts.keys.authenticate(req, url.searchParams, data);
  if (!ctx.store.teams.has(teamId)) throw notFound('Project not found.');
  authorize(key, teamId, action.scopes(method));

  const bucket = parts.rateLimitScope === 'team' ? `team:${teamId}` : `key:${key.value}`;
  const decision = parts.limiter.check(bucket, action.rateClass(method));
  if (!decision.allowed) {
    const realMs = ctx.clock.toRealMs(decision.waitMs);
    const retryAfter = Math.max(1, Math.ceil(realMs / 1000));
    throw throttled(retryAfter, {
      'X-Emulator-Retry-After-Ms': String(Math.max(1, Math.ceil(realMs))),
      'X-Emulator-Retry-After-Scaled': String(Math.max(1, Math.ceil(decision.waitMs / 1000))),
    });
  }
  if (bodyError) throw bodyError;
  const handler = action.methods[method];
  if (!handler) {
    throw new EmulatorHttpError(
      405,
      envelope('invalid_request', 'method_not_allowed', `Method "${method}" not allowed.`),
    );
  }
  const apiRequest: ApiRequest = {
    method,
    teamId,
    personId: action.personId,
    path: pathname,
    query: url.searchParams,
    body: data,
    key,
  };
  const result = handler(ctx, apiRequest);
  send(res, result.status, result.body, result.headers ?? {}, result.contentType);
};
