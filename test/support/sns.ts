/** Topics and queue subscriptions in fauxqs' own SNS emulation (the same endpoint as its SQS). */
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { queueArn } from '../../src/aws/sqs.js';
import { REGION } from './emulators.js';

export function snsClient(endpoint: string): SNSClient {
  return new SNSClient({ region: REGION, endpoint });
}

/** A topic whose every message is delivered to the queue, enveloped (default) or raw. */
export async function topicInto(
  sns: SNSClient,
  sqs: SQSClient,
  name: string,
  queueUrl: string,
  options: { raw?: boolean; fifo?: boolean } = {},
): Promise<string> {
  const created = await sns.send(
    new CreateTopicCommand({ Name: name, ...(options.fifo ? { Attributes: { FifoTopic: 'true' } } : {}) }),
  );
  const topicArn = created.TopicArn ?? '';
  await sns.send(
    new SubscribeCommand({
      TopicArn: topicArn,
      Protocol: 'sqs',
      Endpoint: await queueArn(sqs, queueUrl),
      ...(options.raw ? { Attributes: { RawMessageDelivery: 'true' } } : {}),
    }),
  );
  return topicArn;
}
