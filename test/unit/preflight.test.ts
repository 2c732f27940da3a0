import { describe, expect, it } from 'vitest';
import { compareQueues, type QueueFacts } from '../../src/pipeline/preflight.js';

const queue = (over: Partial<QueueFacts> = {}): QueueFacts => ({
  fifo: false,
  maxMessageBytes: 1_048_576,
  retentionSeconds: 345_600,
  contentBasedDeduplication: false,
  redrive: { maxReceiveCount: 100, deadLetterTargetArn: 'arn:aws:sqs:us-east-1:1:dlq' },
  arn: 'arn:aws:sqs:us-east-1:1:q',
  ...over,
});
const settings = { sourceQueueUrl: 'q', dlqUrl: 'd', maxReceives: 5, fifoMaxHandBackSeconds: 60 };
const check = (source: QueueFacts, dlq: QueueFacts, name: string) =>
  compareQueues(source, dlq, settings).find((c) => c.name === name);

describe('start-up checks', () => {
  it('warns in one line when the source queue has no redrive policy (the last bound is gone)', () => {
    const c = check(queue({ redrive: undefined }), queue(), 'redrive_policy');
    expect(c?.level).toBe('warn');
    expect(c?.message).toMatch(/no redrive policy/);
    expect(c?.message).not.toMatch(/\n/);
    expect(check(queue(), queue(), 'redrive_policy')?.level).toBe('ok');
  });

  it('says, when both queues take the same size, that a body near the limit may go without its reason', () => {
    const same = check(queue(), queue(), 'dlq_size');
    expect(same?.level).toBe('ok');
    expect(same?.message).toMatch(/body alone/);
    const larger = check(queue({ maxMessageBytes: 262_144 }), queue(), 'dlq_size');
    expect(larger?.message).not.toMatch(/body alone/);
    expect(check(queue(), queue({ maxMessageBytes: 262_144 }), 'dlq_size')?.level).toBe('warn');
  });
});
