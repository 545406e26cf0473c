import type { EmulatorContext } from './context.ts';
import { captureError } from './errors.ts';
import type { IngestEvent } from './ingestion.ts';
import type { JsonObject, JsonValue } from './types.ts';

/** Capture paths (S17 router), matched with or without a trailing slash. */
export const CAPTURE_PATHS = new Set(['/i/v0/e', '/e', '/capture', '/track', '/engage', '/batch']);

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

/**
 * POST /i/v0/e/, /e/, /capture/, /track/, /engage/ and /batch/: project-token auth, the Rust capture's error
 * bodies, then ingestion after the configured delay. Answers `{"status": 1}`.
 */
export const handleCapture = (ctx: EmulatorContext, path: string, raw: Buffer): JsonObject => {
  const limit = path === '/batch' ? BATCH_LIMIT : SINGLE_LIMIT;
  if (raw.length > limit) throw captureError(413, 'payload_too_large', 'Payload too large');
  let parsed: JsonValue;
  try {
    parsed = JSON.parse(raw.toString('utf8') || 'null') as JsonValue;
  } catch {
    throw captureError(400, 'invalid_payload', 'Failed to decode request: invalid JSON');
  }
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
    // Top-level $set/$set_once (posthog-node identify) count like the ones inside properties.
    for (const k of ['$set', '$set_once', '$unset'] as const) {
      const top = e[k];
      if (top !== undefined && properties[k] === undefined) properties[k] = top;
    }
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
      ...(typeof e['uuid'] === 'string' ? { uuid: e['uuid'] } : {}),
    });
  }
  ctx.ingestLater(accepted);
  return { status: 1 };
};
