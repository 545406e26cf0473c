import { randomUUID } from 'node:crypto';
import { isIllegalDistinctId } from '../messages/index.ts';
import { ENDPOINTS } from './endpoints.ts';
import { PostHogUsageError } from './errors.ts';
import { MAX_CAPTURE_BATCH_BYTES } from './limits.ts';
import type { PostHogTransport } from './transport.ts';
import type { CaptureEvent, JsonValue, MergeArgs, RequestOptions } from './types.ts';

/** One event as capture's JSON body carries it. */
interface CaptureBody {
  event: string;
  distinct_id: string;
  properties: Record<string, JsonValue>;
  uuid: string;
  timestamp?: string;
}

/**
 * Capture on the capture host, with the project token in the body (never the personal key): single events,
 * `/batch/`, and merges (`$merge_dangerously`). Any 200 means "accepted" (docs/posthog-api.md §11): whether the
 * body says `1` or `"Ok"` is unconfirmed, and a validation failure here would turn an accepted write into a
 * permanent error, so the body is not read.
 */
export class CaptureResource {
  readonly #t: PostHogTransport;
  readonly #projectToken: string | undefined;

  constructor(transport: PostHogTransport, projectToken: string | undefined) {
    this.#t = transport;
    this.#projectToken = projectToken;
  }

  /** POST /i/v0/e/ (see `PostHogClient.capture`). */
  async capture(event: CaptureEvent, o: RequestOptions = {}): Promise<void> {
    const body = { api_key: this.#token('capture'), ...captureBody(event) };
    const spec = { endpoint: ENDPOINTS.capture, response: 'empty' } as const;
    await this.#t.post(this.#t.captureUrl('/i/v0/e/'), body, spec, o);
  }

  /** POST /batch/: one call per {@link MAX_CAPTURE_BATCH_BYTES} of events, in order. */
  async captureBatch(events: CaptureEvent[], o: RequestOptions = {}): Promise<void> {
    const token = this.#token('captureBatch');
    const spec = { endpoint: ENDPOINTS.captureBatch, response: 'empty' } as const;
    for (const batch of packBySize(events.map(batchEntry), MAX_CAPTURE_BATCH_BYTES)) {
      const body = { api_key: token, historical_migration: false, batch };
      await this.#t.post(this.#t.captureUrl('/batch/'), body, spec, o);
    }
  }

  /** Captures `$merge_dangerously` (see `PostHogClient.mergeDangerously`). */
  async mergeDangerously(args: MergeArgs, o: RequestOptions = {}): Promise<void> {
    // Ingestion silently refuses these (warning `cannot_merge_with_illegal_distinct_id`); say so now.
    for (const [name, id] of [
      ['survivorDistinctId', args.survivorDistinctId],
      ['mergedDistinctId', args.mergedDistinctId],
    ] as const) {
      if (isIllegalDistinctId(id)) {
        throw new PostHogUsageError(
          `mergeDangerously: ${name} ${JSON.stringify(id)} is a distinct id PostHog refuses to merge (it would be ignored silently)`,
        );
      }
    }
    const properties: Record<string, JsonValue> = {
      alias: args.mergedDistinctId,
      ...(args.set === undefined ? {} : { $set: args.set }),
    };
    const event = {
      event: '$merge_dangerously',
      distinctId: args.survivorDistinctId,
      properties,
      ...(args.uuid === undefined ? {} : { uuid: args.uuid }),
      ...(args.timestamp === undefined ? {} : { timestamp: args.timestamp }),
    };
    await this.capture(event, o);
  }

  #token(method: string): string {
    if (this.#projectToken === undefined) {
      throw new PostHogUsageError(`${method} needs projectToken (the project's phc_… token)`);
    }
    return this.#projectToken;
  }
}

function captureBody(event: CaptureEvent): CaptureBody {
  if (typeof event.event !== 'string' || event.event === '') {
    throw new PostHogUsageError(
      'capture: event must be a non-empty string (PostHog silently drops unnamed events)',
    );
  }
  if (typeof event.distinctId !== 'string' || event.distinctId.trim() === '') {
    throw new PostHogUsageError(
      'capture: distinctId must be a non-empty string (PostHog silently drops events without one)',
    );
  }
  return {
    event: event.event,
    distinct_id: event.distinctId,
    properties: event.properties ?? {},
    uuid: event.uuid ?? randomUUID(),
    ...(event.timestamp === undefined ? {} : { timestamp: event.timestamp }),
  };
}

/** One event of a `/batch/` body. */
function batchEntry(event: CaptureEvent): CaptureBody {
  const { distinct_id, ...rest } = captureBody(event);
  // Both places: the batch format documents properties.distinct_id, SDKs send it top-level.
  return { ...rest, distinct_id, properties: { ...rest.properties, distinct_id } };
}

/** Consecutive runs of `items` whose JSON stays within `maxBytes` (an item larger than that goes alone). */
function packBySize<T>(items: readonly T[], maxBytes: number): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = Buffer.byteLength(JSON.stringify(item));
    if (bytes + size > maxBytes && current.length > 0) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}
