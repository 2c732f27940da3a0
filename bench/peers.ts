/**
 * Bench child: the plain setups the relay is compared with, each as teams write them.
 *   naive    sqs-consumer, handleMessage, one message at a time, SendTaskFailure directly, no dedup
 *   parallel INSTANCES × sqs-consumer, batchSize 10, handleMessageBatch sending the 10 concurrently
 *   ceiling  POLLERS bare loops: ReceiveMessage(10) → the SendTaskFailure calls → DeleteMessageBatch
 * Configured by environment: VARIANT, QUEUE_URL, SQS_ENDPOINT, SFN_ENDPOINT, INSTANCES.
 */

import { SendTaskFailureCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Consumer } from 'sqs-consumer';

const env = (name: string): string => {
  const v = process.env[name];
  if (v === undefined) throw new Error(`${name} is required`);
  return v;
};
const variant = env('VARIANT');
const queueUrl = env('QUEUE_URL');
const instances = Number(process.env.INSTANCES ?? '8');
const sqs = new SQSClient({ region: 'us-east-1', endpoint: env('SQS_ENDPOINT') });
const sfn = new SFNClient({ region: 'us-east-1', endpoint: env('SFN_ENDPOINT') });

async function send(m: Message): Promise<void> {
  const e = JSON.parse(m.Body ?? '{}') as { taskToken: string; error?: string; cause?: string };
  await sfn.send(new SendTaskFailureCommand({ taskToken: e.taskToken, error: e.error, cause: e.cause }));
}

if (variant === 'naive') {
  Consumer.create({
    queueUrl,
    sqs,
    waitTimeSeconds: 1,
    handleMessage: async (m) => {
      await send(m);
      return m;
    },
  }).start();
} else if (variant === 'parallel') {
  for (let i = 0; i < instances; i += 1) {
    Consumer.create({
      queueUrl,
      sqs,
      batchSize: 10,
      waitTimeSeconds: 1,
      handleMessageBatch: async (messages) => {
        await Promise.all(messages.map(send));
        return messages;
      },
    }).start();
  }
} else if (variant === 'ceiling') {
  for (let i = 0; i < instances; i += 1) {
    void (async () => {
      for (;;) {
        const out = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
        );
        const messages = out.Messages ?? [];
        if (messages.length === 0) continue;
        await Promise.all(
          messages.map((m) => {
            // The least work: the body is passed through without validation.
            const e = JSON.parse(m.Body ?? '{}') as { taskToken: string; error?: string; cause?: string };
            return sfn.send(new SendTaskFailureCommand(e));
          }),
        );
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: messages.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle })),
          }),
        );
      }
    })();
  }
} else {
  throw new Error(`unknown VARIANT ${variant}`);
}
// The bench gone (however it ended), nothing is left to serve: no orphan outlives it.
process.once('disconnect', () => process.exit(0));
process.send?.({ type: 'ready' });
