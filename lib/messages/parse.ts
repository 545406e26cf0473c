import { describeIssue, formatPath, type JsonPath, sentence, typeOf } from './issues.ts';
import { isSalesforceChangeEvent, mapSalesforceChangeEvent } from './salesforce-cdc.ts';
import { COMMAND_SCHEMAS, COMMAND_TYPES, type Command, isCommandType, LIMITS } from './schemas.ts';

/** Why a message was refused, from the outside in: not JSON, no envelope we know, a type we don't know, a bad field. */
export type MessageRejectionCode =
  | 'not_json'
  | 'unknown_envelope'
  | 'unknown_command_type'
  | 'invalid_field';

/** A refused message: the code, the JSON path in the body as sent (`''` = whole body) and one human sentence. */
export interface MessageRejection {
  code: MessageRejectionCode;
  /** Path in the body the producer sent, e.g. `data.distinctIds[3]`, `detail.set.plan`, `Message.data.uuid`. */
  path: string;
  /** One sentence that names the path, e.g. `data.distinctIds[2]: must be a non-empty string`. */
  reason: string;
}

/** The envelope a command arrived in. */
export type Envelope = 'bare' | 'eventbridge' | 'sns' | 'cloudevents';

/** The result of {@link parseMessage}. */
export type ParseResult =
  | { ok: true; command: Command; envelope: Envelope }
  | { ok: false; rejection: MessageRejection };

type KnownField =
  | 'Type'
  | 'Message'
  | 'type'
  | 'id'
  | 'time'
  | 'source'
  | 'data'
  | 'detail'
  | 'specversion'
  | 'datacontenttype'
  | 'data_base64';
// The named fields are declared so they read as `event.source`; any other key is still allowed.
type JsonObject = Record<string, unknown> & Partial<Record<KnownField, unknown>>;

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const KNOWN_TYPES = Object.values(COMMAND_TYPES).join(', ');

// SNS inside SNS (or SNS carrying EventBridge) is legal; deeper nesting is a loop or a bug.
const MAX_DEPTH = 3;

const reject = (code: MessageRejectionCode, path: JsonPath, reason: string): ParseResult => {
  const formatted = formatPath(path);
  return { ok: false, rejection: { code, path: formatted, reason: sentence(formatted, reason) } };
};

/**
 * The normalised shape before validation, and how to map a path in it back to the body the producer wrote
 * (EventBridge calls `data` `detail` and `type` `detail-type`).
 */
interface Candidate {
  value: JsonObject;
  envelope: Exclude<Envelope, 'sns'>;
  toBodyPath(path: JsonPath): JsonPath;
}

/**
 * Parses one SQS message body into a validated {@link Command}, accepting four envelopes:
 *
 * - **bare**: the command itself, `{"type","id","time","source"?,"version"?,"data"}`;
 * - **EventBridge** (rule target SQS): `detail-type` is the command type and `detail` the data. The command `id`,
 *   `time` and `source` are the event's own `id`, `time` and `source`: EventBridge assigns `id` per `PutEvents`
 *   entry, so a producer that needs a retry-stable idempotency key should use another envelope. A Salesforce
 *   Change Data Capture event from a partner event source (`source` `aws.partner/salesforce.com/...`) is mapped by
 *   the Salesforce mapping instead (salesforce-cdc.ts; paths reported under `detail`);
 * - **SNS** notification without raw delivery: `{"Type":"Notification","Message":"<JSON string>"}`, whose
 *   `Message` holds a bare command or another envelope; paths inside it are reported as `Message.<path>`;
 * - **CloudEvents 1.0** structured JSON: `specversion` `"1.0"`, `type`, `id`, `source`, `time` (required here,
 *   optional in CloudEvents), and `data`, or `data_base64` holding the same JSON encoded (paths inside it are
 *   reported as `data_base64.<path>`).
 *
 * Never throws: every failure is a {@link MessageRejection} naming the path and the reason.
 *
 * @example
 * const result = parseMessage(record.body);
 * if (!result.ok) logger.warn(result.rejection.reason, { code: result.rejection.code });
 */
export function parseMessage(body: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return reject('not_json', [], notJsonReason('The message body', body));
  }
  return parseValue(value, [], 0);
}

function notJsonReason(what: string, text: string): string {
  // The parser's own message varies between Node versions, so it is left out of the reason.
  return text.trim() === '' ? `${what} is empty, not JSON` : `${what} is not valid JSON`;
}

function parseValue(value: unknown, prefix: JsonPath, depth: number): ParseResult {
  if (!isObject(value)) {
    return reject(
      'unknown_envelope',
      prefix,
      `must be a JSON object (a command or a supported envelope), not ${typeOf(value)}`,
    );
  }
  if ('Type' in value && ('TopicArn' in value || 'Message' in value)) {
    return parseSns(value, prefix, depth);
  }
  const candidate = unwrap(value, prefix);
  if ('ok' in candidate) return candidate;
  return validate(candidate);
}

function parseSns(value: JsonObject, prefix: JsonPath, depth: number): ParseResult {
  if (value.Type !== 'Notification') {
    return reject(
      'unknown_envelope',
      [...prefix, 'Type'],
      `is ${JSON.stringify(value.Type)}; only SNS "Notification" messages carry commands (confirm subscriptions out of band)`,
    );
  }
  const message = value.Message;
  if (typeof message !== 'string') {
    return reject(
      'invalid_field',
      [...prefix, 'Message'],
      'must be a string holding the JSON command (SNS without raw message delivery)',
    );
  }
  if (depth + 1 >= MAX_DEPTH) {
    return reject('unknown_envelope', [...prefix, 'Message'], 'nests envelopes too deeply');
  }
  let inner: unknown;
  try {
    inner = JSON.parse(message);
  } catch {
    return reject('not_json', [...prefix, 'Message'], notJsonReason('the SNS Message', message));
  }
  const result = parseValue(inner, [...prefix, 'Message'], depth + 1);
  return result.ok ? { ...result, envelope: 'sns' } : result;
}

function unwrap(value: JsonObject, prefix: JsonPath): Candidate | ParseResult {
  if ('specversion' in value) return unwrapCloudEvent(value, prefix);
  if ('detail-type' in value || 'detail' in value) return unwrapEventBridge(value, prefix);
  if ('type' in value && ('data' in value || 'id' in value || 'time' in value)) {
    if (!isCommandType(value.type)) return unknownType(value.type, [...prefix, 'type']);
    return { value, envelope: 'bare', toBodyPath: (path) => [...prefix, ...path] };
  }
  if ('data' in value && 'id' in value) {
    return reject('invalid_field', [...prefix, 'type'], `is required (one of ${KNOWN_TYPES})`);
  }
  return reject(
    'unknown_envelope',
    prefix,
    'is not a command (type, id, time, data), an EventBridge event, an SNS notification or a CloudEvent',
  );
}

function unknownType(type: unknown, path: JsonPath): ParseResult {
  if (typeof type !== 'string') {
    return reject(
      'invalid_field',
      path,
      `must be a string naming the command type (${KNOWN_TYPES})`,
    );
  }
  return reject(
    'unknown_command_type',
    path,
    `${JSON.stringify(type)} is not a known command type (expected one of ${KNOWN_TYPES})`,
  );
}

function unwrapEventBridge(event: JsonObject, prefix: JsonPath): Candidate | ParseResult {
  if (isSalesforceChangeEvent(event)) return unwrapSalesforceChangeEvent(event, prefix);
  const detailType = event['detail-type'];
  if (detailType === undefined) {
    return reject('invalid_field', [...prefix, 'detail-type'], 'is required (the command type)');
  }
  if (!isCommandType(detailType)) return unknownType(detailType, [...prefix, 'detail-type']);
  const candidate: JsonObject = {
    type: detailType,
    id: event.id,
    time: event.time,
    data: event.detail,
  };
  if (event.source !== undefined) candidate.source = event.source;
  return {
    value: candidate,
    envelope: 'eventbridge',
    toBodyPath: ([head, ...rest]) => {
      if (head === 'data') return [...prefix, 'detail', ...rest];
      if (head === 'type') return [...prefix, 'detail-type', ...rest];
      return head === undefined ? prefix : [...prefix, head, ...rest];
    },
  };
}

function unwrapSalesforceChangeEvent(event: JsonObject, prefix: JsonPath): Candidate | ParseResult {
  const mapped = mapSalesforceChangeEvent(event.detail);
  const detailPath = [...prefix, 'detail'];
  if (!mapped.ok) return reject('invalid_field', [...detailPath, ...mapped.path], mapped.reason);
  return {
    value: { ...mapped.command },
    envelope: 'eventbridge',
    // Every command field comes from the change event's payload (the record ids and its header).
    toBodyPath: () => [...detailPath, 'payload'],
  };
}

function unwrapCloudEvent(event: JsonObject, prefix: JsonPath): Candidate | ParseResult {
  if (event.specversion !== '1.0') {
    return reject(
      'unknown_envelope',
      [...prefix, 'specversion'],
      `is ${JSON.stringify(event.specversion)}; only CloudEvents "1.0" is supported`,
    );
  }
  const contentType = event.datacontenttype;
  if (
    contentType !== undefined &&
    !(typeof contentType === 'string' && /^application\/([\w.-]+\+)?json\b/i.test(contentType))
  ) {
    return reject(
      'invalid_field',
      [...prefix, 'datacontenttype'],
      `is ${JSON.stringify(contentType)}; the data must be JSON (application/json)`,
    );
  }
  if (event.type === undefined) {
    return reject('invalid_field', [...prefix, 'type'], 'is required (the command type)');
  }
  if (!isCommandType(event.type)) return unknownType(event.type, [...prefix, 'type']);
  if (event.source === undefined) {
    return reject('invalid_field', [...prefix, 'source'], 'is required by CloudEvents 1.0');
  }
  let data = event.data;
  let dataField = 'data';
  if ('data_base64' in event) {
    // Some CloudEvents SDKs send JSON data as bytes; accept it when it decodes to JSON.
    const decoded = decodeDataBase64(event, [...prefix, 'data_base64']);
    if ('ok' in decoded) return decoded;
    data = decoded.value;
    dataField = 'data_base64';
  }
  const candidate: JsonObject = {
    type: event.type,
    id: event.id,
    time: event.time,
    source: event.source,
    data,
  };
  return {
    value: candidate,
    envelope: 'cloudevents',
    // A problem inside base64 data is reported under data_base64, the field the producer wrote.
    toBodyPath: ([head, ...rest]) =>
      head === 'data'
        ? [...prefix, dataField, ...rest]
        : [...prefix, ...(head === undefined ? [] : [head]), ...rest],
  };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeDataBase64(event: JsonObject, path: JsonPath): { value: unknown } | ParseResult {
  if ('data' in event) {
    return reject(
      'invalid_field',
      path,
      'cannot be combined with data (CloudEvents allows one of them)',
    );
  }
  const encoded = event.data_base64;
  if (typeof encoded !== 'string' || !BASE64.test(encoded)) {
    return reject('invalid_field', path, 'must be a base64 string holding the JSON command data');
  }
  const text = Buffer.from(encoded, 'base64').toString('utf8');
  try {
    return { value: JSON.parse(text) };
  } catch {
    return reject('not_json', path, notJsonReason('the decoded data_base64', text));
  }
}

function validate(candidate: Candidate): ParseResult {
  const type = candidate.value.type;
  if (!isCommandType(type)) return unknownType(type, candidate.toBodyPath(['type']));
  // Before zod, whose recursion over JSON values overflows the stack on very deep input.
  const hazard = structuralHazard(candidate.value, LIMITS.jsonMaxDepth);
  if (hazard !== undefined) {
    return reject('invalid_field', candidate.toBodyPath(hazard.path), hazard.reason);
  }
  const result = COMMAND_SCHEMAS[type].safeParse(candidate.value, { reportInput: true });
  if (result.success) return { ok: true, command: result.data, envelope: candidate.envelope };
  const first = result.error.issues[0];
  if (first === undefined) return reject('invalid_field', candidate.toBodyPath([]), 'is invalid');
  const { path, reason } = describeIssue(first);
  return reject('invalid_field', candidate.toBodyPath(path), reason);
}

/**
 * The first structural hazard in a parsed message, found without recursion: a value nested deeper than `max`
 * levels, or an own `__proto__` key (JSON.parse creates one; zod's record parsing would silently drop it, and a
 * consumer copying keys would set a prototype).
 */
function structuralHazard(
  value: unknown,
  max: number,
): { path: JsonPath; reason: string } | undefined {
  const stack: { value: unknown; path: JsonPath }[] = [{ value, path: [] }];
  while (stack.length > 0) {
    const item = stack.pop();
    if (item === undefined || typeof item.value !== 'object' || item.value === null) continue;
    if (item.path.length >= max) {
      return { path: item.path, reason: `nests JSON more than ${max} levels deep` };
    }
    const entries: [string | number, unknown][] = Array.isArray(item.value)
      ? item.value.map((inner, index): [number, unknown] => [index, inner])
      : Object.entries(item.value);
    if (!Array.isArray(item.value) && Object.hasOwn(item.value, '__proto__')) {
      return {
        path: [...item.path, '__proto__'],
        reason: 'is a prototype key that is refused (it would be dropped or pollute objects)',
      };
    }
    for (const [key, inner] of entries) stack.push({ value: inner, path: [...item.path, key] });
  }
  return undefined;
}
