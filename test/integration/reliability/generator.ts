import { seededRandom } from '../../../local/posthog-emulator/faults.ts';
import type { SeedPerson } from '../../../local/posthog-emulator/index.ts';

/**
 * A seeded workload for the chaos and duplicate runs: the persons to seed and the commands (NDJSON lines) to send.
 *
 * Its final state does not depend on timing, only on per-queue order, because every person is touched by one lane
 * and one FIFO message group only (SQS orders nothing across groups or lanes):
 * - deletion persons `d<i>` are named only by `persons.delete` messages (some twice, some with unknown ids, some by
 *   uuid); deletes commute;
 * - group `g<k>` owns person `g<k>` (with device ids `g<k>-dev-<j>`) and the persons `g<k>-m<j>` it merges in; its
 *   updates (by distinct id), merges and splits go to one FIFO group in time order;
 * - updates by uuid (their own FIFO group: the uuid, sent in time order) set only `crm_score`, which nothing else
 *   writes, so they commute with the group's other commands;
 * - about 1 % are permanently bad: invalid bodies, and updates of uuids PostHog does not know (404).
 */
export interface Workload {
  readonly persons: SeedPerson[];
  readonly lines: string[];
  /** How many lines are expected to end in the DLQ (and why), by construction. */
  readonly expectedRejected: number;
}

const T0 = Date.parse('2026-11-28T00:00:00Z');
const PLANS = ['free', 'pro', 'team', 'enterprise'] as const;
const BAD_BODIES = [
  '{"type":"persons.delete","id":"broken"',
  '{"hello":"world"}',
  '{"type":"person.rename","id":"x","time":"2026-11-28T00:00:00Z","data":{}}',
  '{"type":"persons.delete","id":"x","time":"2026-11-28T00:00:00Z","data":{"distinctIds":[]}}',
  '{"type":"person.merge","id":"x","time":"2026-11-28T00:00:00Z","data":{"survivorDistinctId":"a","mergedDistinctIds":["null"]}}',
];

/** A valid v4-shaped uuid from a number, so seeded persons and commands agree without a lookup. */
export const seededUuid = (n: number, kind = 0): string =>
  `00000000-0000-4000-8${kind.toString(16).padStart(3, '0')}-${n.toString(16).padStart(12, '0')}`;

/** Builds `size` commands (deterministic for a seed). */
export function generateWorkload(size: number, seed = 20_261_128): Workload {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const persons: SeedPerson[] = [];
  const lines: string[] = [];
  let expectedRejected = 0;
  let clock = 0;
  const time = () => new Date(T0 + clock++ * 1000).toISOString();
  const line = (type: string, id: string, data: unknown) =>
    JSON.stringify({ type, id, time: time(), source: 'chaos', data });

  const deletes = Math.round(size * 0.35);
  const bad = Math.max(1, Math.round(size * 0.005));
  const unknownUuid = Math.max(1, Math.round(size * 0.005));
  const changes = size - deletes - bad - unknownUuid;
  const groups = Math.max(4, Math.ceil(changes / 10));

  // Deletion persons: about two ids per message, a tenth named twice, some by uuid.
  const deletionPersons = Math.ceil(deletes * 1.6);
  for (let i = 0; i < deletionPersons; i++) {
    persons.push({ distinctIds: [`d${i}`], uuid: seededUuid(i, 1), properties: { doomed: true } });
  }
  const deleteLines: string[] = [];
  for (let i = 0; i < deletes; i++) {
    const n = 1 + Math.floor(random() * 3);
    const ids = Array.from({ length: n }, () => Math.floor(random() * deletionPersons));
    const byUuid = random() < 0.15;
    const data = byUuid
      ? { personUuids: [...new Set(ids)].map((d) => seededUuid(d, 1)) }
      : {
          distinctIds: [
            ...new Set(ids.map((d) => `d${d}`)),
            ...(random() < 0.1 ? [`nobody-${i}`] : []),
          ],
          ...(random() < 0.2 ? { deleteEvents: true } : {}),
        };
    deleteLines.push(line('persons.delete', `del-${i}`, data));
  }

  // Groups: one person with devices, two persons to merge in, then a timeline of commands.
  const timelines: string[][] = [];
  for (let k = 0; k < groups; k++) {
    persons.push({
      distinctIds: [`g${k}`, ...Array.from({ length: 3 }, (_, j) => `g${k}-dev-${j}`)],
      uuid: seededUuid(k, 2),
      properties: { plan: 'free', seats: 1 },
    });
    for (let j = 0; j < 2; j++) {
      persons.push({
        distinctIds: [`g${k}-m${j}`],
        properties: { plan: 'old', [`legacy_${j}`]: k },
      });
    }
    timelines.push([]);
  }
  const merged = new Map<number, number>();
  const splits = new Map<number, number>();
  const uuidTimelines = new Map<number, string[]>();
  for (let i = 0; i < changes; i++) {
    const k = Math.floor(random() * groups);
    const timeline = timelines[k] as string[];
    const r = random();
    const id = `chg-${i}`;
    if (r < 0.08 && (merged.get(k) ?? 0) < 2) {
      const j = merged.get(k) ?? 0;
      merged.set(k, j + 1);
      timeline.push(
        line('person.merge', id, {
          survivorDistinctId: `g${k}`,
          mergedDistinctIds: [`g${k}-m${j}`],
        }),
      );
    } else if (r < 0.14 && (splits.get(k) ?? 0) < 2) {
      const j = splits.get(k) ?? 0;
      splits.set(k, j + 1);
      timeline.push(
        line('person.split', id, { distinctId: `g${k}`, distinctIdsToSplit: [`g${k}-dev-${j}`] }),
      );
    } else if (r < 0.3) {
      // By uuid: its own FIFO group (the uuid); only crm_score, so it commutes with the rest of the group. The
      // person's uuid updates form one timeline, sent in time order as the contract asks of producers: SQS returns
      // several messages of a group per receive, so out-of-order sends would make the outcome depend on where the
      // batches break (LWW by time inside a batch, delivery order across batches; docs/reliability.md).
      const byUuid = uuidTimelines.get(k) ?? [];
      uuidTimelines.set(k, byUuid);
      byUuid.push(
        line('person.properties.update', id, {
          uuid: seededUuid(k, 2),
          set: { crm_score: Math.floor(random() * 1000) },
        }),
      );
    } else if (r < 0.38) {
      timeline.push(
        line('person.properties.update', id, { distinctId: `g${k}`, unset: ['seats'] }),
      );
    } else {
      timeline.push(
        line('person.properties.update', id, {
          distinctId: `g${k}`,
          set: {
            plan: pick(PLANS),
            seats: 1 + Math.floor(random() * 50),
            [`note_${i % 3}`]: `v${i}`,
          },
        }),
      );
    }
  }
  timelines.push(...uuidTimelines.values());
  for (let i = 0; i < unknownUuid; i++) {
    timelines.push([
      line('person.properties.update', `ghost-${i}`, {
        uuid: seededUuid(i, 3),
        set: { plan: 'pro' },
      }),
    ]);
    expectedRejected += 1;
  }

  // Interleave lanes and groups (each group keeps its order), bad bodies sprinkled in.
  const queues = [deleteLines, ...timelines].filter((q) => q.length > 0);
  const cursors = queues.map(() => 0);
  let remaining = queues.reduce((n, q) => n + q.length, 0);
  let badLeft = bad;
  while (remaining > 0) {
    const q = Math.floor(random() * queues.length);
    const queue = queues[q] as string[];
    const cursor = cursors[q] as number;
    if (cursor >= queue.length) continue;
    lines.push(queue[cursor] as string);
    cursors[q] = cursor + 1;
    remaining -= 1;
    if (badLeft > 0 && random() < bad / size) {
      lines.push(pick(BAD_BODIES));
      badLeft -= 1;
    }
  }
  for (; badLeft > 0; badLeft--) lines.push(pick(BAD_BODIES));
  expectedRejected += bad;
  return { persons, lines, expectedRejected };
}
