/**
 * What `dlq redrive` prints, and how it ends: a summary line whose every count means one thing
 * (docs/cli.md lists them), a line per stopped FIFO group naming the reason and the
 * choices, and the error that sets the exit code when work was left undone.
 */
import { redriveHopeless } from '../core/outcome.js';
import { CommandError, ResultError } from './common.js';
import type { RedriveSummary, StoppedGroup } from './redrive.js';

/** At most this many message ids in a one-line message; `--json` lists them all. */
const IDS_SHOWN = 10;

function ids(list: string[]): string {
  const shown = list.slice(0, IDS_SHOWN).join(' ');
  return list.length > IDS_SHOWN ? `${shown} … (${list.length - IDS_SHOWN} more, all in --json)` : shown;
}

export function describe(summary: RedriveSummary, seconds: number): string {
  const hopeless = Object.entries(summary.hopeless);
  const parts = [
    `${summary.dryRun ? 'would move' : 'moved'} ${summary.moved}`,
    `skipped ${summary.skipped} (filtered)`,
    ...(hopeless.length === 0
      ? []
      : [
          `left ${hopeless.reduce((n, [, c]) => n + c, 0)} that cannot succeed (${hopeless
            .map(([reason, n]) => `${reason} ${n}: ${redriveHopeless(reason)}`)
            .join('; ')}; add --force to move them anyway)`,
        ]),
    ...(summary.returned > 0
      ? [`${summary.returned} came back while running (dead-lettered again; left in the DLQ)`]
      : []),
    `failed ${summary.failed}`,
    ...(summary.unknown > 0
      ? [
          `unknown ${summary.unknown} (sent, no answer: in the DLQ, maybe in the source queue too: ${ids(summary.unknownIds)})`,
        ]
      : []),
    ...(summary.duplicated > 0
      ? [`duplicated ${summary.duplicated} (sent, but still in the DLQ: ${ids(summary.duplicatedIds)})`]
      : []),
    ...(summary.behind > 0 ? [`not looked at ${summary.behind} (${behindWhy(summary)})`] : []),
  ];
  const notes = [
    ...summary.stopped.map((g) => groupLine(g, summary)),
    ...(notReached(summary) ? [NOT_REACHED] : []),
    ...(summary.ended === 'interrupted'
      ? [
          'interrupted: the batch in hand was finished (sent ones deleted, the rest handed back); the others stay in the DLQ',
        ]
      : []),
    ...(summary.ended === 'error' ? [`stopped by an error: ${summary.error ?? 'unknown'}`] : []),
    ...(summary.dryRun && summary.behind > 0
      ? [
          `a dry run moves nothing, and SQS shows a FIFO group's later messages only once the earlier ones are deleted: about ${summary.behind} message(s) were not looked at`,
        ]
      : []),
    ...(summary.notHandedBack > 0
      ? [`${summary.notHandedBack} held message(s) could not be handed back; they reappear within 60 s`]
      : []),
  ];
  return [`${parts.join(', ')}, in ${seconds.toFixed(1)} s`, ...notes].map((l) => `${l}\n`).join('');
}

/** Why messages of a FIFO DLQ were not looked at, as far as the redrive can tell. */
function behindWhy(s: RedriveSummary): string {
  if (s.ended === 'max') return '--max reached';
  if (s.ended === 'interrupted') return 'interrupted';
  if (s.ended === 'error') return 'stopped by an error';
  if (s.dryRun) return 'a dry run deletes nothing';
  return s.stopped.length > 0 ? 'held behind FIFO groups' : 'SQS did not hand them out';
}

/**
 * A FIFO redrive that ran to its end, stopped no group, and still left messages of its snapshot
 * unseen: SQS hands out none of a group while another reader holds one of its messages in flight.
 */
export function notReached(s: RedriveSummary): boolean {
  return s.behind > 0 && s.ended === 'done' && !s.dryRun && s.stopped.length === 0;
}

const NOT_REACHED =
  "SQS handed out none of them: most likely another reader (a dlq list or redrive elsewhere, an interrupted one, a consumer of the DLQ) holds a message of their group in flight. Wait for its visibility timeout (60 s after an sfn-relay command, the queue's VisibilityTimeout otherwise) or stop the other reader, then redrive again";

/** What the operator can do about a stopped group, by what stopped it. */
function choicesFor(g: StoppedGroup): string {
  const purge = `sfn-relay dlq purge --message-id ${g.messageId} --yes`;
  switch (g.kind) {
    case 'hopeless':
      return `move it anyway with --force, or delete it with ${purge}, then redrive again`;
    case 'filtered':
      return `redrive without the filters that leave it, or delete it with ${purge}, then redrive again`;
    case 'refused':
      return 'redrive again once the source queue accepts it (see the error code); nothing behind it was sent';
    case 'unknown':
      return `it was handed back to the DLQ, but may have arrived: look for it in the source queue first; if it is there, delete the DLQ copy with ${purge}; then redrive again (a redrive before that may send it twice; to a FIFO source queue, one within 5 minutes is deduplicated)`;
    case 'duplicated':
      return `it is in the source queue already: delete the DLQ copy with ${purge}, then redrive again for the rest of the group. It was handed back (visible again) so the purge finds it at once; a redrive before the purge would send it twice`;
  }
}

/** One stopped FIFO group: where, why, and what the operator can do. */
export function groupLine(g: StoppedGroup, summary: RedriveSummary): string {
  const behind =
    summary.stopped.length === 1 && summary.behind > 0
      ? `; about ${summary.behind} message(s) behind it were left in the DLQ, in order`
      : '; the messages behind it were left in the DLQ, in order';
  const choices = choicesFor(g);
  return `group ${g.group} stopped at message ${g.messageId} (${g.reason}: ${g.why})${behind}. Choices: ${choices}`;
}

/** The error that ends a redrive which left work undone (exit 254 or 1), or undefined (exit 0). */
export function redriveEnding(summary: RedriveSummary): Error | undefined {
  if (summary.duplicated > 0) {
    return new CommandError(
      `${summary.duplicated} message(s) were sent to the source queue but SQS refused to delete them from the DLQ, so they are in both queues: delete the DLQ copies with sfn-relay dlq purge --message-id ${ids(summary.duplicatedIds)} --yes`,
    );
  }
  if (summary.unknown > 0) {
    return new UnknownOutcomeError(
      `${summary.unknown} message(s) were sent but no answer came back, so they may be in both queues: look for them in the source queue before redriving again, and delete the DLQ copies of those there with sfn-relay dlq purge --message-id ${ids(summary.unknownIds)} --yes`,
    );
  }
  if (summary.failed > 0) {
    return new CommandError(
      `${summary.failed} message(s) could not be sent; they stay in the DLQ: redrive again once the source queue accepts them`,
    );
  }
  if (summary.stopped.length > 0) {
    return new ResultError(
      `${summary.stopped.length} FIFO group(s) stopped at a message not moved, with their later messages left in the DLQ: see the group line(s) above for the choices`,
    );
  }
  if (notReached(summary)) {
    return new ResultError(
      `about ${summary.behind} message(s) of the DLQ were not looked at: held in flight elsewhere (see the line above)`,
    );
  }
  return undefined;
}

/** A send whose outcome is unknown (no answer: a network fault): exit 255, as the AWS CLI. */
export class UnknownOutcomeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnknownOutcomeError';
  }
}
