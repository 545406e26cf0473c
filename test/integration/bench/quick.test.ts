import { describe, expect, it } from 'vitest';
import { runBench } from '../../../bench/run.ts';

// `npm run bench -- --quick` as CI runs it: tiny workloads through the real pipeline (fauxqs, the runner, the
// bundled relay and baseline handlers, the emulator). It asserts correctness only, never timing: the figures of a
// quick run mean nothing, but the code that produces them must keep working.

describe('npm run bench -- --quick', () => {
  it('drains every workload on both sides with nothing lost and the final states right', async () => {
    // Act
    const lines: string[] = [];
    const results = await runBench({ quick: true, log: (text) => lines.push(text) });

    // Assess
    expect(results.correctness).toEqual([]);
    const { W1, W2, W3 } = results.workloads;
    for (const run of [W1.relay, W1.baseline, W2.relay, W2.baseline, W3.relay, W3.baseline]) {
      expect(run.lost).toBe(0);
      expect(run.applied + run.rejected).toBe(run.messages);
    }
    // The baseline makes one bulk_delete per message; the relay coalesces them.
    expect(W1.baseline.calls).toBe(W1.baseline.messages);
    expect(W1.relay.calls).toBeLessThan(W1.baseline.calls);
    expect(W1.relay.calls).toBe(W1.relay.batchLowerBound);
    // W3's malformed messages, and only those, are dead-lettered on both sides.
    expect(W3.relay.rejected).toBeGreaterThan(0);
    expect(W3.baseline.rejected).toBe(W3.relay.rejected);
    // W2 planned as one batch: the lower bound (a person's set keys share one PATCH, so at most one write per
    // distinct (person, key) pair) plus the id lookups, and last-write-wins.
    expect(W2.oneBatch?.wrongValues).toBe(0);
    expect(W2.oneBatch?.calls).toBe(W2.oneBatch?.lowerBound);
    expect((W2.oneBatch?.calls ?? 0) - (W2.oneBatch?.lookups ?? 0)).toBeLessThan(
      W2.oneBatch?.pairs ?? 0,
    );
    expect(lines.join('\n')).toContain('Targets (issue 9)');
  }, 180_000);
});
