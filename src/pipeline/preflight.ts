/**
 * Start-up checks: what can be known about the queues before the first message, each one log line
 * and one field of `/readyz`. None stops the relay (a queue created or a permission granted later
 * is picked up without a restart), but each says exactly what will go wrong and why.
 */
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { isFifoQueueUrl } from '../aws/queueUrl.js';
import { errorNameOf } from '../core/errors.js';
import { scrub } from '../core/secret.js';
import { SQS_MAX_MESSAGE_BYTES } from './deadLetter.js';
import { type PolicyExpectations, type QueueSecurity, queueSecurity } from './queuePolicy.js';

/** What the relay reads of a queue. */
export interface QueueFacts {
  fifo: boolean;
  maxMessageBytes: number;
  retentionSeconds: number;
  contentBasedDeduplication: boolean;
  /** The queue's own redrive policy, when it has one. */
  redrive: { maxReceiveCount: number; deadLetterTargetArn: string } | undefined;
  arn: string;
}

export type CheckLevel = 'ok' | 'warn' | 'error';

export interface Check {
  name: string;
  level: CheckLevel;
  message: string;
}

export interface PreflightResult {
  source: QueueFacts | undefined;
  dlq: QueueFacts | undefined;
  checks: Check[];
  /** Who may send to the source queue, and SSE on both (src/pipeline/queuePolicy.ts). */
  security?: QueueSecurity | undefined;
}

export interface PreflightSettings {
  sourceQueueUrl: string;
  dlqUrl: string;
  maxReceives: number;
  fifoMaxHandBackSeconds: number;
  /** What the allowlist's rules take on trust from the queue policy (none: allowlist off). */
  policyExpectations?: PolicyExpectations;
}

const ATTRIBUTES = [
  'QueueArn',
  'FifoQueue',
  'MaximumMessageSize',
  'MessageRetentionPeriod',
  'ContentBasedDeduplication',
  'RedrivePolicy',
] as const;

function parseRedrive(raw: string | undefined): QueueFacts['redrive'] {
  if (raw === undefined || raw === '') return undefined;
  try {
    const p = JSON.parse(raw) as { maxReceiveCount?: number | string; deadLetterTargetArn?: string };
    const n = Number(p.maxReceiveCount);
    return Number.isFinite(n) ? { maxReceiveCount: n, deadLetterTargetArn: p.deadLetterTargetArn ?? '' } : undefined;
  } catch {
    return undefined;
  }
}

export async function readQueue(sqs: SQSClient, queueUrl: string): Promise<QueueFacts> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: [...ATTRIBUTES] }));
  const a = out.Attributes ?? {};
  const num = (v: string | undefined, fallback: number) =>
    Number.isFinite(Number(v)) && v !== undefined ? Number(v) : fallback;
  return {
    // The attribute is only present on FIFO queues; the `.fifo` suffix is required on them.
    fifo: a.FifoQueue === 'true' || isFifoQueueUrl(queueUrl),
    maxMessageBytes: num(a.MaximumMessageSize, SQS_MAX_MESSAGE_BYTES),
    retentionSeconds: num(a.MessageRetentionPeriod, 345_600),
    contentBasedDeduplication: a.ContentBasedDeduplication === 'true',
    redrive: parseRedrive(a.RedrivePolicy),
    arn: a.QueueArn ?? '',
  };
}

/** Room the relay's smallest reason attribute needs beside a body (name, type and a minimal JSON). */
const REASON_ROOM_BYTES = 512;

const CREDENTIAL_ERRORS = new Set(['CredentialsProviderError', 'ExpiredTokenException', 'InvalidClientTokenId']);

async function attempt(sqs: SQSClient, url: string): Promise<QueueFacts | { error: string; name: string }> {
  try {
    return await readQueue(sqs, url);
  } catch (err) {
    const name = errorNameOf(err);
    return { name, error: `${name}: ${scrub(String((err as Error)?.message ?? ''), undefined)}` };
  }
}

/**
 * The source queue's redrive policy: the last bound on a message handed back for causes that are not
 * its own (outages, a refused DLQ: see the "ends by" column of docs/outcomes.md). None: one warning line.
 */
export function redriveCheck(r: QueueFacts['redrive'], s: Pick<PreflightSettings, 'maxReceives'>): Check {
  const name = 'redrive_policy';
  const room = 3 * s.maxReceives;
  if (r === undefined) {
    return {
      name,
      level: 'warn',
      message: `the source queue has no redrive policy: a message handed back for a cause that is not its own (an outage, a refused DLQ) then has no bound left but time or an operator; set one with maxReceiveCount at least ${room}`,
    };
  }
  if (r.maxReceiveCount <= s.maxReceives) {
    return {
      name,
      level: 'warn',
      message: `the source queue's redrive policy moves a message to its DLQ after ${r.maxReceiveCount} receives, at or below MAX_RECEIVES=${s.maxReceives}: SQS will move failing messages without the relay's reason; set maxReceiveCount to at least ${room}`,
    };
  }
  if (r.maxReceiveCount < room) {
    return {
      name,
      level: 'warn',
      message: `the source queue's redrive policy (maxReceiveCount ${r.maxReceiveCount}) may pre-empt MAX_RECEIVES=${s.maxReceives}: receives that are not the message's fault (outages, busy claims) count for SQS but not for the relay; set maxReceiveCount to at least ${room}`,
    };
  }
  return {
    name,
    level: 'ok',
    message: `the source queue's redrive policy (maxReceiveCount ${r.maxReceiveCount}) leaves room for MAX_RECEIVES=${s.maxReceives}`,
  };
}

/** The checks that compare the two queues and the relay's settings. */
export function compareQueues(source: QueueFacts, dlq: QueueFacts, s: PreflightSettings): Check[] {
  const checks: Check[] = [];
  checks.push(
    source.fifo !== dlq.fifo
      ? {
          name: 'dlq_type',
          level: 'error',
          message: source.fifo
            ? 'SOURCE_QUEUE_URL is a FIFO queue but DLQ_URL is a standard queue; SQS requires a FIFO DLQ for a FIFO source (the relay refuses this pairing at start-up): use a FIFO DLQ'
            : 'DLQ_URL is a FIFO queue behind a standard SOURCE_QUEUE_URL; SQS requires matching queue types, and one group would serialise the DLQ (the relay refuses this pairing at start-up): use a standard DLQ',
        }
      : {
          name: 'dlq_type',
          level: 'ok',
          message: `source ${source.fifo ? 'FIFO' : 'standard'}, DLQ ${dlq.fifo ? 'FIFO' : 'standard'}`,
        },
  );
  checks.push(
    dlq.maxMessageBytes < source.maxMessageBytes
      ? {
          name: 'dlq_size',
          level: 'warn',
          message: `DLQ_URL takes messages up to ${dlq.maxMessageBytes} bytes, SOURCE_QUEUE_URL up to ${source.maxMessageBytes}: larger poison messages cannot be dead-lettered and stay in the source queue (outcome dlq_send_failed); raise the DLQ's MaximumMessageSize`,
        }
      : {
          name: 'dlq_size',
          level: 'ok',
          message:
            dlq.maxMessageBytes < source.maxMessageBytes + REASON_ROOM_BYTES
              ? `DLQ takes ${dlq.maxMessageBytes} bytes, source ${source.maxMessageBytes}: a message within ~${REASON_ROOM_BYTES} bytes of the source's limit may leave no room for the reason attribute; it is then dead-lettered as the body alone, its reason in the log, sfn_relay_dlq_trimmed_total{trim="reason"} and /readyz dlq_reason_dropped`
              : `DLQ takes ${dlq.maxMessageBytes} bytes, source ${source.maxMessageBytes}`,
        },
  );
  if (source.fifo) {
    checks.push({
      name: 'fifo',
      level: 'ok',
      message: `SOURCE_QUEUE_URL is FIFO: DLQ entries keep each message's group and carry a deduplication id; hand-back delays are capped at FIFO_MAX_HAND_BACK_SECONDS=${s.fifoMaxHandBackSeconds} s, because a message handed back holds its whole group${source.contentBasedDeduplication ? '' : '; the queue has no content-based deduplication, so producers must send a MessageDeduplicationId (sfn-relay send-task-failure and publishTaskFailure do)'}`,
    });
  }
  checks.push(redriveCheck(source.redrive, s));
  return checks;
}

export async function preflight(sqs: SQSClient, s: PreflightSettings): Promise<PreflightResult> {
  const [source, dlq] = await Promise.all([attempt(sqs, s.sourceQueueUrl), attempt(sqs, s.dlqUrl)]);
  const checks: Check[] = [];
  const reach = (name: string, variable: string, r: QueueFacts | { error: string; name: string }) =>
    checks.push(
      'error' in r
        ? { name, level: 'error', message: `${variable} did not answer GetQueueAttributes: ${r.error}` }
        : { name, level: 'ok', message: `${variable} answered` },
    );
  reach('source_queue', 'SOURCE_QUEUE_URL', source);
  reach('dlq', 'DLQ_URL', dlq);
  if ('error' in source && CREDENTIAL_ERRORS.has(source.name)) {
    // Said once here: the receive loop repeats it only every ten minutes.
    checks.unshift({
      name: 'credentials',
      level: 'error',
      message: `no usable AWS credentials (${source.name}): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, IRSA (AWS_ROLE_ARN with AWS_WEB_IDENTITY_TOKEN_FILE) or EKS Pod Identity; the relay keeps trying`,
    });
  }
  const sourceFacts = 'error' in source ? undefined : source;
  const dlqFacts = 'error' in dlq ? undefined : dlq;
  if (sourceFacts !== undefined && dlqFacts !== undefined) checks.push(...compareQueues(sourceFacts, dlqFacts, s));
  const urls = { source: s.sourceQueueUrl, dlq: s.dlqUrl };
  const none = { allowlist: false, trustedServices: [], trustsPolicy: false };
  const secured = await queueSecurity(sqs, urls, s.policyExpectations ?? none);
  checks.push(...secured.checks);
  return { source: sourceFacts, dlq: dlqFacts, checks, security: secured.security };
}
