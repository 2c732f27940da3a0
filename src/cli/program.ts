/**
 * `sfn-relay`: the operator's command line. Exit codes are the AWS CLI v2's (see common.ts);
 * errors go to stderr on one line.
 */
import { Command, CommanderError } from 'commander';
import { EXIT, exitCodeOf, oneLine } from './common.js';
import { registerDlq } from './dlq.js';
import { onSigint } from './interrupt.js';
import { registerSendTaskFailure } from './sendTaskFailure.js';
import { registerSendTaskHeartbeat } from './sendTaskHeartbeat.js';
import { registerSendTaskSuccess } from './sendTaskSuccess.js';
import { registerValidate } from './validate.js';

export function buildProgram(): Command {
  const program = new Command('sfn-relay')
    .description(
      'Publish Step Functions task callbacks (failure, success, heartbeat) to the relay, inspect and redrive its DLQ, validate events',
    )
    .version('0.1.0')
    .showSuggestionAfterError()
    .addHelpText(
      'after',
      `
Examples:
  $ sfn-relay send-task-failure --task-token "$TOKEN" --error Timeout --cause "upstream did not answer"
  $ sfn-relay send-task-success --task-token "$TOKEN" --task-output '{"ok": true}'
  $ sfn-relay send-task-heartbeat --task-token "$TOKEN"
  $ sfn-relay dlq list
  $ sfn-relay validate events.jsonl

Environment: SOURCE_QUEUE_URL, DLQ_URL, AWS_REGION, AWS_ENDPOINT_URL_SQS (as for the service).
Exit codes (the AWS CLI v2's): 0 ok, 1 validate found invalid events, 130 interrupted,
252 command-line or parameter error, 253 configuration (region, credentials), 254 SQS refused,
255 other (network, unexpected).`,
    );
  registerSendTaskFailure(program);
  registerSendTaskSuccess(program);
  registerSendTaskHeartbeat(program);
  registerDlq(program);
  registerValidate(program);
  // Usage errors from commander itself (unknown option, missing value) exit 252, like ours.
  const exitOverride = (c: Command) => {
    c.exitOverride();
    c.configureOutput({
      writeErr: (s) => process.stderr.write(s.startsWith('error:') ? `sfn-relay: ${s.replace(/\n(?!$)/g, ' ')}` : s),
    });
    for (const sub of c.commands) exitOverride(sub);
  };
  exitOverride(program);
  return program;
}

export async function run(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not errors; commander has already printed its message.
      const shown = err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version';
      return shown ? EXIT.ok : EXIT.usage;
    }
    process.stderr.write(`sfn-relay: ${oneLine(err)}\n`);
    return exitCodeOf(err);
  }
}

export async function main(argv: string[]): Promise<void> {
  // `sfn-relay dlq list | head` closes the pipe early: that is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT.ok);
    throw err;
  });
  process.on('SIGINT', () => onSigint());
  process.exitCode = await run(argv);
}
