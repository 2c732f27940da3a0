/**
 * The SQS client, with timeouts: without them one hung receive or delete stalls a poller unseen.
 * Kept apart from the service assembly so the CLI and producers load only this.
 */
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface SqsClientOptions {
  /** Longest a whole request may take; a long poll needs its wait time plus a margin. */
  requestTimeoutMs?: number;
  connectionTimeoutMs?: number;
}

/** Timeouts of the calls that are not long polls (delete, hand-back, DLQ send, attributes). */
export const SQS_REQUEST_TIMEOUT_MS = 5_000;
export const SQS_CONNECTION_TIMEOUT_MS = 3_000;

export function createSqsClient(region: string, endpoint: string | undefined, o: SqsClientOptions = {}): SQSClient {
  return new SQSClient({
    region,
    // The endpoint must be set on the client itself: otherwise the SDK sends each call to the host
    // of its QueueUrl, which for emulators (and VPC endpoints) is not where SQS answers.
    ...(endpoint === undefined ? {} : { endpoint }),
    requestHandler: new NodeHttpHandler({
      connectionTimeout: o.connectionTimeoutMs ?? SQS_CONNECTION_TIMEOUT_MS,
      requestTimeout: o.requestTimeoutMs ?? SQS_REQUEST_TIMEOUT_MS,
      throwOnRequestTimeout: true,
    }),
  });
}

/** The receive client's request timeout: the long poll plus a margin for the answer. */
export function receiveTimeoutMs(waitTimeSeconds: number): number {
  return waitTimeSeconds * 1000 + 10_000;
}

/** The queue's ARN (what StartMessageMoveTask and SNS subscriptions name a queue by). */
export async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  return out.Attributes?.QueueArn ?? '';
}
