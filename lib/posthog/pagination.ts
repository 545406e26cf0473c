/** One page as the client sees it after validation. */
export interface Page<T> {
  items: T[];
  /** Absolute or relative URL of the next page, or null/undefined on the last page. */
  next?: string | null | undefined;
}

/**
 * Walks PostHog's `next` links as an async iterator (openai-node `AbstractPage`): callers write
 * `for await (const person of client.list())` and never handle offsets or page numbers.
 *
 * `fetchPage` receives the first request's URL, then each `next` URL rebased by {@link rebaseNext}.
 * A `next` that repeats an already-fetched URL ends the walk instead of looping forever.
 */
export async function* paginate<T>(
  firstUrl: URL,
  fetchPage: (url: URL) => Promise<Page<T>>,
): AsyncGenerator<T, void, undefined> {
  const seen = new Set<string>();
  let url: URL | undefined = firstUrl;
  while (url !== undefined) {
    seen.add(url.href);
    const page: Page<T> = await fetchPage(url);
    yield* page.items;
    const next = page.next ? rebaseNext(page.next, firstUrl) : undefined;
    url = next !== undefined && !seen.has(next.href) ? next : undefined;
  }
}

/**
 * Resolves a `next` link against our own base URL, keeping only its path and query. PostHog builds
 * `next` from the request it saw, which behind a proxy may name another scheme or host; the
 * personal key must only ever go to the configured host, so the origin is always ours.
 */
export function rebaseNext(next: string, base: URL): URL {
  const parsed = new URL(next, base);
  return new URL(`${parsed.pathname}${parsed.search}`, base.origin);
}
