import type { BucketState, BudgetStore, StoredBucket } from '#lib/budget/index.ts';

// The bench measures with the same window count the tests assert with.
export { maxInWindow } from '../../bench/limits.ts';

/**
 * A fake clock for simulations that mix virtual time with real I/O (dynalite over HTTP): time only moves when every
 * simulated task is asleep and no store call is in flight, and then jumps to the earliest wake-up.
 */
export class VirtualTime {
  #now: number;
  #sleepers: { until: number; resolve: () => void; seq: number }[] = [];
  #seq = 0;
  #io = 0;
  /** Waiters for the moment no store call is in flight. */
  #idle: (() => void)[] = [];

  /** Store calls in flight (see {@link countingStore}); setting it to 0 wakes whoever waits for idle I/O. */
  get io(): number {
    return this.#io;
  }
  set io(value: number) {
    this.#io = value;
    if (value !== 0) return;
    const waiters = this.#idle;
    this.#idle = [];
    for (const wake of waiters) wake();
  }

  public constructor(start = 1_700_000_000_000) {
    this.#now = start;
  }

  public readonly now = (): number => this.#now;

  public readonly sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const entry = { until: this.#now + Math.max(0, ms), resolve, seq: this.#seq++ };
      this.#sleepers.push(entry);
      signal?.addEventListener(
        'abort',
        () => {
          const i = this.#sleepers.indexOf(entry);
          if (i >= 0) this.#sleepers.splice(i, 1);
          reject(signal.reason);
        },
        { once: true },
      );
    });

  /** Lets pending I/O and continuations run until nothing but sleepers is left. */
  async #settle(): Promise<void> {
    for (let quiet = 0; quiet < 3; ) {
      if (this.io > 0) {
        // Woken the moment the last store call ends (a 0 ms timer poll would cost ≥ 1 ms per virtual step).
        quiet = 0;
        await new Promise<void>((resolve) => this.#idle.push(resolve));
        continue;
      }
      await new Promise((r) => setImmediate(r));
      quiet = this.io > 0 ? 0 : quiet + 1;
    }
  }

  /** Runs the simulation until virtual time `end` (time ends there even when nothing sleeps any more). */
  public async runUntil(end: number): Promise<void> {
    for (;;) {
      await this.#settle();
      if (this.#sleepers.length === 0) {
        // Nothing left to wake: the simulated time still runs to the end.
        this.#now = Math.max(this.#now, end);
        return;
      }
      this.#sleepers.sort((a, b) => a.until - b.until || a.seq - b.seq);
      const next = this.#sleepers[0]?.until ?? end;
      if (next > end) {
        this.#now = end;
        return;
      }
      this.#now = Math.max(this.#now, next);
      const due = this.#sleepers.filter((s) => s.until <= this.#now);
      this.#sleepers = this.#sleepers.filter((s) => s.until > this.#now);
      for (const s of due) s.resolve();
    }
  }

  /** Wakes every sleeper at the end, so that the tasks can see the simulation is over. */
  public async drain(): Promise<void> {
    while (this.#sleepers.length > 0 || this.io > 0) {
      await this.#settle();
      const all = this.#sleepers;
      this.#sleepers = [];
      for (const s of all) s.resolve();
    }
  }
}

/** The real store, with its in-flight calls counted for {@link VirtualTime} (it delegates every call). */
export function countingStore(store: BudgetStore, time: VirtualTime): BudgetStore {
  const counted = async <T>(call: () => Promise<T>): Promise<T> => {
    time.io += 1;
    try {
      return await call();
    } finally {
      time.io -= 1;
    }
  };
  return {
    read: (key: string, signal: AbortSignal): Promise<StoredBucket | undefined> =>
      counted(() => store.read(key, signal)),
    write: (
      key: string,
      state: BucketState,
      expected: number | undefined,
      expiresAt: number,
      signal: AbortSignal,
    ) => counted(() => store.write(key, state, expected, expiresAt, signal)),
    block: (key: string, until: number, expiresAt: number, signal: AbortSignal) =>
      counted(() => store.block(key, until, expiresAt, signal)),
  };
}
