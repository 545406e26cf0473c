import type { SQSRecord } from 'aws-lambda';
import { type Command, type Lane, laneOf, parseMessage } from '../messages/index.ts';
import { describeError, OUTCOME_CODES, type Outcome } from '../outcome/index.ts';
import type { InboundCommand } from '../planner/index.ts';

/** The records of a batch, parsed: the outcomes decided already (rejections), the commands, and what to plan. */
export interface ParsedRecords {
  readonly outcomes: Map<string, Outcome>;
  readonly commands: Map<string, Command>;
  readonly inbound: InboundCommand[];
}

/**
 * Step 1 of the batch loop: parses every body. A bad one is rejected with the parser's path and reason, a valid
 * command sent to the other lane's queue with `wrong_lane`; the rest go on to the planner.
 */
export function parseRecords(records: readonly SQSRecord[], lane: Lane): ParsedRecords {
  const parsed: ParsedRecords = { outcomes: new Map(), commands: new Map(), inbound: [] };
  for (const record of records) {
    const result = safeParse(record.body);
    if (!result.ok) {
      const { code, reason } = result.rejection;
      parsed.outcomes.set(record.messageId, { status: 'rejected', code, reason });
      continue;
    }
    parsed.commands.set(record.messageId, result.command);
    const commandLane = laneOf(result.command);
    if (commandLane !== lane) {
      // Applying it here would bypass what its lane guarantees (per-person FIFO order for changes) and
      // spend the other lane's share of the PostHog budget; the DLQ entry says where it belongs.
      parsed.outcomes.set(record.messageId, {
        status: 'rejected',
        code: OUTCOME_CODES.wrongLane,
        reason: `type: "${result.command.type}" belongs on the ${commandLane} queue, not the ${lane} queue; send it there`,
      });
      continue;
    }
    parsed.inbound.push({ messageId: record.messageId, command: result.command });
  }
  return parsed;
}

function safeParse(body: string): ReturnType<typeof parseMessage> {
  try {
    return parseMessage(typeof body === 'string' ? body : String(body));
  } catch (error) {
    // parseMessage never throws by contract; if it ever does, the message is still answered, not crashed on.
    return {
      ok: false,
      rejection: {
        code: 'not_json',
        path: '',
        reason: `could not be parsed: ${describeError(error)}`,
      },
    };
  }
}
