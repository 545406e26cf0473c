import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type BucketSpec,
  type BucketState,
  defaultCapacity,
  idleAfter,
  idleState,
  reserve,
} from '#lib/budget/index.ts';
import { maxInWindow } from '../../../support/virtual-time.ts';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const other: BucketSpec[] = [
  { limit: 240, windowMs: MINUTE + 1000, capacity: defaultCapacity(240) },
];
const deletes: BucketSpec[] = [
  { limit: 480, windowMs: MINUTE + 1000, capacity: defaultCapacity(480) },
  { limit: 4800, windowMs: HOUR + 1000, capacity: 1, binMs: MINUTE },
];

describe('reserve (GCRA)', () => {
  it('never puts more than the limit in any window, whatever the arrivals, skew, batches and blocks', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            gap: fc.integer({ min: 0, max: 2_000 }),
            skew: fc.integer({ min: -500, max: 500 }),
            wanted: fc.integer({ min: 1, max: 6 }),
            block: fc.option(fc.integer({ min: 0, max: 30_000 }), { freq: 20 }),
          }),
          { minLength: 50, maxLength: 700 },
        ),
        fc.constantFrom(other, deletes),
        (steps, specs) => {
          let state: BucketState = idleState(specs);
          let clock = 1_000_000;
          const slots: number[] = [];
          for (const step of steps) {
            clock += step.gap;
            const now = clock + step.skew; // instances' clocks disagree a little
            if (step.block !== null) state = { ...state, blockedUntil: now + step.block };
            // Some callers have a deadline: they are refused, the others still served.
            const latest = Array.from({ length: step.wanted }, (_, i) =>
              i % 3 === 1 ? now + step.gap : Number.POSITIVE_INFINITY,
            );
            const r = reserve(specs, state, latest, now);
            const granted = r.grants.flatMap((g) => ('slot' in g ? [g.slot] : []));
            for (const slot of granted) expect(slot).toBeGreaterThanOrEqual(now);
            r.grants.forEach((g, i) => {
              if ('slot' in g) expect(g.slot).toBeLessThanOrEqual(latest[i] ?? 0);
              else expect(g.refusedAt).toBeGreaterThan(latest[i] ?? 0);
            });
            slots.push(...granted);
            state = r.next;
          }
          for (const spec of specs) {
            expect(maxInWindow(slots, spec.windowMs)).toBeLessThanOrEqual(spec.limit);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('grants the burst at once, then one slot per emission interval: (L − C) per window in the long run', () => {
    // Prepare
    const want = Array(1000).fill(Infinity);

    // Act
    const slots = reserve(other, idleState(other), want, 0).grants.map((g) =>
      'slot' in g ? g.slot : Number.NaN,
    );

    // Assess: the first 4 at once, then every 61 000 / 236 ms.
    expect(slots.slice(0, 4)).toEqual([0, 0, 0, 0]);
    expect(slots[4]).toBeCloseTo(61_000 / 236, 6);
    expect(slots.filter((s) => s <= 61_000 + 1e-6).length).toBe(240); // tight: the 240th falls on the edge
    expect(maxInWindow(slots, 61_000)).toBeLessThanOrEqual(240);
  });

  it('refuses a caller whose slot would fall after its deadline, and still serves the ones behind it', () => {
    // Act
    const r = reserve(
      other,
      idleState(other),
      [Infinity, Infinity, Infinity, Infinity, 100, Infinity],
      0,
    );

    // Assess: the burst of 4, then the 5th (deadline 100 ms) would need 258 ms; the 6th gets that slot.
    expect(r.granted).toBe(5);
    const fifth = r.grants[4];
    expect(fifth !== undefined && 'refusedAt' in fifth ? fifth.refusedAt : 0).toBeCloseTo(
      61_000 / 236,
      6,
    );
    const sixth = r.grants[5];
    expect(sixth !== undefined && 'slot' in sixth ? sixth.slot : 0).toBeCloseTo(61_000 / 236, 6);
  });

  it('holds every slot until a shared block ends', () => {
    const r = reserve(other, { ...idleState(other), blockedUntil: 5_000 }, [Infinity, Infinity], 0);
    expect(r.grants).toEqual([{ slot: 5_000 }, { slot: 5_000 }]);
  });

  it('lets an item expire only a window after its last theoretical arrival time or slot', () => {
    const r = reserve(deletes, idleState(deletes), Array(20).fill(Infinity), 0);
    const lastTat = Math.max(...r.next.tat);
    expect(idleAfter(deletes, r.next)).toBeGreaterThanOrEqual(lastTat + MINUTE + 1000);
    expect(idleAfter(deletes, r.next)).toBeGreaterThanOrEqual((r.next.maxSlot ?? 0) + HOUR + 1000);
  });

  it('counts the delete hour: the 480/min burst at once, never 4,800 in an hour, 4,800 per 61 minutes', () => {
    // Prepare: a backlog that always wants more, for 3 hours, one reservation round per second.
    let state: BucketState = idleState(deletes);
    const slots: number[] = [];

    // Act
    for (let now = 0; now < 3 * HOUR; now += 1000) {
      const r = reserve(deletes, state, Array(20).fill(now + 1000), now);
      state = r.next;
      for (const g of r.grants) if ('slot' in g) slots.push(g.slot);
    }

    // Assess
    expect(slots.filter((s) => s < MINUTE + 1000).length).toBe(480); // the burst PostHog allows
    expect(maxInWindow(slots, MINUTE + 1000)).toBeLessThanOrEqual(480);
    expect(maxInWindow(slots, HOUR + 1000)).toBeLessThanOrEqual(4800);
    expect(slots.filter((s) => s < HOUR).length).toBe(4800); // the whole hour's budget, in its first 10 minutes
    expect(slots.length).toBeGreaterThanOrEqual(
      Math.floor((3 * HOUR) / (HOUR + MINUTE + 1000)) * 4800,
    );
    // The state stays small: only the bins a later slot can still count.
    expect((state.bins?.[1]?.length ?? 0) / 2).toBeLessThanOrEqual(63);
  });
});
