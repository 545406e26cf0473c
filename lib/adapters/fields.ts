import type * as z from 'zod';
import { describeIssue, formatPath, type JsonPath } from '../messages/issues.ts';

export { commandId, isoFromMillis } from '../messages/command-ids.ts';

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
