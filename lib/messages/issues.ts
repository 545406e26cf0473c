import type * as z from 'zod';

/** A path into a JSON document: object keys and array indexes. */
export type JsonPath = readonly (string | number)[];

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/**
 * Formats a path the way people write it: `data.distinctIds[2]`, `data.set["first name"]`, `detail-type`.
 * The empty path is `''` (the whole message).
 */
export function formatPath(path: JsonPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/**
 * `path: reason`; for the whole message, `The message <reason>` unless the reason is already a sentence of its
 * own (it starts with a capital), so every rejection reads as one sentence that names where the problem is.
 */
export function sentence(path: string, reason: string): string {
  if (path !== '') return `${path}: ${reason}`;
  return /^[A-Z]/.test(reason) ? reason : `The message ${reason}`;
}

const ARTICLE: Record<string, string> = {
  array: 'an array',
  object: 'an object',
  string: 'a string',
  boolean: 'a boolean (true or false)',
  number: 'a number',
  record: 'an object',
};

const FORMAT: Record<string, string> = {
  uuid: 'a UUID like 0190a3c2-5b7e-7cde-8f01-23456789abcd',
  datetime: 'an ISO-8601 date-time with a time zone, like 2026-11-28T21:00:00Z',
};

/** `an array`, `null`, `a string`...: how a JSON value's type reads in a sentence. */
export const typeOf = (value: unknown): string =>
  value === null
    ? 'null'
    : Array.isArray(value)
      ? 'an array'
      : (ARTICLE[typeof value] ?? typeof value);

/**
 * The reason part of one zod issue as a short human phrase (without the path). Custom refinements already carry
 * their own message; zod's built-in issues are rephrased so every rejection reads the same way.
 */
export function describeIssue(issue: z.core.$ZodIssue): { path: JsonPath; reason: string } {
  const path: JsonPath = issue.path.filter(
    (segment): segment is string | number => typeof segment !== 'symbol',
  );
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.input === undefined) return { path, reason: 'is required' };
      const expected = ARTICLE[issue.expected] ?? issue.expected;
      return { path, reason: `must be ${expected}, not ${typeOf(issue.input)}` };
    }
    case 'too_small': {
      const min = Number(issue.minimum);
      if (issue.origin === 'string') {
        return {
          path,
          reason: min <= 1 ? 'must be a non-empty string' : `must be at least ${min} characters`,
        };
      }
      if (issue.origin === 'array') {
        return { path, reason: `must have at least ${min} item${min === 1 ? '' : 's'}` };
      }
      return { path, reason: `must be at least ${min}` };
    }
    case 'too_big': {
      const max = Number(issue.maximum);
      if (issue.origin === 'string') return { path, reason: `must be at most ${max} characters` };
      if (issue.origin === 'array') return { path, reason: `must have at most ${max} items` };
      return { path, reason: `must be at most ${max}` };
    }
    case 'invalid_format': {
      if (issue.format === 'regex') return { path, reason: issue.message };
      return { path, reason: `must be ${FORMAT[issue.format] ?? `a valid ${issue.format}`}` };
    }
    case 'invalid_value':
      return {
        path,
        reason: `must be ${issue.values.map((value) => JSON.stringify(value)).join(' or ')}`,
      };
    case 'unrecognized_keys': {
      const key = issue.keys[0] ?? '';
      return {
        path: [...path, key],
        reason: 'is not a field of this command (check the spelling; unknown fields are refused)',
      };
    }
    case 'invalid_key': {
      // A refused character or key name gets the key schema's own sentence; blank or too long, the summary.
      const inner = issue.issues[0];
      if (inner === undefined || (inner.code !== 'custom' && inner.code !== 'invalid_format')) {
        return { path, reason: 'has an invalid property key (keys must be 1 to 200 characters)' };
      }
      return { path, reason: `is an invalid property key: ${describeIssue(inner).reason}` };
    }
    case 'invalid_union':
      return { path, reason: 'must be a JSON value' };
    default:
      return { path, reason: issue.message };
  }
}
