import {
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';

export interface Outgoing {
  body: string;
  attributes?: Record<string, MessageAttributeValue>;
}

/** Publishes in batches of 10 (SendMessageBatch), in order; fails loudly if SQS refuses any. */
export async function publish(sqs: SQSClient, queueUrl: string, messages: (string | Outgoing)[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    const group = messages.slice(i, i + 10).map((m) => (typeof m === 'string' ? { body: m } : m));
    const out = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: group.map((m, j) => ({
          Id: String(j),
          MessageBody: m.body,
          ...(m.attributes === undefined ? {} : { MessageAttributes: m.attributes }),
        })),
      }),
    );
    if ((out.Failed ?? []).length > 0) throw new Error(`SendMessageBatch failed: ${JSON.stringify(out.Failed)}`);
  }
}

/** Reads every message in a queue, hiding each for `hideSeconds` so none is read twice. */
export async function drainQueue(sqs: SQSClient, queueUrl: string, hideSeconds = 120): Promise<Message[]> {
  const all: Message[] = [];
  for (let empty = 0; empty < 2; ) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: hideSeconds,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const got = out.Messages ?? [];
    if (got.length === 0) empty += 1;
    all.push(...got);
  }
  return all;
}
