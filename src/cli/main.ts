#!/usr/bin/env node
/**
 * `sfn-relay`: the operator's command line. Exit codes: 0 ok, 1 failure, 2 usage error; errors go
 * to stderr on one line.
 */
import { Command, CommanderError } from 'commander';
import { CommandError, oneLine, UsageError } from './common.js';
import { registerDlq } from './dlq.js';
import { registerSendTaskFailure } from './sendTaskFailure.js';
import { registerValidate } from './validate.js';

export function buildProgram(): Command {
  const program = new Command('sfn-relay')
    .description('Publish Step Functions task failures to the relay, inspect and redrive its DLQ, validate events')
    .version('0.1.0')
    .showSuggestionAfterError()
    .addHelpText(
      'after',
      `
Examples:
  $ sfn-relay send-task-failure --task-token "$TOKEN" --error Timeout --cause "upstream did not answer"
  $ sfn-relay dlq list
  $ sfn-relay validate events.jsonl

Environment: SOURCE_QUEUE_URL, DLQ_URL, AWS_REGION, AWS_ENDPOINT_URL_SQS (as for the service).`,
    );
  registerSendTaskFailure(program);
  registerDlq(program);
  registerValidate(program);
  // Usage errors from commander itself (unknown option, missing value) exit 2, like ours.
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
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not errors; commander has already printed its message.
      return err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : 2;
    }
    process.stderr.write(`sfn-relay: ${oneLine(err)}\n`);
    if (err instanceof UsageError) return 2;
    if (err instanceof CommandError) return 1;
    return 1;
  }
}

// `sfn-relay dlq list | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

run(process.argv).then((code) => {
  process.exitCode = code;
});
