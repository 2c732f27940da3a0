/**
 * What `dlq redrive` prints, and how it ends: a summary line whose every count means one thing
 * (the README's DLQ section lists them), a line per stopped FIFO group naming the reason and the
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
    ...(summary.duplicated > 0
      ? [`duplicated ${summary.duplicated} (sent, but still in the DLQ: ${ids(summary.duplicatedIds)})`]
      : []),
    ...(summary.behind > 0 ? [`not looked at ${summary.behind} (held behind FIFO groups)`] : []),
  ];
  const notes = [
    ...summary.stopped.map((g) => groupLine(g, summary)),
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

/** One stopped FIFO group: where, why, and what the operator can do. */
export function groupLine(g: StoppedGroup, summary: RedriveSummary): string {
  const behind =
    summary.stopped.length === 1 && summary.behind > 0
      ? `; about ${summary.behind} message(s) behind it were left in the DLQ, in order`
      : '; the messages behind it were left in the DLQ, in order';
  const choices = g.forceable
    ? `move it anyway with --force, or delete it with sfn-relay dlq purge --message-id ${g.messageId} --yes, then redrive again`
    : g.why.startsWith('not matched')
      ? 'redrive without the filters that leave it, or delete it with ' +
        `sfn-relay dlq purge --message-id ${g.messageId} --yes, then redrive again`
      : 'redrive again (SQS refused it; see the error code)';
  return `group ${g.group} stopped at message ${g.messageId} (${g.reason}: ${g.why})${behind}. Choices: ${choices}`;
}

/** The error that ends a redrive which left work undone (exit 254 or 1), or undefined (exit 0). */
export function redriveEnding(summary: RedriveSummary): Error | undefined {
  if (summary.duplicated > 0) {
    return new CommandError(
      `${summary.duplicated} message(s) were sent to the source queue but SQS refused to delete them from the DLQ, so they are in both queues: delete the DLQ copies with sfn-relay dlq purge --message-id ${ids(summary.duplicatedIds)} --yes`,
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
  return undefined;
}
