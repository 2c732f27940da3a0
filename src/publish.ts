/**
 * The producer side: publish a failure event to the relay's queue instead of calling Step Functions.
 * Validated with the relay's own validator, so what is published is what the relay accepts.
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type Context, context, propagation } from '@opentelemetry/api';
import { InvalidEventError } from './errors.js';
import { DEFAULT_LIMITS, type EventLimits, type FailureEvent, validateEvent } from './event.js';
import { traceContextAttributes } from './traceContext.js';

export interface PublishOptions {
  sqs: SQSClient;
  queueUrl: string;
  /** Defaults to the relay's defaults (truncate over-long text, 1 MiB bodies). */
  limits?: EventLimits;
  /** The trace context to carry; defaults to the active one. */
  traceContext?: Context;
}

/**
 * Validates the event and sends it to the queue; resolves with the SQS message id. Throws an
 * InvalidEventError (with the DLQ reason the relay would give) when the event could never succeed.
 */
export async function publishTaskFailure(event: FailureEvent, options: PublishOptions): Promise<string> {
  const checked = validateEvent(event as never, 'plain', options.limits ?? DEFAULT_LIMITS);
  if (!checked.ok) throw new InvalidEventError(checked.reason, checked.detail);
  // The global propagator: whatever the producer's OpenTelemetry set-up propagates.
  const attributes = traceContextAttributes(options.traceContext ?? context.active(), propagation);
  const out = await options.sqs.send(
    new SendMessageCommand({
      QueueUrl: options.queueUrl,
      MessageBody: JSON.stringify(checked.event),
      ...(Object.keys(attributes).length > 0 ? { MessageAttributes: attributes } : {}),
    }),
  );
  return out.MessageId ?? '';
}
