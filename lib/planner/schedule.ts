import { type CaptureEntry, listAt, type Step } from './model.ts';
import { CAPTURE_BATCH_MAX_EVENTS, type PlannedCall } from './types.ts';

/** The planner's own cap per capture call: a quarter of the server limit leaves room for the envelope. */
const CAPTURE_BATCH_MAX_BYTES = 5 * 1024 * 1024;

/** The calls the schedule placed, and what the lower bound needs to know about its capture stages. */
export interface Schedule {
  /** The Persons API calls of the steps, with their stage, in scheduling order. */
  readonly apiCalls: PlannedCall[];
  /** The capture calls, with their stage, in plan order. */
  readonly captureCalls: PlannedCall[];
  readonly captureStages: number;
  /** Bytes of all capture events (their JSON). */
  readonly captureBytes: number;
}

/**
 * Planner step 4, schedule. Only WHEN calls run is decided here (which calls exist is settled by the steps).
 * Alternate an API phase (every person whose next step is an API step takes it, one stage per step, until no
 * person's next step is one) with a capture phase (one stage: every person whose next step is a capture step takes
 * it and every capture step right behind it). A merge (one step in the list of each person it names) runs only once
 * it heads all of those lists; a person waiting for it takes no later step meanwhile. The lists follow message
 * order, so no two steps wait for each other.
 *
 * Why this is optimal: call a capture step's depth the most capture segments on any chain of steps ending at it
 * (captures in a row are one segment; an API step between two captures starts a new one). Any plan that keeps the
 * lists' order needs a stage boundary wherever an API step separates captures, so it runs a depth-k step in its
 * k-th capture stage or later. This greedy runs every depth-k step in its k-th capture phase (by induction on k:
 * the API phase before it ran every API step whose earlier steps were done, and the capture phase takes chains of
 * capture steps as far as they go). So the capture stages number the deepest depth, the least any plan can have;
 * the lower bound counts them, and the capture calls exceed them only by overflow past 1000 events or the byte cap.
 */
export function schedule(steps: ReadonlyMap<string, Step[]>): Schedule {
  const cursor = new StepCursor([...steps.values()].filter((list) => list.length > 0));
  const out = {
    apiCalls: [] as PlannedCall[],
    captureCalls: [] as PlannedCall[],
    captureStages: 0,
    captureBytes: 0,
  };
  let stage = 1;
  while (cursor.remaining.length > 0) {
    const apiStages = apiPhase(cursor, stage, out.apiCalls);
    stage += apiStages;
    const events = capturePhase(cursor);
    if (events.length > 0) {
      out.captureStages += 1;
      out.captureBytes += packCaptureCalls(events, stage, out.captureCalls);
      stage += 1;
    }
    if (apiStages === 0 && events.length === 0) {
      throw new Error('planner: per-person step lists wait on each other (a bug)');
    }
    cursor.dropFinished();
  }
  return out;
}

/** Where each person's list stands, and which lists share each step (a merge's). */
class StepCursor {
  remaining: Step[][];
  readonly #heads: Map<Step[], number>;
  readonly #listsOfStep = new Map<Step, Step[][]>();

  constructor(lists: Step[][]) {
    this.remaining = lists;
    this.#heads = new Map(lists.map((list) => [list, 0]));
    for (const list of lists) for (const step of list) listAt(this.#listsOfStep, step).push(list);
  }

  head(list: Step[]): Step | undefined {
    return list[this.#heads.get(list) ?? list.length];
  }

  advance(list: Step[]): void {
    this.#heads.set(list, (this.#heads.get(list) ?? 0) + 1);
  }

  listsOf(step: Step, fallback: Step[]): Step[][] {
    return this.#listsOfStep.get(step) ?? [fallback];
  }

  dropFinished(): void {
    this.remaining = this.remaining.filter((list) => this.head(list) !== undefined);
  }
}

/** Runs API steps, one stage per step, until no list's next step is one. Returns the stages used. */
function apiPhase(cursor: StepCursor, firstStage: number, out: PlannedCall[]): number {
  let stages = 0;
  for (;;) {
    const ready = cursor.remaining.filter((list) => cursor.head(list)?.kind === 'api');
    if (ready.length === 0) return stages;
    for (const list of ready) {
      const step = cursor.head(list);
      if (step?.kind === 'api')
        for (const call of step.calls) out.push({ ...call, stage: firstStage + stages });
      cursor.advance(list);
    }
    stages += 1;
  }
}

/** Takes every capture step that can run now, and the capture steps right behind them. Returns their events. */
function capturePhase(cursor: StepCursor): CaptureEntry[] {
  const events: CaptureEntry[] = [];
  const work = cursor.remaining.filter((list) => cursor.head(list)?.kind === 'capture');
  for (let next = 0; next < work.length; next += 1) {
    const list = work[next] ?? [];
    for (let step = cursor.head(list); step?.kind === 'capture'; step = cursor.head(list)) {
      const owners = cursor.listsOf(step, list);
      // A shared step (a merge) waits until it heads every list it is in; the last one to reach it runs it.
      if (owners.some((owner) => cursor.head(owner) !== step)) break;
      for (const event of step.events) events.push(event);
      for (const owner of owners) {
        cursor.advance(owner);
        if (owner !== list) work.push(owner);
      }
    }
  }
  return events;
}

/**
 * Packs the events of one capture stage, in order, into `capture_batch` calls of at most
 * {@link CAPTURE_BATCH_MAX_EVENTS} events and {@link CAPTURE_BATCH_MAX_BYTES}. The executor runs the capture calls of
 * a stage one after another in plan order, so overflow calls keep the events' order. Returns the events' bytes.
 */
function packCaptureCalls(
  events: readonly CaptureEntry[],
  stage: number,
  out: PlannedCall[],
): number {
  let total = 0;
  let current: CaptureEntry[] = [];
  let bytes = 0;
  const flush = () => {
    if (current.length === 0) return;
    const serves = new Set<string>();
    for (const entry of current) for (const id of entry.serves) serves.add(id);
    out.push({
      endpoint: 'capture_batch',
      stage,
      serves: [...serves],
      events: current.map((entry) => entry.event),
    });
    current = [];
    bytes = 0;
  };
  for (const entry of events) {
    const size = JSON.stringify(entry.event).length;
    total += size;
    if (current.length >= CAPTURE_BATCH_MAX_EVENTS || bytes + size > CAPTURE_BATCH_MAX_BYTES)
      flush();
    current.push(entry);
    bytes += size;
  }
  flush();
  return total;
}
