import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { type DeadLetterInfo, originalAttributes, readDeadLetterInfo } from '../deadLetter.js';
import { parseEvent } from '../event.js';
import {
  type AwsOptions,
  CommandError,
  parseDuration,
  parsePositiveInt,
  required,
  sqsClient,
  UsageError,
} from './common.js';

interface DlqOptions extends AwsOptions {
  dlqUrl?: string;
  reason?: string;
  olderThan?: string;
  newerThan?: string;
  max?: string;
  json?: boolean;
}

export interface DlqRow {
  messageId: string;
  reason: string;
  receiveCount: number | undefined;
  ageSeconds: number | undefined;
  tokenHash: string | undefined;
  error: string | undefined;
  info: DeadLetterInfo | undefined;
  body: string;
}

/** How long DLQ messages stay hidden while a command reads them; handed back at the end. */
const HIDE_SECONDS = 60;

function toRow(m: Message, now: number): DlqRow {
  const info = readDeadLetterInfo(m);
  const parsed = parseEvent(m.Body ?? '');
  const since =
    info?.firstReceivedAt === undefined ? Number(m.Attributes?.SentTimestamp) : Date.parse(info.firstReceivedAt);
  return {
    messageId: m.MessageId ?? '',
    reason: info?.reason ?? '(no reason attribute)',
    receiveCount: info?.receiveCount,
    ageSeconds: Number.isFinite(since) ? Math.max(0, Math.round((now - since) / 1000)) : undefined,
    tokenHash: info?.tokenHash,
    error: parsed.ok ? parsed.event.error : undefined,
    info,
    body: m.Body ?? '',
  };
}

interface Filter {
  reason: string | undefined;
  olderThanMs: number | undefined;
  newerThanMs: number | undefined;
}

function filterOf(o: DlqOptions): Filter {
  return {
    reason: o.reason,
    olderThanMs: o.olderThan === undefined ? undefined : parseDuration(o.olderThan, '--older-than'),
    newerThanMs: o.newerThan === undefined ? undefined : parseDuration(o.newerThan, '--newer-than'),
  };
}

function matches(row: DlqRow, f: Filter): boolean {
  if (f.reason !== undefined && row.reason !== f.reason) return false;
  const ageMs = (row.ageSeconds ?? 0) * 1000;
  if (f.olderThanMs !== undefined && ageMs < f.olderThanMs) return false;
  if (f.newerThanMs !== undefined && ageMs > f.newerThanMs) return false;
  return true;
}

async function receive(sqs: SQSClient, queueUrl: string): Promise<Message[]> {
  const out = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: HIDE_SECONDS,
      WaitTimeSeconds: 1,
      MessageAttributeNames: ['All'],
      MessageSystemAttributeNames: ['All'],
    }),
  );
  return out.Messages ?? [];
}

async function handBack(sqs: SQSClient, queueUrl: string, messages: Message[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    const group = messages.slice(i, i + 10);
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: group.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 })),
      }),
    );
  }
}

/**
 * Reads DLQ messages without consuming them: each is hidden while the whole queue is read (so none
 * is seen twice), then handed back with visibility 0.
 */
export async function peekDlq(sqs: SQSClient, queueUrl: string, max: number): Promise<Message[]> {
  const seen = new Map<string, Message>();
  const held: Message[] = [];
  try {
    for (let empty = 0; empty < 2 && seen.size < max; ) {
      const got = await receive(sqs, queueUrl);
      if (got.length === 0) empty += 1;
      for (const m of got) {
        held.push(m);
        if (!seen.has(m.MessageId ?? '') && seen.size < max) seen.set(m.MessageId ?? '', m);
      }
    }
  } finally {
    await handBack(sqs, queueUrl, held);
  }
  return [...seen.values()];
}

function age(seconds: number | undefined): string {
  if (seconds === undefined) return '-';
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
}

function short(text: string | undefined, n: number): string {
  if (text === undefined) return '-';
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}

export function formatTable(rows: DlqRow[]): string {
  const header = ['REASON'.padEnd(28), 'RECV', 'AGE'.padStart(5), 'TOKEN   ', 'ERROR'].join('  ');
  const lines = rows.map((r) =>
    [
      short(r.reason, 28).padEnd(28),
      String(r.receiveCount ?? '-').padStart(4),
      age(r.ageSeconds).padStart(5),
      (r.tokenHash?.slice(0, 8) ?? '-').padEnd(8),
      short(r.error, 40),
    ].join('  '),
  );
  return `${[header, ...lines].join('\n')}\n${rows.length} message(s)\n`;
}

async function list(o: DlqOptions, detailed: boolean): Promise<void> {
  const queueUrl = required(o.dlqUrl ?? process.env.DLQ_URL, 'dlq-url', 'DLQ_URL');
  const max = o.max === undefined ? 1000 : parsePositiveInt(o.max, '--max');
  const filter = filterOf(o);
  const sqs = sqsClient(o);
  try {
    const now = Date.now();
    const rows = (await peekDlq(sqs, queueUrl, max)).map((m) => toRow(m, now)).filter((r) => matches(r, filter));
    if (o.json) {
      process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    } else if (detailed) {
      for (const r of rows) {
        process.stdout.write(
          `message ${r.messageId}\n  reason:   ${r.reason}\n  detail:   ${r.info?.detail ?? '-'}\n` +
            `  receives: ${r.receiveCount ?? '-'}  age: ${age(r.ageSeconds)}  token: ${r.tokenHash ?? '-'}\n` +
            `  source:   ${r.info?.sourceMessageId ?? '-'}  dead-lettered: ${r.info?.deadLetteredAt ?? '-'}\n` +
            `  body:     ${short(r.body, 300)}\n\n`,
        );
      }
      process.stdout.write(`${rows.length} message(s)\n`);
    } else {
      process.stdout.write(formatTable(rows));
    }
  } finally {
    sqs.destroy();
  }
}

interface RedriveOptions extends DlqOptions {
  queueUrl?: string;
  dryRun?: boolean;
}

export interface RedriveSummary {
  moved: number;
  skipped: number;
  failed: number;
  dryRun: boolean;
}

/**
 * Moves DLQ messages back to the source queue, body and original attributes kept (the relay's
 * reason attribute dropped, overflowed attributes restored). Send first, delete second: a crash in
 * between duplicates a message at worst, and the relay's dedup absorbs the duplicate.
 */
export async function redrive(
  sqs: SQSClient,
  dlqUrl: string,
  sourceUrl: string,
  o: { max: number; filter: Filter; dryRun: boolean; onProgress?: (done: number) => void },
): Promise<RedriveSummary> {
  const summary: RedriveSummary = { moved: 0, skipped: 0, failed: 0, dryRun: o.dryRun };
  const held: Message[] = [];
  const seen = new Set<string>();
  try {
    for (let empty = 0; empty < 2 && summary.moved + summary.failed < o.max; ) {
      const got = await receive(sqs, dlqUrl);
      if (got.length === 0) empty += 1;
      const now = Date.now();
      const chosen: Message[] = [];
      for (const m of got) {
        const id = m.MessageId ?? '';
        const fresh = !seen.has(id);
        seen.add(id);
        if (fresh && matches(toRow(m, now), o.filter) && summary.moved + summary.failed + chosen.length < o.max) {
          chosen.push(m);
        } else {
          if (fresh) summary.skipped += 1;
          held.push(m);
        }
      }
      if (o.dryRun) {
        summary.moved += chosen.length;
        held.push(...chosen);
        o.onProgress?.(summary.moved);
        continue;
      }
      if (chosen.length === 0) continue;
      const sent = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: sourceUrl,
          Entries: chosen.map((m, i) => {
            const attributes = originalAttributes(m);
            return {
              Id: String(i),
              MessageBody: m.Body ?? '',
              ...(Object.keys(attributes).length > 0 ? { MessageAttributes: attributes } : {}),
            };
          }),
        }),
      );
      const ok = new Set((sent.Successful ?? []).map((s) => Number(s.Id)));
      const toDelete = chosen.filter((_, i) => ok.has(i));
      held.push(...chosen.filter((_, i) => !ok.has(i)));
      summary.failed += chosen.length - toDelete.length;
      if (toDelete.length > 0) {
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: dlqUrl,
            Entries: toDelete.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
          }),
        );
      }
      summary.moved += toDelete.length;
      o.onProgress?.(summary.moved);
    }
  } finally {
    await handBack(sqs, dlqUrl, held);
  }
  return summary;
}

export function registerDlq(program: Command): void {
  const dlq = program
    .command('dlq')
    .description('Inspect, redrive and purge the dead-letter queue')
    .addHelpText(
      'after',
      `
Examples:
  $ sfn-relay dlq list
  $ sfn-relay dlq list --reason sfn_invalid_token --older-than 1h --json
  $ sfn-relay dlq redrive --reason retries_exhausted --max 100 --dry-run
  $ sfn-relay dlq purge --yes`,
    );
  const common = (c: Command) =>
    c
      .option('--dlq-url <url>', 'the dead-letter queue (default: $DLQ_URL)')
      .option('--reason <code>', 'only messages dead-lettered for this reason')
      .option('--older-than <duration>', 'only messages whose event is older (30s, 15m, 2h, 7d)')
      .option('--newer-than <duration>', 'only messages whose event is newer')
      .option('--max <n>', 'read at most this many messages')
      .option('--region <region>', 'AWS region (default: $AWS_REGION)')
      .option('--endpoint-url <url>', 'SQS endpoint (default: $AWS_ENDPOINT_URL_SQS)');

  common(dlq.command('list'))
    .description('List DLQ messages without consuming them: reason, receives, age, token hash, error')
    .option('--json', 'print JSON instead of a table')
    .addHelpText('after', '\nExample:\n  $ sfn-relay dlq list --reason body_not_json')
    .action((o: DlqOptions) => list(o, false));

  common(dlq.command('inspect'))
    .description('Show DLQ messages in full: reason, detail, source message, body')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  $ sfn-relay dlq inspect --reason sfn_task_does_not_exist --max 5')
    .action((o: DlqOptions) => list(o, true));

  common(dlq.command('redrive'))
    .description('Move DLQ messages back to the source queue, body and attributes kept')
    .option('--queue-url <url>', 'the source queue to move them to (default: $SOURCE_QUEUE_URL)')
    .option('--dry-run', 'count what would move, move nothing')
    .addHelpText('after', '\nExample:\n  $ sfn-relay dlq redrive --reason retries_exhausted --max 500')
    .action(async (o: RedriveOptions) => {
      const dlqUrl = required(o.dlqUrl ?? process.env.DLQ_URL, 'dlq-url', 'DLQ_URL');
      const sourceUrl = required(o.queueUrl ?? process.env.SOURCE_QUEUE_URL, 'queue-url', 'SOURCE_QUEUE_URL');
      const max = o.max === undefined ? Number.POSITIVE_INFINITY : parsePositiveInt(o.max, '--max');
      const filter = filterOf(o);
      const sqs = sqsClient(o);
      // A bar with rate and ETA on a terminal; nothing but the summary when piped or in CI.
      const bar = process.stderr.isTTY
        ? new SingleBar({
            format: 'redrive [{bar}] {value}/{total} | {speed}/s | ETA {eta_formatted}',
            stream: process.stderr,
          })
        : undefined;
      const started = Date.now();
      bar?.start(Number.isFinite(max) ? max : 0, 0, { speed: '0' });
      try {
        const summary = await redrive(sqs, dlqUrl, sourceUrl, {
          max,
          filter,
          dryRun: o.dryRun === true,
          onProgress: (done) => {
            if (bar === undefined) return;
            if (!Number.isFinite(max)) bar.setTotal(Math.max(done, 1));
            bar.update(done, { speed: (done / Math.max((Date.now() - started) / 1000, 0.001)).toFixed(0) });
          },
        });
        bar?.stop();
        const verb = summary.dryRun ? 'would move' : 'moved';
        process.stdout.write(
          `${verb} ${summary.moved}, skipped ${summary.skipped} (filtered), failed ${summary.failed}, in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
        );
        if (summary.failed > 0)
          throw new CommandError(`${summary.failed} message(s) could not be sent; they stay in the DLQ`);
      } finally {
        bar?.stop();
        sqs.destroy();
      }
    });

  dlq
    .command('purge')
    .description('Delete every message in the DLQ (asks for --yes)')
    .option('--dlq-url <url>', 'the dead-letter queue (default: $DLQ_URL)')
    .option('--yes', 'really delete them')
    .option('--region <region>', 'AWS region (default: $AWS_REGION)')
    .option('--endpoint-url <url>', 'SQS endpoint (default: $AWS_ENDPOINT_URL_SQS)')
    .addHelpText('after', '\nExample:\n  $ sfn-relay dlq purge --yes')
    .action(async (o: DlqOptions & { yes?: boolean }) => {
      const queueUrl = required(o.dlqUrl ?? process.env.DLQ_URL, 'dlq-url', 'DLQ_URL');
      if (o.yes !== true) throw new UsageError('purge deletes every DLQ message and cannot be undone: add --yes');
      const sqs = sqsClient(o);
      try {
        await sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
        process.stdout.write('purged\n');
      } finally {
        sqs.destroy();
      }
    });
}
