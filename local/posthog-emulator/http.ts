import type { IncomingMessage, ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { EmulatorHttpError, envelope } from './errors.ts';
import type { JsonObject, JsonValue } from './types.ts';

/** Capture's limit for a single event body; `/batch` allows 20 MB. Anything past the larger is cut off early. */
export const MAX_BODY_BYTES = 20 * 1024 * 1024;

/** Read the whole body (gunzipping `Content-Encoding: gzip`); null past `limit` bytes. */
export const readBody = async (
  req: IncomingMessage,
  limit = MAX_BODY_BYTES,
): Promise<Buffer | null> => {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooBig = false;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) tooBig = true;
    else chunks.push(buf);
  }
  if (tooBig) return null;
  const raw = Buffer.concat(chunks);
  // Rust capture `extract_compression` reads `gzip` and `gzip-js` from Content-Encoding alike.
  const encoding = (req.headers['content-encoding'] ?? '').toLowerCase();
  if ((encoding === 'gzip' || encoding === 'gzip-js') && raw.length > 0) {
    return gunzipSync(raw);
  }
  return raw;
};

/**
 * DRF `JSONParser` semantics for the API: empty body = `{}`; another content type = 415; bad JSON = 400
 * `parse_error`.
 */
export const parseApiJson = (req: IncomingMessage, raw: Buffer): JsonValue => {
  if (raw.length === 0) return {};
  const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (contentType !== 'application/json' && !contentType.endsWith('+json')) {
    throw new EmulatorHttpError(
      415,
      envelope(
        'invalid_request',
        'unsupported_media_type',
        `Unsupported media type "${req.headers['content-type'] ?? ''}" in request.`,
      ),
    );
  }
  try {
    return JSON.parse(raw.toString('utf8')) as JsonValue;
  } catch (error) {
    throw new EmulatorHttpError(
      400,
      envelope('invalid_request', 'parse_error', `JSON parse error - ${(error as Error).message}`),
    );
  }
};

/** A JSON object body, or `{}` for anything else (handlers read `request.data.get(...)`). */
export const asObject = (value: JsonValue): JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {};

/** Send a response: JSON for objects, verbatim text for strings, empty for null. */
export const send = (
  res: ServerResponse,
  status: number,
  body: JsonValue | string | null,
  headers: Record<string, string> = {},
  contentType?: string,
): void => {
  if (res.headersSent || res.destroyed) return;
  let payload = '';
  const h: Record<string, string> = { ...headers };
  if (typeof body === 'string') {
    payload = body;
    h['Content-Type'] = contentType ?? 'text/plain; charset=utf-8';
  } else if (body !== null) {
    payload = JSON.stringify(body);
    h['Content-Type'] = contentType ?? 'application/json';
  }
  h['Content-Length'] = String(Buffer.byteLength(payload));
  res.writeHead(status, h);
  res.end(payload);
};
