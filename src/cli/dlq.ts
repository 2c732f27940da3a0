import { PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { isFifoQueueUrl } from '../aws/queueUrl.js';
import { redriveHopeless } from '../core/outcome.js';
import {
  type AwsOptions,
  CommandError,
  InterruptedError,
  parsePositiveInt,
  required,
  sqsClient,
  UsageError,
} from './common.js';
import { filterOf, formatDetailed, formatTable, matches, peekDlq, queueSize, shown, toRow } from './dlqRead.js';
import { fifoListing, formatFifoListing } from './fifoListing.js';
import { interruptSignal } from './interrupt.js';
import { purgeMessages } from './purgeMessages.js';
import { RedriveFailed, type RedriveSummary, redrive } from './redrive.js';
import { redriveNative } from './redriveNative.js';
import { describe, redriveEnding } from './redriveReport.js';

interface DlqOptions extends AwsOptions {
  dlqUrl?: string;
  reason?: string;
  olderThan?: string;
  newerThan?: string;
  max?: string;
  json?: boolean;
  showTokens?: boolean;
}

async function list(o: DlqOptions, detailed: boolean): Promise<void> {
  const queueUrl = required(o.dlqUrl ?? process.env.DLQ_URL, 'dlq-url', 'DLQ_URL');
  const max = o.max === undefined ? 1000 : parsePositiveInt(o.max, '--max');
  const filter = filterOf(o);
  const sqs = sqsClient(o);
  try {
    const fifo = isFifoQueueUrl(queueUrl);
    const total = fifo ? await queueSize(sqs, queueUrl) : Number.NaN;
    const now = Date.now();
    const { messages, notHandedBack } = await peekDlq(sqs, queueUrl, max);
    const rows = messages
      .map((m) => toRow(m, now))
      .filter((r) => matches(r, filter))
      .map((r) => shown(r, o.showTokens === true));
    const note = fifo ? formatFifoListing(fifoListing(messages, total, max)) : '';
    if (o.json) {
      process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      // The array stays the array scripts read; what it cannot show goes to stderr.
      process.stderr.write(note);
    } else process.stdout.write((detailed ? formatDetailed(rows) : formatTable(rows)) + note);
    if (notHandedBack > 0) {
      process.stderr.write(`${notHandedBack} message(s) could not be handed back; they reappear within 60 s\n`);
    }
  } finally {
    sqs.destroy();
  }
}

interface RedriveOptions extends DlqOptions {
  queueUrl?: string;
  dryRun?: boolean;
  force?: boolean;
  native?: boolean;
  rate?: string;
}

function progressBar(max: number): { bar: SingleBar | undefined; update: (done: number) => void } {
  // A bar with rate and ETA on a terminal; nothing but the summary when piped or in CI.
  const started = Date.now();
  const bar = process.stderr.isTTY
    ? new SingleBar({
        format: 'redrive [{bar}] {value}/{total} | {speed}/s | ETA {eta_formatted}',
        stream: process.stderr,
      })
    : undefined;
  bar?.start(Number.isFinite(max) ? max : 0, 0, { speed: '0' });
  return {
    bar,
    update: (done) => {
      if (bar === undefined) return;
      if (!Number.isFinite(max)) bar.setTotal(Math.max(done, 1));
      bar.update(done, { speed: (done / Math.max((Date.now() - started) / 1000, 0.001)).toFixed(0) });
    },
  };
}

/** The redrive, its summary kept when a receive fails mid-run. */
async function redriveReporting(
  ...args: Parameters<typeof redrive>
): Promise<{ summary: RedriveSummary; failure: unknown }> {
  try {
    return { summary: await redrive(...args), failure: undefined };
  } catch (err) {
    if (err instanceof RedriveFailed) return { summary: err.summary, failure: err.cause };
    throw err;
  }
}

async function redriveCommand(o: RedriveOptions): Promise<void> {
  const dlqUrl = required(o.dlqUrl ?? process.env.DLQ_URL, 'dlq-url', 'DLQ_URL');
  const sourceUrl = required(o.queueUrl ?? process.env.SOURCE_QUEUE_URL, 'queue-url', 'SOURCE_QUEUE_URL');
  const max = o.max === undefined ? Number.POSITIVE_INFINITY : parsePositiveInt(o.max, '--max');
  const filter = filterOf(o);
  if (o.reason !== undefined && redriveHopeless(o.reason) !== undefined && o.force !== true) {
    throw new UsageError(
      `redriving ${o.reason} cannot succeed: ${redriveHopeless(o.reason)}; add --force to move them anyway`,
    );
  }
  if (o.native === true && (o.reason ?? o.olderThan ?? o.newerThan ?? o.max) !== undefined) {
    throw new UsageError('--native moves the whole queue: it takes no --reason, --older-than, --newer-than or --max');
  }
  if (o.native === true && o.dryRun === true) throw new UsageError('--native has no --dry-run');
  const sqs = sqsClient(o);
  const started = Date.now();
  try {
    if (o.native === true) {
      const rate = o.rate === undefined ? undefined : parsePositiveInt(o.rate, '--rate');
      const native = await redriveNative(sqs, dlqUrl, sourceUrl, rate === undefined ? {} : { ratePerSecond: rate });
      process.stdout.write(
        `native move task ${native.status}: moved ${native.moved} of ${native.toMove ?? '?'}, in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
      );
      if (native.status !== 'COMPLETED')
        throw new CommandError(`the move task ended ${native.status}: ${native.failureReason ?? ''}`);
      return;
    }
    const progress = progressBar(max);
    try {
      const { summary, failure } = await redriveReporting(sqs, dlqUrl, sourceUrl, {
        max,
        filter,
        dryRun: o.dryRun === true,
        force: o.force === true,
        onProgress: progress.update,
        signal: interruptSignal(),
      });
      progress.bar?.stop();
      const seconds = (Date.now() - started) / 1000;
      process.stdout.write(o.json ? `${JSON.stringify({ ...summary, seconds })}\n` : describe(summary, seconds));
      // A failed receive sets the exit code (254 or 255) after the summary so far is printed.
      if (failure !== undefined) throw failure;
      const ending = redriveEnding(summary);
      if (summary.ended === 'interrupted') {
        throw new InterruptedError(`interrupted${ending === undefined ? '' : `; ${ending.message}`}`);
      }
      if (ending !== undefined) throw ending;
    } finally {
      progress.bar?.stop();
    }
  } finally {
    sqs.destroy();
  }
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
      .option('--reason <code>', 'only messages dead-lettered for this reason ("none": moved by SQS itself)')
      .option('--older-than <duration>', 'only messages whose event is older (30s, 15m, 2h, 7d)')
      .option('--newer-than <duration>', 'only messages whose event is newer')
      .option('--max <n>', 'at most this many messages')
      .option('--region <region>', 'AWS region (default: $AWS_REGION)')
      .option('--endpoint-url <url>', 'SQS endpoint (default: $AWS_ENDPOINT_URL_SQS)');

  common(dlq.command('list'))
    .description('List DLQ messages without consuming them: reason, receives, age, token hash, group, error')
    .option('--json', 'print JSON instead of a table (task tokens in bodies masked)')
    .option('--show-tokens', 'print task tokens as they are (they are bearer credentials)')
    .addHelpText('after', '\nExample:\n  $ sfn-relay dlq list --reason body_not_json')
    .action((o: DlqOptions) => list(o, false));

  common(dlq.command('inspect'))
    .description('Show DLQ messages in full: reason, detail, source message, attributes, body (tokens masked)')
    .option('--json', 'print JSON')
    .option('--show-tokens', 'print task tokens as they are (they are bearer credentials)')
    .addHelpText('after', '\nExample:\n  $ sfn-relay dlq inspect --reason sfn_task_does_not_exist --max 5')
    .action((o: DlqOptions) => list(o, true));

  common(dlq.command('redrive'))
    .description('Move DLQ messages back to the source queue, body, attributes and group as the producer sent them')
    .option('--queue-url <url>', 'the source queue to move them to (default: $SOURCE_QUEUE_URL)')
    .option('--dry-run', 'count what would move, move nothing')
    .option(
      '--force',
      'also move messages whose reason can never succeed on a redrive (invalid bodies, refused tokens)',
    )
    .option('--native', "SQS's own StartMessageMoveTask: the whole queue, server-side, no filters")
    .option('--rate <n>', 'with --native: messages per second')
    .option('--json', 'print the summary as JSON (every count, the ids of duplicated messages, stopped groups)')
    .addHelpText(
      'after',
      `
Works on the messages in the DLQ when it starts; a message it moved that the running relay
dead-letters again is left in the DLQ and reported, never moved twice. On a FIFO DLQ it works
group by group, in order: a message it does not move stops its group, with a line naming the
reason and the choices.
Ctrl-C finishes the batch in hand, prints the summary so far and exits 130 (twice: at once).
Exit codes: 0 done, 1 FIFO group(s) stopped or FIFO messages unreachable (in flight elsewhere),
130 interrupted, 252 bad options, 254 SQS refused some (failed, or duplicated: sent but not deleted
from the DLQ), 255 a send got no answer (unknown) or a receive failed.

Examples:
  $ sfn-relay dlq redrive --reason retries_exhausted --max 500
  $ sfn-relay dlq redrive --native --rate 100`,
    )
    .action((o: RedriveOptions) => redriveCommand(o));

  dlq
    .command('purge')
    .description('Delete every message in the DLQ, or the ones named by --message-id (asks for --yes)')
    .option('--dlq-url <url>', 'the dead-letter queue (default: $DLQ_URL)')
    .option('--message-id <ids...>', "only these DLQ messages (on a FIFO queue: a group's first message)")
    .option('--yes', 'really delete them')
    .option('--region <region>', 'AWS region (default: $AWS_REGION)')
    .option('--endpoint-url <url>', 'SQS endpoint (default: $AWS_ENDPOINT_URL_SQS)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ sfn-relay dlq purge --yes\n  $ sfn-relay dlq purge --message-id 0b6e2f0d-4a0b-4c43-9d8e-6f1c2f9e41a7 --yes',
    )
    .action((o: DlqOptions & { yes?: boolean; messageId?: string[] }) => purgeCommand(o));
}

async function purgeCommand(o: DlqOptions & { yes?: boolean; messageId?: string[] }): Promise<void> {
  const queueUrl = required(o.dlqUrl ?? process.env.DLQ_URL, 'dlq-url', 'DLQ_URL');
  const some = o.messageId !== undefined && o.messageId.length > 0;
  if (o.yes !== true) {
    throw new UsageError(
      `purge deletes ${some ? 'these DLQ messages' : 'every message in the DLQ'} and cannot be undone: add --yes`,
    );
  }
  const sqs = sqsClient(o);
  try {
    if (!some) {
      await sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
      process.stdout.write('purged\n');
      return;
    }
    const r = await purgeMessages(sqs, queueUrl, o.messageId ?? []);
    process.stdout.write(`deleted ${r.deleted.length}, not found ${r.notFound.length}, refused ${r.refused.length}\n`);
    if (r.refused.length > 0) {
      throw new CommandError(
        `SQS refused to delete ${r.refused.map((x) => `${x.id} (${x.code})`).join(', ')}: run the purge again`,
      );
    }
    if (r.notFound.length > 0) {
      throw new CommandError(
        `not found in the DLQ: ${r.notFound.join(' ')} (gone already, or on a FIFO queue behind an earlier message of its group)`,
      );
    }
  } finally {
    sqs.destroy();
  }
}
