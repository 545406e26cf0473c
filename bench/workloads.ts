/**
 * The benchmark's workloads, from a seeded generator: the same messages, in the same order, for both sides and on
 * every run. Each workload also knows the persons to seed into the emulator and how to check the final state.
 */
import type { PostHogEmulator, SeedPerson } from '../local/posthog-emulator/index.ts';

/** A deterministic PRNG (mulberry32), so every run benches the same messages. */
export function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const T0 = Date.UTC(2026, 10, 28, 9, 0, 0);
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

/** What the final PostHog state says about a run. */
export interface StateCheck {
  /** Messages whose effect is missing from PostHog although they were not dead-lettered. */
  readonly lost: number;
  /** (person, key) pairs whose final value is not the latest write by `time` (last-write-wins). */
  readonly wrongValues: number;
  /** (person, key) pairs checked. */
  readonly pairs: number;
}

/** One workload: message bodies in send order, the persons to seed, and the final-state check. */
export interface Workload {
  readonly id: 'W1' | 'W2' | 'W3';
  readonly title: string;
  readonly lines: readonly string[];
  readonly persons: readonly SeedPerson[];
  /** Messages that break the contract (they must end in the DLQ). */
  readonly malformed: number;
  /** Checks the emulator's final state; `deadLettered` holds the command ids found in the DLQs. */
  check(emulator: PostHogEmulator, deadLettered: ReadonlySet<string>): StateCheck;
}

interface Write {
  time: number;
  value: unknown;
}

/** Latest write per `person\u0000key` by time (ties cannot happen: the generators use distinct times). */
function lastWrites(
  writes: readonly { person: string; key: string; time: number; value: unknown }[],
): Map<string, Write> {
  const last = new Map<string, Write>();
  for (const w of writes) {
    const k = `${w.person}\u0000${w.key}`;
    const current = last.get(k);
    if (!current || w.time > current.time) last.set(k, { time: w.time, value: w.value });
  }
  return last;
}

function countWrong(emulator: PostHogEmulator, last: Map<string, Write>): number {
  let wrong = 0;
  for (const [k, { value }] of last) {
    const [person = '', key = ''] = k.split('\u0000');
    const properties = emulator.state.personByDistinctId(person)?.properties ?? {};
    if (JSON.stringify((properties as Record<string, unknown>)[key]) !== JSON.stringify(value))
      wrong += 1;
  }
  return wrong;
}

/**
 * W1 erasures: `count` account-closure messages naming 1–3 distinct ids of one account each; 5% are exact
 * duplicates of an earlier message (a producer retry).
 */
export function erasures(count: number, seed = 1): Workload {
  const random = prng(seed);
  const lines: string[] = [];
  const accounts: { id: string; distinctIds: string[] }[] = [];
  const messagesOf = new Map<string, number>();
  for (let i = 0; i < count; i += 1) {
    const previous = lines[Math.floor(random() * lines.length)];
    if (previous !== undefined && random() < 0.05) {
      lines.push(previous);
      const id = (JSON.parse(previous) as { id: string }).id;
      messagesOf.set(id, (messagesOf.get(id) ?? 0) + 1);
      continue;
    }
    const n = accounts.length;
    const distinctIds = [`user-${n}`, `user-${n}-web`, `user-${n}-ios`].slice(
      0,
      1 + Math.floor(random() * 3),
    );
    const id = `close-${n}`;
    accounts.push({ id, distinctIds });
    messagesOf.set(id, 1);
    lines.push(
      JSON.stringify({
        type: 'persons.delete',
        id,
        time: at(i),
        data: { distinctIds, deleteEvents: true, reason: 'account_closed' },
      }),
    );
  }
  return {
    id: 'W1',
    title: `erasures: ${count.toLocaleString('en-US')} account closures, 1–3 ids each, 5% duplicates`,
    lines,
    persons: accounts.map((a) => ({ distinctIds: a.distinctIds })),
    malformed: 0,
    check(emulator, deadLettered) {
      let lost = 0;
      for (const account of accounts) {
        if (deadLettered.has(account.id)) continue;
        if (account.distinctIds.some((d) => emulator.state.personByDistinctId(d) !== undefined))
          lost += messagesOf.get(account.id) ?? 1;
      }
      return { lost, wrongValues: 0, pairs: 0 };
    },
  };
}

const CRM_KEYS = ['plan', 'seats', 'lifecycle_stage', 'owner', 'region', 'mrr'] as const;

/**
 * W2 CRM churn: `count` property-change messages over `persons` persons, 1–2 keys each (so the same key of a
 * person is written several times), with `time`s in random order relative to the send order.
 */
export function crmChurn(count: number, persons: number, seed = 2): Workload {
  const random = prng(seed);
  const writes: { person: string; key: string; time: number; value: unknown }[] = [];
  // Distinct times in random order: a shuffled 0..count-1, ten seconds apart.
  const times = Array.from({ length: count }, (_, i) => i * 10);
  for (let i = times.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [times[i], times[j]] = [times[j] ?? 0, times[i] ?? 0];
  }
  const lines = times.map((time, i) => {
    const person = `crm-${Math.floor(random() * persons)}`;
    const set: Record<string, unknown> = {};
    const first = Math.floor(random() * CRM_KEYS.length);
    const keys = random() < 0.5 ? [first] : [first, (first + 1) % CRM_KEYS.length];
    for (const k of keys) {
      const key = CRM_KEYS[k] ?? 'plan';
      set[key] = `${key}-v${i}`;
      writes.push({ person, key, time, value: set[key] });
    }
    return JSON.stringify({
      type: 'person.properties.update',
      id: `crm-change-${i}`,
      time: at(time),
      data: { distinctId: person, set },
    });
  });
  const last = lastWrites(writes);
  return {
    id: 'W2',
    title: `CRM churn: ${count.toLocaleString('en-US')} property changes over ${persons.toLocaleString('en-US')} persons, out of order`,
    lines,
    persons: Array.from({ length: persons }, (_, i) => ({ distinctIds: [`crm-${i}`] })),
    malformed: 0,
    check: (emulator) => ({ lost: 0, wrongValues: countWrong(emulator, last), pairs: last.size }),
  };
}

const MALFORMED = [
  '{"type":"persons.delete","id":"broken-',
  JSON.stringify({ type: 'person.rename', id: 'bad', time: at(0), data: {} }),
  JSON.stringify({ type: 'persons.delete', id: 'bad', time: at(0), data: { distinctIds: [] } }),
  JSON.stringify({ hello: 'world' }),
] as const;

/**
 * W3 mixed: `count` messages, a realistic mix of the four commands (about 25% erasures, 55% property updates, 10%
 * splits, 9% merges) in time order, with 1% malformed messages.
 */
export function mixed(count: number, seed = 3): Workload {
  const random = prng(seed);
  const crmPersons = Math.max(4, Math.floor(count / 5));
  const persons: SeedPerson[] = [];
  for (let i = 0; i < crmPersons; i += 1) {
    persons.push({ distinctIds: [`crm-${i}`, `crm-${i}-device`] });
  }
  const lines: string[] = [];
  const writes: { person: string; key: string; time: number; value: unknown }[] = [];
  const effects: { id: string; holds: (emulator: PostHogEmulator) => boolean }[] = [];
  const split = new Set<number>();
  let malformed = 0;
  for (let i = 0; i < count; i += 1) {
    const roll = random();
    const id = `mixed-${i}`;
    const person = Math.floor(random() * crmPersons);
    if (i % 100 === 7) {
      malformed += 1;
      const template = MALFORMED[malformed % MALFORMED.length] ?? '';
      lines.push(template.replace('"bad"', `"bad-${i}"`).replace('broken-', `broken-${i}`));
    } else if (roll < 0.25) {
      const distinctIds = [`gone-${i}`];
      persons.push({ distinctIds });
      lines.push(
        JSON.stringify({
          type: 'persons.delete',
          id,
          time: at(i),
          data: { distinctIds, reason: 'gdpr_erasure' },
        }),
      );
      effects.push({
        id,
        holds: (e) => e.state.personByDistinctId(distinctIds[0] ?? '') === undefined,
      });
    } else if (roll < 0.8) {
      const key = CRM_KEYS[Math.floor(random() * CRM_KEYS.length)] ?? 'plan';
      const value = `${key}-v${i}`;
      writes.push({ person: `crm-${person}`, key, time: i, value });
      lines.push(
        JSON.stringify({
          type: 'person.properties.update',
          id,
          time: at(i),
          data: { distinctId: `crm-${person}`, set: { [key]: value } },
        }),
      );
    } else if (roll < 0.9 && !split.has(person)) {
      split.add(person);
      lines.push(
        JSON.stringify({
          type: 'person.split',
          id,
          time: at(i),
          data: { distinctId: `crm-${person}`, distinctIdsToSplit: [`crm-${person}-device`] },
        }),
      );
      effects.push({
        id,
        holds: (e) =>
          e.state.personByDistinctId(`crm-${person}-device`)?.uuid !==
          e.state.personByDistinctId(`crm-${person}`)?.uuid,
      });
    } else {
      const lead = `lead-${i}`;
      persons.push({ distinctIds: [lead], properties: { lead_source: 'webinar' } });
      lines.push(
        JSON.stringify({
          type: 'person.merge',
          id,
          time: at(i),
          data: { survivorDistinctId: `crm-${person}`, mergedDistinctIds: [lead] },
        }),
      );
      effects.push({
        id,
        holds: (e) =>
          e.state.personByDistinctId(lead)?.uuid ===
          e.state.personByDistinctId(`crm-${person}`)?.uuid,
      });
    }
  }
  const last = lastWrites(writes);
  return {
    id: 'W3',
    title: `mixed: ${count.toLocaleString('en-US')} messages of all four commands, 1% malformed`,
    lines,
    persons,
    malformed,
    check(emulator, deadLettered) {
      const lost = effects.filter((f) => !deadLettered.has(f.id) && !f.holds(emulator)).length;
      return { lost, wrongValues: countWrong(emulator, last), pairs: last.size };
    },
  };
}
