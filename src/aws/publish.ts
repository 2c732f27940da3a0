/**
 * The producer side: publish a callback (failure, success, heartbeat) to the relay's queue instead
 * of calling Step Functions. Validated before sending, so what is published is what the relay accepts.
 */
import { createHash, randomUUID } from 'node:crypto';
import { type MessageAttributeValue, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type Context, context, propagation } from '@opentelemetry/api';
import { InvalidEventError, RelayError } from '../core/errors.js';
import { DEFAULT_LIMITS, type EventLimits, type FailureEvent, producerBody, validateEvent } from '../core/event.js';
import { checkOutput } from '../core/eventKind.js';
import type { CallbackKind } from '../core/kinds.js';
import { DEFAULT_CLOUDEVENT_TYPE, toCloudEvent } from '../envelope/cloudevent.js';
import { traceContextAttributes } from '../observability/traceContext.js';
import { isFifoQueueUrl } from './queueUrl.js';

/** What a success carries: the shape `aws stepfunctions send-task-success --cli-input-json` takes. */
export interface TaskSuccess {
  taskToken: string;
  output: string;
}

/** What a heartbeat carries: the shape `aws stepfunctions send-task-heartbeat --cli-input-json` takes. */
export interface TaskHeartbeat {
  taskToken: string;
}

const FAILURE_ONLY: ReadonlySet<CallbackKind> = new Set(['failure']);

export interface PublishOptions {
  sqs: SQSClient;
  queueUrl: string;
  /** Defaults to the relay's defaults (truncate over-long text, 1 MiB bodies). */
  limits?: EventLimits;
  /** The trace context to carry; defaults to the active one. */
  traceContext?: Context;
  /** Required for a FIFO queue (`.fifo`); on a standard queue, a fair-queue group. */
  messageGroupId?: string;
  /**
   * FIFO only; default: the SHA-256 of the event (a repeat within SQS's 5-minute window is dropped),
   * except for heartbeats: a new UUID each, since repeating a heartbeat is their purpose.
   */
  messageDeduplicationId?: string;
  /**
   * Publish the event as a structured CloudEvent 1.0 from this `source` (its `data`; `id` a new
   * UUID, or `cloudEventId`; the trace context also in its Distributed Tracing extension).
   */
  cloudEvent?: { source: string; type?: string; id?: string };
}

/** The CloudEvent `type` when none is given. It names the kind for readers; the body's fields decide it. */
export const CLOUDEVENT_TYPES = {
  failure: DEFAULT_CLOUDEVENT_TYPE,
  success: 'sfn-failure-relay.task-success',
  heartbeat: 'sfn-failure-relay.task-heartbeat',
} as const;

type Kind = keyof typeof CLOUDEVENT_TYPES;

/**
 * Validates the event and sends it to the queue; resolves with the SQS message id. Throws an
 * InvalidEventError (with the DLQ reason the relay would give) when the event could never succeed.
 */
export async function publishTaskFailure(
  event: Omit<FailureEvent, 'kind'> | FailureEvent,
  options: PublishOptions,
): Promise<string> {
  // Failures only: a body with `output` or another `kind` is refused as the relay would refuse it
  // with only failures enabled (`kind_not_enabled`), never published under the failure's name.
  const checked = validateEvent(event as never, { ...(options.limits ?? DEFAULT_LIMITS), kinds: FAILURE_ONLY });
  if (!checked.ok) throw new InvalidEventError(checked.reason, checked.detail);
  return send('failure', producerBody(checked.event), options);
}

/**
 * Publishes `{"taskToken", "output", "kind": "success"}` (the relay calls SendTaskSuccess). `output`
 * must be JSON text of at most 262,144 UTF-8 bytes; anything else throws an InvalidEventError.
 */
export async function publishTaskSuccess(event: TaskSuccess, options: PublishOptions): Promise<string> {
  const taskToken = checkedToken(event.taskToken, options);
  const output = checkOutput(event.output);
  if (!output.ok) throw new InvalidEventError(output.reason, output.detail);
  return send('success', { taskToken, output: output.output, kind: 'success' }, options);
}

/** Publishes `{"taskToken", "kind": "heartbeat"}` (the relay calls SendTaskHeartbeat, coalesced per token). */
export async function publishTaskHeartbeat(event: TaskHeartbeat, options: PublishOptions): Promise<string> {
  const taskToken = checkedToken(event.taskToken, options);
  return send('heartbeat', { taskToken, kind: 'heartbeat' }, options);
}

/** The token, checked by the relay's validator (the token rules are the same for every kind). */
function checkedToken(taskToken: unknown, options: PublishOptions): string {
  const checked = validateEvent({ taskToken } as never, options.limits ?? DEFAULT_LIMITS);
  if (!checked.ok) throw new InvalidEventError(checked.reason, checked.detail);
  return checked.event.taskToken;
}

async function send(kind: Kind, event: Record<string, string>, options: PublishOptions): Promise<string> {
  const fifo = isFifoQueueUrl(options.queueUrl);
  if (fifo && options.messageGroupId === undefined) {
    throw new RelayError(
      'FIFO_GROUP_REQUIRED',
      `a message group id is required for the FIFO queue ${options.queueUrl}`,
    );
  }
  const eventJson = JSON.stringify(event);
  // The global propagator: whatever the producer's OpenTelemetry set-up propagates.
  const attributes = traceContextAttributes(options.traceContext ?? context.active(), propagation);
  const body =
    options.cloudEvent === undefined
      ? eventJson
      : cloudEventBody(
          event,
          { ...options.cloudEvent, type: options.cloudEvent.type ?? CLOUDEVENT_TYPES[kind] },
          attributes,
        );
  const dedupId =
    options.messageDeduplicationId ??
    (kind === 'heartbeat' ? randomUUID() : createHash('sha256').update(eventJson).digest('hex'));
  const out = await options.sqs.send(
    new SendMessageCommand({
      QueueUrl: options.queueUrl,
      MessageBody: body,
      ...(Object.keys(attributes).length > 0 ? { MessageAttributes: attributes } : {}),
      ...(options.messageGroupId === undefined ? {} : { MessageGroupId: options.messageGroupId }),
      ...(fifo ? { MessageDeduplicationId: dedupId } : {}),
    }),
  );
  return out.MessageId ?? '';
}

function cloudEventBody(
  event: Record<string, string>,
  wrap: NonNullable<PublishOptions['cloudEvent']>,
  attributes: Record<string, MessageAttributeValue>,
): string {
  if (wrap.source === '') throw new RelayError('CLOUDEVENT_SOURCE_EMPTY', 'a CloudEvent source must not be empty');
  const trace: Record<string, string> = {};
  for (const key of ['traceparent', 'tracestate']) {
    const value = attributes[key]?.StringValue;
    if (value !== undefined) trace[key] = value;
  }
  return JSON.stringify(toCloudEvent({ ...event }, { ...wrap, id: wrap.id ?? randomUUID(), time: new Date(), trace }));
}
