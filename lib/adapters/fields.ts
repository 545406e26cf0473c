import { createHash } from 'node:crypto';
import type * as z from 'zod';
import { describeIssue, formatPath, type JsonPath } from '../messages/issues.ts';
import type { AdapterResult, DistinctIdRule } from './types.ts';

/** Reads a dotted path (`metadata.posthog_distinct_id`) from a JSON value; `undefined` when absent. */
export function readPath(value: unknown, path: string): unknown {
  let current: unknown = value;
  for (const key of path.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/**
 * The distinct id a rule finds in `value`: the first path holding a non-blank string or a number, with the
 * rule's prefix. `undefined` when no path matches (the event is then ignored, with the paths in the reason).
 */
export function distinctIdOf(value: unknown, rule: DistinctIdRule): string | undefined {
  for (const path of rule.paths) {
    const found = readPath(value, path);
    if (typeof found === 'number' && Number.isFinite(found)) return `${rule.prefix}${found}`;
    if (typeof found === 'string' && found.trim() !== '') return `${rule.prefix}${found}`;
  }
  return undefined;
}

/** Milliseconds since the epoch as the ISO-8601 `time` of a command. */
export function isoFromMillis(millis: number): string {
  return new Date(millis).toISOString();
}

/** A 400 naming the first zod issue of a provider payload, with the path as the provider wrote it. */
export function malformed(error: z.ZodError, prefix: JsonPath = []): AdapterResult {
  const first = error.issues[0];
  if (first === undefined) return { ok: false, path: formatPath(prefix), reason: 'is invalid' };
  const { path, reason } = describeIssue(first);
  const formatted = formatPath([...prefix, ...path]);
  return {
    ok: false,
    path: formatted,
    reason: formatted === '' ? reason : `${formatted}: ${reason}`,
  };
}

const SQS_TOKEN = /^[\x21-\x7e]{1,128}$/;

/**
 * The command id of an upstream event: `<provider>-<upstream ids>`, so that a provider's retry of the same event
 * yields the same id (the FIFO `MessageDeduplicationId`; deletes are idempotent anyway). An id SQS would refuse
 * (over 128 characters, spaces, non-ASCII) becomes `<provider>-h-<sha256 hex>` of it: still stable per event.
 */
export function commandId(provider: string, ...parts: (string | number)[]): string {
  const id = [provider, ...parts.map(String)].join('-');
  if (SQS_TOKEN.test(id)) return id;
  return `${provider}-h-${createHash('sha256').update(id).digest('hex')}`;
}
