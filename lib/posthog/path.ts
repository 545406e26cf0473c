import { PostHogUsageError } from './errors.ts';

/**
 * A tagged template that percent-encodes every interpolated path segment (openai-node
 * `src/internal/utils/path.ts`). Person ids and distinct ids are user data: a `/`, `?`, `#` or `..`
 * inside one must never change which route is called.
 *
 * @example
 * path`/api/projects/${projectId}/persons/${personId}/split/` // '/api/projects/1/persons/abc%2Fdef/split/'
 */
export function path(strings: TemplateStringsArray, ...values: (string | number)[]): string {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    const text = String(value);
    if (text === '' || text === '.' || text === '..') {
      throw new PostHogUsageError(
        `Path parameter ${i + 1} is ${JSON.stringify(text)}, which is not a valid segment`,
      );
    }
    out += encodeURIComponent(text) + (strings[i + 1] ?? '');
  });
  return out;
}

/**
 * Checks a person reference: PostHog accepts a person's numeric `id` or its `uuid` in `:id`
 * (anything else is a 400 "does not look like a personID"). Catching it here names the argument.
 */
export function personRef(person: string | number, argument = 'person'): string {
  if (typeof person === 'number') {
    if (!Number.isSafeInteger(person) || person <= 0) {
      throw new PostHogUsageError(
        `${argument} must be a positive integer id or a uuid, got ${person}`,
      );
    }
    return String(person);
  }
  const text = person.trim();
  if (/^\d+$/.test(text) && text !== '0') return text;
  if (UUID_PATTERN.test(text)) return text.toLowerCase();
  throw new PostHogUsageError(
    `${argument} must be a person's numeric id or uuid (a distinct id is not accepted here; use findByDistinctId), got ${JSON.stringify(person)}`,
  );
}

/** Any RFC 4122-shaped uuid (PostHog person uuids are v7 or v5). */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
