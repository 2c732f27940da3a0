/**
 * Generators for the relay's property tests: bodies (valid, hostile, envelopes nested past the
 * limit, every forbidden code point written as an escape, sizes around the queue's limit), producer
 * attributes, and what Step Functions answers for each token.
 */
import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import fc from 'fast-check';
import { sqsAccepts, sqsSize } from './sqsModel.js';

/** Error names a Step Functions endpoint (or a proxy) may answer, prototype keys among them. */
export const PROTOTYPE_NAMES = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'];
/** Answers that are the message's own and never an outage: they may repeat for the whole run. */
const PERSISTENT = [
  ...PROTOTYPE_NAMES,
  'SomethingNew',
  // Not an interruption when an endpoint writes it: only the relay's own signal is (outcome.ts).
  'AbortError',
  'InvalidToken',
  'TaskDoesNotExist',
  'ValidationException',
  'TaskTimedOut',
];
/** Outages and blameless failures: only ever a finite prefix of a token's answers. */
const TRANSIENT: [string, number | undefined][] = [
  ['ThrottlingException', 400],
  ['ServiceUnavailable', 503],
  ['TimeoutError', undefined],
  ['ECONNRESET', undefined],
  ['AbortError', undefined],
  ['AccessDeniedException', 400],
  ['ExpiredTokenException', 400],
];

export type Answer = { name: 'ok' } | { name: string; status: number | undefined };
export interface Plan {
  prefix: { answer: Answer; slowMs: number }[];
  /** Answered for every call after the prefix: `ok`, or an error of the message's own. */
  terminal: Answer;
}

const answer: fc.Arbitrary<Answer> = fc.oneof(
  fc.constant({ name: 'ok' }),
  fc.constantFrom(...TRANSIENT).map(([name, status]) => ({ name, status })),
  fc.constantFrom(...PERSISTENT).map((name) => ({ name, status: 400 })),
);

export const plan: fc.Arbitrary<Plan> = fc.record({
  prefix: fc.array(
    fc.record({ answer, slowMs: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, fc.integer({ min: 1, max: 12 })) }),
    { maxLength: 4 },
  ),
  terminal: fc.oneof(
    fc.constant({ name: 'ok' }),
    fc.constantFrom(...PERSISTENT).map((name) => ({ name, status: 400 })),
  ),
});

/** JSON in ASCII, every other character an escape (U+FFFF and lone surrogates too): a body SQS accepts. */
export function sqsJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[^\u0020-\u007E]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Text with the code points SQS refuses (and their neighbours) well represented. */
export const hostileText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc
    .array(fc.constantFrom('\uFFFE', '\uFFFF', '\uD800', '\uDC00', '\u0000', '\u001F', '\uFFFD', 'a', '😀', '\u0085'), {
      minLength: 1,
      maxLength: 6,
    })
    .map((a) => a.join('')),
);

export type BodyKind =
  | 'event'
  | 'cloudevent'
  | 'sns'
  | 'eventbridge'
  | 'poison_cloudevent'
  | 'deep'
  | 'garbage'
  | 'bad_token';

/** Which callback the inner event is, and shapes the relay must refuse (conflicting or invalid kinds, bad output). */
export type CallbackSpec = 'failure' | 'success' | 'heartbeat' | 'conflict' | 'kind_invalid' | 'output_not_json';

/** Marks every generated `output`: the property checks it never shows outside debug log lines. */
export const OUTPUT_MARK = 'OuTpUt-SeCrEt';

export interface MessageSpec {
  kind: BodyKind;
  callback: CallbackSpec;
  token: number;
  error: string;
  cause: string;
  origin: string;
  garbage: string;
  /** Bytes short of the queue's limit, for a body padded up to it; undefined: not padded. */
  nearLimit: number | undefined;
  /** Name and value: a String value (multibyte included) or a Binary one. */
  attributes: [string, string | Uint8Array][];
  group: number;
}

const ATTRIBUTE_NAMES = [
  'a',
  '__proto__',
  'traceparent',
  'tracestate',
  'constructor',
  'toString',
  'hasOwnProperty',
  'x.y',
  'z-1',
  'k9',
  'b',
  'c',
];

export const messageSpec: fc.Arbitrary<MessageSpec> = fc.record({
  kind: fc.constantFrom<BodyKind>(
    'event',
    'event',
    'cloudevent',
    'sns',
    'eventbridge',
    'poison_cloudevent',
    'deep',
    'garbage',
    'bad_token',
  ),
  callback: fc.constantFrom<CallbackSpec>(
    'failure',
    'failure',
    'success',
    'success',
    'heartbeat',
    'heartbeat',
    'heartbeat',
    'conflict',
    'kind_invalid',
    'output_not_json',
  ),
  token: fc.integer({ min: 0, max: 5 }),
  error: hostileText,
  cause: hostileText,
  origin: hostileText,
  garbage: fc.string({ unit: 'grapheme', maxLength: 30 }).filter(sqsAccepts),
  nearLimit: fc.option(fc.integer({ min: 0, max: 700 }), { freq: 4, nil: undefined }),
  attributes: fc.uniqueArray(
    fc.tuple(
      fc.constantFrom(...ATTRIBUTE_NAMES),
      fc.oneof(
        fc.string({ minLength: 1, maxLength: 20 }).filter(sqsAccepts),
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).filter(sqsAccepts),
        fc.uint8Array({ minLength: 1, maxLength: 40 }),
      ),
    ),
    { maxLength: 10, selector: ([n]) => n },
  ),
  group: fc.integer({ min: 0, max: 2 }),
});

/** The body and attributes of a message, fitted to `maxBytes` as SQS counts it. */
export function build(spec: MessageSpec, token: string, maxBytes: number) {
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of spec.attributes) {
    // An own property even for `__proto__` (an assignment would set the prototype instead).
    Object.defineProperty(attributes, name, {
      value:
        typeof value === 'string'
          ? { DataType: 'String', StringValue: value }
          : { DataType: 'Binary', BinaryValue: value },
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  const taskToken = spec.kind === 'bad_token' ? `${token} x` : token;
  const output = JSON.stringify({ mark: OUTPUT_MARK, v: spec.error });
  const events: Record<CallbackSpec, () => Record<string, unknown>> = {
    failure: () => ({ taskToken, error: spec.error, cause: spec.cause }),
    success: () => ({ taskToken, output }),
    heartbeat: () => ({ taskToken, kind: 'heartbeat' }),
    conflict: () => ({ taskToken, kind: 'heartbeat', error: spec.error, output }),
    kind_invalid: () => ({ taskToken, kind: spec.origin }),
    output_not_json: () => ({ taskToken, kind: 'success', output: `${OUTPUT_MARK} ${spec.cause}` }),
  };
  const event = events[spec.callback]();
  const sns = (inner: unknown) => ({
    Type: 'Notification',
    MessageId: 'n',
    TopicArn: spec.origin,
    Message: sqsJson(inner),
  });
  const bodies: Record<BodyKind, () => unknown> = {
    event: () => event,
    bad_token: () => event,
    cloudevent: () => ({ specversion: '1.0', source: spec.origin, type: spec.origin, id: spec.origin, data: event }),
    poison_cloudevent: () => ({ specversion: '1.0', source: spec.origin, type: spec.origin, id: spec.origin }),
    sns: () => sns(event),
    eventbridge: () => ({ 'detail-type': spec.origin, source: spec.origin, account: '1', detail: event }),
    deep: () => sns(sns(sns(sns(event)))),
    garbage: () => spec.garbage,
  };
  const value = bodies[spec.kind]();
  let body = typeof value === 'string' ? value : sqsJson(value);
  if (spec.nearLimit !== undefined) {
    const room = maxBytes - spec.nearLimit - sqsSize(body, attributes);
    // Padding outside the JSON value: whitespace the parser skips.
    if (room > 0) body = typeof value === 'string' ? body + 'x'.repeat(room) : body + ' '.repeat(room);
  }
  while (sqsSize(body, attributes) > maxBytes || !sqsAccepts(body)) body = body.slice(0, -1);
  return { body, attributes };
}
