/** `sfn-relay send-task-success` and `send-task-heartbeat`, run as users run them, against the AWS CLI v2 as reference. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { parseEvent } from '../../src/core/event.js';
import { awsCliBody } from '../support/awsCliBody.js';
import { expectRefusals, type Refusal, runCli } from '../support/cli.js';
import { createActivityMachine, startExecutionsWithTokens } from '../support/emulators.js';
import { startInProcess } from '../support/inProcess.js';
import { drainQueue } from '../support/queue.js';
import { tempDir } from '../support/tempDir.js';
import { requireAwsCliV2 } from '../support/tools.js';
import { useEmulators } from '../support/useEmulators.js';
import { waitFor } from '../support/wait.js';

const emu = useEmulators();
const cli = (args: string[], env: Record<string, string> = {}) => runCli(emu.sqs.endpoint, args, env);

/** The relay reads a body's kind once issue 25's relay side is merged; until then this path cannot run. */
const relayKnowsSuccess =
  (parseEvent(JSON.stringify({ taskToken: 't', output: '{}' })) as { event?: { kind?: string } }).event?.kind ===
  'success';

describe.each(['send-task-success', 'send-task-heartbeat'])('sfn-relay %s', (command) => {
  it('prints exactly the AWS CLI v2 skeletons, and validates without printing for "output"', async () => {
    const aws = requireAwsCliV2();
    const real = (mode: string[]) =>
      execFileSync(aws, ['stepfunctions', command, '--generate-cli-skeleton', ...mode], { encoding: 'utf8' });
    expect(await cli([command, '--generate-cli-skeleton'])).toEqual({ code: 0, stdout: real([]), stderr: '' });
    expect((await cli([command, '--generate-cli-skeleton', 'input'])).stdout).toBe(real(['input']));
    expect((await cli([command, '--generate-cli-skeleton', 'yaml-input'])).stdout).toBe(real(['yaml-input']));
    const args = command === 'send-task-success' ? ['--task-token', 't', '--task-output', '{}'] : ['--task-token', 't'];
    expect(await cli([command, '--generate-cli-skeleton', 'output', ...args])).toEqual({
      code: 0,
      stdout: '',
      stderr: '',
    });
  });
});

describe('sfn-relay send-task-success and send-task-heartbeat', () => {
  it('answer bad invocations with one line and the AWS CLI v2 exit codes and wording', async () => {
    const dir = tempDir('sfn-relay-');
    writeFileSync(join(dir, 'big.json'), JSON.stringify('x'.repeat(262_143))); // 262,145 bytes
    writeFileSync(join(dir, 'out.json'), '{"a":1}');
    const success = ['send-task-success', '--task-token', 't'];
    const cases: Refusal[] = [
      // The AWS CLI v2's --output is the output format; the task's output is --task-output.
      [
        [...success, '--output', '{"a":1}'],
        252,
        /argument --output: Invalid choice, valid choices are: json \| text \| table \| yaml \| yaml-stream.*--task-output/,
      ],
      [success, 252, /the following arguments are required: --task-output$/m],
      [['send-task-success'], 252, /the following arguments are required: --task-token, --task-output/],
      [
        ['send-task-success', '--cli-input-json', '{"taskToken":"t"}'],
        252,
        /Parameter validation failed: Missing required parameter in input: "output"/,
      ],
      [
        ['send-task-success', '--cli-input-json', '{"taskToken":"t","taskOutput":"{}"}'],
        252,
        /Unknown parameter in input: "taskOutput", must be one of: taskToken, output/,
      ],
      [
        ['send-task-success', '--cli-input-json', '{"taskToken":"t","output":{"a":1}}'],
        252,
        /Invalid type for parameter output/,
      ],
      [[...success, '--task-output', 'not json'], 252, /invalid event \(output_not_json\)/],
      [[...success, '--task-output', `file://${join(dir, 'big.json')}`], 252, /output_too_large.*262145 bytes/],
      [[...success, '--task-output', `fileb://${join(dir, 'out.json')}`], 252, /Invalid type for parameter output/],
      [['send-task-success', '--task-token', 'a b', '--task-output', '{}'], 252, /token_invalid_character/],
      [[...success, '--task-output', '{}'], 252, /queue-url is required/],
      [['send-task-heartbeat'], 252, /the following arguments are required: --task-token$/m],
      [
        ['send-task-heartbeat', '--cli-input-json', '{"taskToken":"t","error":"E"}'],
        252,
        /Unknown parameter in input: "error", must be one of: taskToken$/m,
      ],
      [['send-task-heartbeat', '--task-token', 't', '--task-output', '{}'], 252, /Unknown options: --task-output/],
      [['send-task-heartbeat', '--task-token', 't', '--queue-url', 'http://q/1/x'], 253, /You must specify a region/],
    ];
    await expectRefusals(cli, cases);
  });

  it('publish what the AWS CLI would send, with the kind; --output takes a format as in the AWS CLI', async () => {
    const source = await emu.sqs.createQueue('cli-kinds');
    const dir = tempDir('sfn-relay-');
    const token = 'AAAAKgAAAAIAAAAAAAAAAfiletoken0123456789';
    writeFileSync(join(dir, 'token.txt'), token);
    writeFileSync(join(dir, 'out.json'), '{\n  "orderId": 42, "note": "ünïcode"\n}\n');
    writeFileSync(join(dir, 'in.yaml'), `taskToken: ${token}\noutput: '{"fromYaml": true}'\n`);
    const published = async (command: string, args: string[]) => {
      const r = await cli([command, ...args], { SOURCE_QUEUE_URL: source });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^MessageId: [0-9a-f-]{36}\n$/);
      const [m] = await drainQueue(emu.sqs.client, source);
      return JSON.parse(m?.Body ?? 'null') as unknown;
    };
    const viaFiles = [
      '--task-token',
      `file://${join(dir, 'token.txt')}`,
      '--task-output',
      `file://${join(dir, 'out.json')}`,
    ];
    const withOutputFormat = [...viaFiles, '--output', 'json'];
    const viaYaml = ['--cli-input-yaml', `file://${join(dir, 'in.yaml')}`];
    for (const args of [viaFiles, withOutputFormat, viaYaml]) {
      const aws = (await awsCliBody(args, 'send-task-success')) as object;
      expect(await published('send-task-success', args)).toEqual({ ...aws, kind: 'success' });
    }
    const heartbeat = ['--cli-input-json', JSON.stringify({ taskToken: token })];
    const aws = (await awsCliBody(heartbeat, 'send-task-heartbeat')) as object;
    expect(await published('send-task-heartbeat', heartbeat)).toEqual({ ...aws, kind: 'heartbeat' });
  });

  it('on a FIFO queue, repeated heartbeats all arrive while a repeated success is deduplicated', async () => {
    const fifo = await emu.sqs.createQueue('cli-kinds.fifo', { FifoQueue: 'true' });
    const env = { SOURCE_QUEUE_URL: fifo };
    for (let i = 0; i < 2; i += 1) {
      const beat = await cli(['send-task-heartbeat', '--task-token', 'tok', '--message-group-id', 'g'], env);
      expect(beat.code, beat.stderr).toBe(0);
      const done = await cli(
        ['send-task-success', '--task-token', 'tok', '--task-output', '{}', '--message-group-id', 'g'],
        env,
      );
      expect(done.code, done.stderr).toBe(0);
    }
    const ready = emu.sqs.server.inspectQueue('cli-kinds.fifo')?.messages.ready ?? [];
    const bodies = ready.map((m) => (JSON.parse(m.body) as { kind: string }).kind);
    expect(bodies.sort()).toEqual(['heartbeat', 'heartbeat', 'success']);
  });

  it.runIf(relayKnowsSuccess)('a published success completes the execution with its output', async () => {
    const source = await emu.sqs.createQueue('cli-success-source');
    const dlq = await emu.sqs.createQueue('cli-success-dlq');
    const machine = await createActivityMachine(emu.sfn.client, 'cli-success');
    const [task] = await startExecutionsWithTokens(emu.sfn.client, machine, 1);
    const output = JSON.stringify({ orderId: 42, items: ['a', 'b'] });
    const sent = await cli(['send-task-success', '--task-token', task?.token ?? '', '--task-output', output], {
      SOURCE_QUEUE_URL: source,
    });
    expect(sent.code, sent.stderr).toBe(0);
    const service = await startInProcess(emu, { source, dlq }, { CALLBACK_KINDS: 'failure,success' });
    try {
      const done = await waitFor('the execution to succeed', async () => {
        const d = await emu.sfn.client.send(new DescribeExecutionCommand({ executionArn: task?.executionArn ?? '' }));
        return d.status === 'SUCCEEDED' ? d : undefined;
      });
      expect(JSON.parse(done.output ?? 'null')).toEqual(JSON.parse(output));
    } finally {
      await service.stop();
    }
  });
});

describe('sfn-relay validate', () => {
  it.runIf(relayKnowsSuccess)('names the kind of each valid body', async () => {
    const input = [
      '{"taskToken":"abc","error":"E"}',
      '{"taskToken":"abc","output":"{}"}',
      '{"taskToken":"abc","kind":"heartbeat"}',
      JSON.stringify({ Type: 'Notification', Message: '{"taskToken":"abc","output":"1","kind":"success"}' }),
    ].join('\n');
    const r = await runCli(emu.sqs.endpoint, ['validate', '-'], {}, input);
    expect(r).toMatchObject({
      code: 0,
      stdout: [
        'line 1: valid failure (plain)',
        'line 2: valid success (plain)',
        'line 3: valid heartbeat (plain)',
        'line 4: valid success (sns)',
        '',
      ].join('\n'),
    });
  });
});
