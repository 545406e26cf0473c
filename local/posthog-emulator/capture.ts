import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { EmulatorContext } from './context.ts';
import { captureError } from './errors.ts';
import type { IngestEvent } from './ingestion.ts';
import type { JsonObject, JsonValue } from './types.ts';

/** The capture-v1 analytics path (`posthog-node` with `POSTHOG_CAPTURE_MODE=v1`, capture-v1/sender `V1_ANALYTICS_PATH`). */
export const CAPTURE_V1_PATH = '/i/v1/analytics/events';

/** Capture paths (S17 router, plus capture v1), matched with or without a trailing slash. */
export const CAPTURE_PATHS = new Set([
  '/i/v0/e',
  '/e',
  '/capture',
  '/track',
  '/engage',
  '/batch',
  CAPTURE_V1_PATH,
]);

/** What capture reads from the request besides the body. */
export interface CaptureRequest {
  /** Path without a trailing slash. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
}

/**
 * Rust capture `extract_compression`: the `compression` query parameter wins (`gzip` or `gzip-js`, as posthog-js
 * sends it, with no `Content-Encoding`), then the `Content-Encoding` header (already gunzipped by `readBody`).
 * lz64 and base64 payloads are not emulated and answer 400.
 */
const decompress = (request: CaptureRequest, raw: Buffer): Buffer => {
  const compression = request.query.get('compression')?.toLowerCase();
  if (compression === undefined || compression === '') return raw;
  if (compression !== 'gzip' && compression !== 'gzip-js') {
    throw captureError(
      400,
      'unsupported_compression',
      `Compression ${compression} is not supported by the emulator`,
    );
  }
  // readBody already gunzipped a body that also said `Content-Encoding: gzip`; only a gzip stream starts 1f 8b.
  if (raw[0] !== 0x1f || raw[1] !== 0x8b) return raw;
  try {
    return gunzipSync(raw);
  } catch {
    throw captureError(400, 'invalid_payload', 'Failed to decode request: invalid gzip body');
  }
};

const SINGLE_LIMIT = 2 * 1024 * 1024;
const BATCH_LIMIT = 20 * 1024 * 1024;

const isObject = (value: JsonValue | undefined): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const tokenOf = (value: JsonObject | undefined): string | undefined => {
  if (!value) return undefined;
  for (const name of ['api_key', 'token', '$token']) {
    const t = value[name];
    if (typeof t === 'string' && t !== '') return t;
  }
  const props = value['properties'];
  if (isObject(props)) {
    for (const name of ['token', '$token']) {
      const t = props[name];
      if (typeof t === 'string' && t !== '') return t;
    }
  }
  return undefined;
};

const parseCaptureJson = (body: Buffer): JsonValue => {
  try {
    return JSON.parse(body.toString('utf8') || 'null') as JsonValue;
  } catch {
    throw captureError(400, 'invalid_payload', 'Failed to decode request: invalid JSON');
  }
};

/**
 * POST /i/v0/e/, /e/, /capture/, /track/, /engage/, /batch/ and /i/v1/analytics/events: project-token auth, the
 * Rust capture's error bodies, then ingestion after the configured delay. Answers `{"status": 1}` (v0) or the v1
 * per-event `results`.
 */
export const handleCapture = (
  ctx: EmulatorContext,
  request: CaptureRequest,
  raw: Buffer,
): JsonObject => {
  const { path } = request;
  const limit = path === '/batch' || path === CAPTURE_V1_PATH ? BATCH_LIMIT : SINGLE_LIMIT;
  const body = decompress(request, raw);
  if (body.length > limit) throw captureError(413, 'payload_too_large', 'Payload too large');
  const parsed = parseCaptureJson(body);
  if (path === CAPTURE_V1_PATH) return handleCaptureV1(ctx, request, parsed);
  let events: JsonValue[];
  let envelopeToken: string | undefined;
  if (Array.isArray(parsed)) {
    events = parsed;
  } else if (isObject(parsed)) {
    envelopeToken = tokenOf(parsed);
    events = Array.isArray(parsed['batch']) ? parsed['batch'] : [parsed];
  } else {
    throw captureError(400, 'invalid_payload', 'Failed to decode request: expected an object');
  }
  if (events.length === 0) throw captureError(400, 'no_events', 'Request contained no events');
  const firstEvent = events[0];
  const token = envelopeToken ?? (isObject(firstEvent) ? tokenOf(firstEvent) : undefined);
  if (!token) throw captureError(401, 'ingest_key_required', 'No api key in request');
  const teamId = ctx.store.teamOfToken(token);
  if (teamId === undefined) throw captureError(403, 'ingest_key_unknown', 'API key is not valid');

  const accepted: IngestEvent[] = [];
  for (const e of events) {
    if (!isObject(e)) throw captureError(400, 'invalid_event', 'Event is not an object');
    const name = e['event'];
    if (typeof name !== 'string' || name === '') {
      throw captureError(400, 'missing_event_name', 'Event is missing a name');
    }
    const properties: JsonObject = isObject(e['properties']) ? { ...e['properties'] } : {};
    const rawId =
      e['distinct_id'] ??
      e['$distinct_id'] ??
      properties['distinct_id'] ??
      properties['$distinct_id'];
    const distinctId =
      typeof rawId === 'string' ? rawId : typeof rawId === 'number' ? String(rawId) : '';
    if (distinctId === '') {
      throw captureError(400, 'missing_distinct_id', 'Event is missing a distinct_id');
    }
    mergeTopLevelSets(e, properties);
    const ts =
      typeof e['timestamp'] === 'string' && !Number.isNaN(Date.parse(e['timestamp']))
        ? e['timestamp']
        : null;
    accepted.push({
      teamId,
      event: name,
      distinctId,
      properties,
      timestamp: ts ? new Date(ts).toISOString() : new Date().toISOString(),
      // Capture gives every event a uuid; `$creator_event_uuid` of a new person is that uuid.
      uuid: typeof e['uuid'] === 'string' && e['uuid'] !== '' ? e['uuid'] : randomUUID(),
    });
  }
  ctx.ingestLater(accepted);
  return { status: 1 };
};

/**
 * PostHog `sanitizeEvent` (nodejs/src/utils/event.ts): a top-level `$set`/`$set_once` is merged over
 * `properties.$set`/`properties.$set_once`, the top level winning. A top-level `$unset` is never read.
 */
const mergeTopLevelSets = (event: JsonObject, properties: JsonObject): void => {
  for (const k of ['$set', '$set_once'] as const) {
    const top = event[k];
    if (!top) continue;
    const inner = properties[k];
    properties[k] = { ...(isObject(inner) ? inner : {}), ...(isObject(top) ? top : {}) };
  }
};

const bearerToken = (headers: IncomingHttpHeaders): string | undefined =>
  headers.authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];

/**
 * POST /i/v1/analytics/events (capture v1, as posthog-node's capture-v1 sender and transform build it): the project
 * token as `Authorization: Bearer`, `{created_at, batch: [{event, uuid, distinct_id, timestamp, session_id?,
 * window_id?, options, properties}]}`. Answers `{"results": {<uuid>: {"result": "ok"}}}`; an event without a name,
 * uuid or distinct id gets `{"result": "drop"}` instead (the four results are ok, warning, drop and retry).
 */
const handleCaptureV1 = (
  ctx: EmulatorContext,
  request: CaptureRequest,
  parsed: JsonValue,
): JsonObject => {
  const token = bearerToken(request.headers);
  if (!token) throw captureError(401, 'ingest_key_required', 'No api key in request');
  const teamId = ctx.store.teamOfToken(token);
  if (teamId === undefined) throw captureError(401, 'ingest_key_unknown', 'API key is not valid');
  if (!isObject(parsed) || !Array.isArray(parsed['batch'])) {
    throw captureError(
      400,
      'invalid_payload',
      'Failed to decode request: expected {"batch": [...]}',
    );
  }
  const results: JsonObject = {};
  const accepted: IngestEvent[] = [];
  for (const e of parsed['batch']) {
    if (!isObject(e)) continue;
    const uuid = typeof e['uuid'] === 'string' ? e['uuid'] : '';
    const name = typeof e['event'] === 'string' ? e['event'] : '';
    const distinctId = typeof e['distinct_id'] === 'string' ? e['distinct_id'] : '';
    if (uuid === '' || name === '' || distinctId === '') {
      if (uuid !== '')
        results[uuid] = { result: 'drop', details: 'missing event name or distinct_id' };
      continue;
    }
    const properties: JsonObject = isObject(e['properties']) ? { ...e['properties'] } : {};
    const options = isObject(e['options']) ? e['options'] : {};
    if (options['process_person_profile'] === false) properties['$process_person_profile'] = false;
    if (typeof e['session_id'] === 'string') properties['$session_id'] = e['session_id'];
    if (typeof e['window_id'] === 'string') properties['$window_id'] = e['window_id'];
    const ts = typeof e['timestamp'] === 'string' ? Date.parse(e['timestamp']) : Number.NaN;
    accepted.push({
      teamId,
      event: name,
      distinctId,
      properties,
      timestamp: new Date(Number.isNaN(ts) ? Date.now() : ts).toISOString(),
      uuid,
    });
    results[uuid] = { result: 'ok' };
  }
  ctx.ingestLater(accepted);
  return { results };
};
