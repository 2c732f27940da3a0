/**
 * The producer side: publish a failure event to the relay's queue instead of calling Step Functions.
 * Validated with the relay's own validator, so what is published is what the relay accepts.
 */
import { createHash, randomUUID } from 'node:crypto';
import { type MessageAttributeValue, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type Context, context, propagation } from '@opentelemetry/api';
import { InvalidEventError, RelayError } from '../core/errors.js';
import {
  type CallbackEvent,
  DEFAULT_LIMITS,
  type EventLimits,
  type FailureEvent,
  producerBody,
  validateEvent,
} from '../core/event.js';
import { toCloudEvent } from '../envelope/cloudevent.js';
import { traceContextAttributes } from '../observability/traceContext.js';
import { isFifoQueueUrl } from './queueUrl.js';

export interface PublishOptions {
  sqs: SQSClient;
  queueUrl: string;
  /** Defaults to the relay's defaults (truncate over-long text, 1 MiB bodies). */
  limits?: EventLimits;
  /** The trace context to carry; defaults to the active one. */
  traceContext?: Context;
  /** Required for a FIFO queue (`.fifo`); on a standard queue, a fair-queue group. */
  messageGroupId?: string;
  /** FIFO only; default: the SHA-256 of the event (a repeat within SQS's 5-minute window is dropped). */
  messageDeduplicationId?: string;
  /**
   * Publish the event as a structured CloudEvent 1.0 from this `source` (its `data`; `id` a new
   * UUID, or `cloudEventId`; the trace context also in its Distributed Tracing extension).
   */
  cloudEvent?: { source: string; type?: string; id?: string };
}

/**
 * Validates the event and sends it to the queue; resolves with the SQS message id. Throws an
 * InvalidEventError (with the DLQ reason the relay would give) when the event could never succeed.
 */
export async function publishTaskFailure(
  event: Omit<FailureEvent, 'kind'> | CallbackEvent,
  options: PublishOptions,
): Promise<string> {
  const checked = validateEvent(event as never, options.limits ?? DEFAULT_LIMITS);
  if (!checked.ok) throw new InvalidEventError(checked.reason, checked.detail);
  const fifo = isFifoQueueUrl(options.queueUrl);
  if (fifo && options.messageGroupId === undefined) {
    throw new RelayError(
      'FIFO_GROUP_REQUIRED',
      `a message group id is required for the FIFO queue ${options.queueUrl}`,
    );
  }
  const produced = producerBody(checked.event);
  const eventJson = JSON.stringify(produced);
  // The global propagator: whatever the producer's OpenTelemetry set-up propagates.
  const attributes = traceContextAttributes(options.traceContext ?? context.active(), propagation);
  const body = options.cloudEvent === undefined ? eventJson : cloudEventBody(produced, options.cloudEvent, attributes);
  const out = await options.sqs.send(
    new SendMessageCommand({
      QueueUrl: options.queueUrl,
      MessageBody: body,
      ...(Object.keys(attributes).length > 0 ? { MessageAttributes: attributes } : {}),
      ...(options.messageGroupId === undefined ? {} : { MessageGroupId: options.messageGroupId }),
      ...(fifo
        ? {
            MessageDeduplicationId:
              options.messageDeduplicationId ?? createHash('sha256').update(eventJson).digest('hex'),
          }
        : {}),
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
