/**
 * Token buckets, in their scheduling form (GCRA), that are provably at least as strict as PostHog's sliding windows.
 *
 * PostHog's throttles are DRF `SimpleRateThrottle`s (docs/posthog-api.md §1.5): a sliding-window log that refuses a
 * request when `limit` requests were allowed in the last `window`. A fleet of Lambda instances cannot share a log
 * cheaply (4,800 timestamps for the delete hour), but it can share one number per window.
 *
 * ## The bucket
 *
 * A token bucket of capacity C refilled at r = (L − C) / W lets at most C + r·W = L requests through in any interval
 * of length W: over [t, t + W] the tokens taken are T(t) − T(t + W) + refilled ≤ C − 0 + r·W. We run the same bucket
 * in its scheduling form, the Generic Cell Rate Algorithm (ITU-T I.371; the "virtual scheduling" variant), because it
 * lets a caller *reserve* the next free slot in one conditional write and then sleep until it, instead of polling the
 * store until a token shows up:
 *
 *     emission interval  T = 1 / r = W / (L − C)        tolerance  τ = (C − 1) · T
 *     state: TAT (theoretical arrival time) per window
 *     reserve at time t:  slot s = max(t, blockedUntil, TAT − τ for every window);  TAT := max(s, TAT) + T
 *
 * ## Why no window of length W ever holds more than L slots
 *
 * Take any n slots inside one interval of length W; let a be the first of them to be reserved and b the last (in the
 * order of the store's conditional writes, whatever the slots' own order). Every reservation raises TAT by at least T
 * (TAT := max(s, TAT) + T), and a's raises it to at least s_a + T, so just before b: TAT ≥ s_a + (n − 1)·T. Slot b
 * was conforming: s_b ≥ TAT − τ ≥ s_a + (n − 1)·T − (C − 1)·T. Both lie in the interval, so W ≥ s_b − s_a, i.e.
 *
 *     n ≤ W / T + C = (L − C) + C = L.
 *
 * Pushing a slot later (a shared 429 block) keeps it conforming, and a delete takes its slot in both of its windows
 * (480/min and 4800/h) in one atomic write, so each window's bound holds on its own. An item that expires (TTL) is
 * only ever deleted one window after its last TAT, when no later slot can share a window with an earlier one, so a
 * fresh state is as safe as the lost one.
 *
 * ## Time
 *
 * A slot is an epoch-ms time on the instances' clocks; PostHog stamps the request on arrival, a little later (the
 * send, the connection, clock skew between instances). Every window is therefore counted as `W + margin` (1 s by
 * default, like the in-process limiter), so that L + 1 requests arriving within W of each other would have needed
 * slots within W + margin of each other, which the bound forbids.
 *
 * The price of the proof is a little throughput: the long-run rate is (L − C) / (W + margin) instead of L / W. With
 * the default capacities (4 for 240/min, 8 for 480/min) that is 232/min for `other` and 472 per 61 s for deletes.
 *
 * ## Long windows: a sliding-window counter
 *
 * A bucket for the delete hour would have to choose: a small capacity keeps the long-run rate near 4800/h but forbids
 * the burst PostHog allows (480/min for the first ten minutes of an hour), a large one allows it but lowers the
 * long-run rate. A window with `binMs` is therefore counted instead: the state keeps, per bin of `binMs` (a minute),
 * how many slots fell in it, and `maxSlot`, the latest slot reserved so far. A slot s is granted when
 *
 *     (slots in the bins that overlap [s − W, max(s, maxSlot)]) + 1 ≤ L
 *
 * and otherwise moved to the end of the oldest such bin plus W, until that holds. Why no interval of length W ever
 * holds more than L slots: take the slot r reserved last among those in it. Every other slot x in the interval was
 * reserved before r, so x ≤ maxSlot at that time, and x ≥ s_r − W; its bin overlaps [s_r − W, max(s_r, maxSlot)] and
 * was counted. So (n − 1) + 1 ≤ L. The bins only make the count conservative (a window is counted up to one bin
 * longer): the long-run rate is L per W + binMs, 4,800 per 61 minutes for the delete hour, and a fresh hour allows
 * the full 480/min burst of the minute bucket.
 */

/** One throttle window: at most `limit` requests in any `windowMs`, as a bucket of `capacity` tokens. */
export interface BucketSpec {
  readonly limit: number;
  /** The window including the safety margin (and divided by the time scale, if any). */
  readonly windowMs: number;
  /** The burst: how many slots may fall at the same moment. 1 ≤ capacity < limit. Unused with `binMs`. */
  readonly capacity: number;
  /** Count this window in bins of `binMs` (a sliding-window counter, see above) instead of a token bucket. */
  readonly binMs?: number;
}

/** The shared state of the windows of one bucket (one stored item). */
export interface BucketState {
  /** Theoretical arrival time per window (same order as the specs), epoch ms; 0 = idle. */
  readonly tat: readonly number[];
  /** No slot before this (epoch ms): a 429's Retry-After, shared by the fleet. */
  readonly blockedUntil: number;
  /** Per counted window (`binMs`), the bins as flat pairs `[bin, slots, bin, slots, …]`; `[]` for a bucket. */
  readonly bins?: readonly (readonly number[])[];
  /** The latest slot reserved so far (epoch ms); 0 = none. */
  readonly maxSlot?: number;
}

/** The default burst of a window: about 2 % of its limit, at least 1, at most 8 (see the module comment). */
export function defaultCapacity(limit: number): number {
  return Math.min(8, Math.max(1, Math.floor(limit / 50)));
}

/** The emission interval T of a window, in ms: one slot per T in the long run. */
export function emissionIntervalMs(spec: BucketSpec): number {
  return spec.windowMs / (spec.limit - spec.capacity);
}

/** The tolerance τ of a window, in ms: how far ahead of its TAT a slot may fall (the burst). */
export function toleranceMs(spec: BucketSpec): number {
  return (spec.capacity - 1) * emissionIntervalMs(spec);
}

/** Checks a spec; throws a TypeError naming the bad field. */
export function checkSpec(spec: BucketSpec): BucketSpec {
  if (!(Number.isFinite(spec.limit) && spec.limit >= 2)) {
    throw new TypeError(`bucket limit must be at least 2, got ${spec.limit}`);
  }
  if (!(Number.isFinite(spec.windowMs) && spec.windowMs > 0)) {
    throw new TypeError(`bucket windowMs must be positive, got ${spec.windowMs}`);
  }
  if (spec.binMs !== undefined) {
    if (!(Number.isFinite(spec.binMs) && spec.binMs > 0 && spec.binMs <= spec.windowMs)) {
      throw new TypeError(`bucket binMs must be positive and at most windowMs, got ${spec.binMs}`);
    }
    return spec;
  }
  if (!(Number.isInteger(spec.capacity) && spec.capacity >= 1 && spec.capacity < spec.limit)) {
    throw new TypeError(
      `bucket capacity must be an integer from 1 to limit - 1, got ${spec.capacity}`,
    );
  }
  return spec;
}

/** An idle bucket (no item yet, or an expired one). */
export function idleState(specs: readonly BucketSpec[]): BucketState {
  return { tat: specs.map(() => 0), blockedUntil: 0, bins: specs.map(() => []), maxSlot: 0 };
}

/** What one caller gets from {@link reserve}: a slot, or the slot it would have had, past its deadline. */
export type Grant = { readonly slot: number } | { readonly refusedAt: number };

/** The result of {@link reserve}. */
export interface Reservation {
  /** One per caller, in order. */
  readonly grants: readonly Grant[];
  /** How many slots were granted. */
  readonly granted: number;
  /** The state to write (unchanged when no slot was granted). */
  readonly next: BucketState;
}

/**
 * Reserves one slot per caller, in order, for callers that accept a slot up to their `latest` (epoch ms; Infinity for
 * any). A caller whose slot would come later gets none (it is refused, and the state does not move for it), and the
 * callers after it are still served. `notBefore` adds a local block (this instance's own 429) to the shared one.
 */
export function reserve(
  specs: readonly BucketSpec[],
  state: BucketState,
  latest: readonly number[],
  now: number,
  notBefore = 0,
): Reservation {
  const tat = specs.map((_, i) => state.tat[i] ?? 0);
  const bins = specs.map((_, i) => {
    const flat = state.bins?.[i] ?? [];
    const counts = new Map<number, number>();
    for (let k = 0; k + 1 < flat.length; k += 2) counts.set(flat[k] ?? 0, flat[k + 1] ?? 0);
    return counts;
  });
  let maxSlot = state.maxSlot ?? 0;
  const grants: Grant[] = [];
  let granted = 0;
  for (const limit of latest) {
    let slot = Math.max(now, state.blockedUntil, notBefore);
    specs.forEach((spec, i) => {
      if (spec.binMs === undefined) slot = Math.max(slot, (tat[i] ?? 0) - toleranceMs(spec));
    });
    // Counted windows only ever move the slot later, which keeps every bucket's slot conforming.
    for (let moved = true; moved; ) {
      moved = false;
      specs.forEach((spec, i) => {
        const counts = bins[i];
        if (spec.binMs === undefined || counts === undefined) return;
        const next = countedSlot(spec, spec.binMs, counts, slot, maxSlot);
        if (next > slot) {
          slot = next;
          moved = true;
        }
      });
    }
    if (slot > limit) {
      grants.push({ refusedAt: slot });
      continue;
    }
    specs.forEach((spec, i) => {
      const counts = bins[i];
      if (spec.binMs !== undefined && counts !== undefined) {
        const bin = Math.floor(slot / spec.binMs);
        counts.set(bin, (counts.get(bin) ?? 0) + 1);
      } else {
        tat[i] = Math.max(slot, tat[i] ?? 0) + emissionIntervalMs(spec);
      }
    });
    maxSlot = Math.max(maxSlot, slot);
    grants.push({ slot });
    granted += 1;
  }
  // Bins no later slot can count: they end more than a window (and a bin, for clock skew) before now.
  const flatBins = specs.map((spec, i) => {
    const counts = bins[i];
    if (spec.binMs === undefined || counts === undefined) return [];
    const binMs = spec.binMs;
    return [...counts.entries()]
      .filter(([bin]) => (bin + 1) * binMs > now - spec.windowMs - binMs)
      .sort((a, b) => a[0] - b[0])
      .flat();
  });
  return {
    grants,
    granted,
    next: { tat, blockedUntil: state.blockedUntil, bins: flatBins, maxSlot },
  };
}

/** The earliest slot ≥ `slot` that a counted window allows (see the module comment). */
function countedSlot(
  spec: BucketSpec,
  binMs: number,
  counts: ReadonlyMap<number, number>,
  slot: number,
  maxSlot: number,
): number {
  for (let s = slot; ; ) {
    const lo = s - spec.windowMs;
    const hi = Math.max(s, maxSlot);
    let count = 0;
    let oldest = Number.POSITIVE_INFINITY;
    for (const [bin, n] of counts) {
      if ((bin + 1) * binMs > lo && bin * binMs <= hi) {
        count += n;
        oldest = Math.min(oldest, bin);
      }
    }
    if (count + 1 <= spec.limit) return s;
    // The oldest counted bin drops out once s − W reaches its end.
    s = (oldest + 1) * binMs + spec.windowMs;
  }
}

/** When an item may expire: one window after its last TAT or slot (see the module comment), in epoch ms. */
export function idleAfter(specs: readonly BucketSpec[], state: BucketState): number {
  let at = state.blockedUntil;
  specs.forEach((spec, i) => {
    const last = spec.binMs === undefined ? (state.tat[i] ?? 0) : (state.maxSlot ?? 0) + spec.binMs;
    at = Math.max(at, last + spec.windowMs);
  });
  return at;
}
