/**
 * The chart and the callback kinds (issue 25): `config.callbackKinds` and the heartbeat settings
 * reach the relay's environment, the schema refuses what the relay would, and the release notes
 * name exactly the Step Functions actions the enabled kinds need. A real helm v4, offline.
 */
import { describe, expect, it } from 'vitest';
import { helm, type K8sObject, render } from '../support/helm.js';

const QUEUES = {
  sourceQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/task-failures',
  dlqUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/task-failures-dlq',
};

function envOf(config: Record<string, unknown>): Map<string, string | undefined> {
  const deployment = render({ config: { ...QUEUES, ...config } }).find((o) => o.kind === 'Deployment') as K8sObject;
  const env = deployment.spec.template.spec.containers[0].env as { name: string; value?: string }[];
  return new Map(env.map((e) => [e.name, e.value]));
}

/** The NOTES `helm install` prints, rendered offline (`--dry-run=client`). */
function notes(config: Record<string, unknown>): string {
  const r = helm(['install', 'relay', '--dry-run=client', '--namespace', 'failures'], {
    config: { ...QUEUES, ...config },
  });
  if (r.code !== 0) throw new Error(r.stderr.trim());
  return r.stdout.slice(r.stdout.indexOf('NOTES:'));
}

describe('the chart and the callback kinds', () => {
  it('passes the kinds and the heartbeat settings to the relay, failure only by default', () => {
    const defaults = envOf({});
    expect([
      defaults.get('CALLBACK_KINDS'),
      defaults.get('TASK_HEARTBEAT_MIN_INTERVAL_SECONDS'),
      defaults.get('SFN_HEARTBEAT_RATE_LIMIT_PER_SECOND'),
    ]).toEqual(['failure', '10', '50']);
    const set = envOf({
      callbackKinds: 'failure,success,heartbeat',
      taskHeartbeatMinIntervalSeconds: 30,
      heartbeatRateLimitPerSecond: 0,
    });
    expect([
      set.get('CALLBACK_KINDS'),
      set.get('TASK_HEARTBEAT_MIN_INTERVAL_SECONDS'),
      set.get('SFN_HEARTBEAT_RATE_LIMIT_PER_SECOND'),
    ]).toEqual(['failure,success,heartbeat', '30', '0']);
  });

  it('names in its notes exactly the Step Functions actions the enabled kinds need', () => {
    const actions = (kinds: string) =>
      [...notes({ callbackKinds: kinds }).matchAll(/states:SendTask\w+/g)].map((m) => m[0]);
    expect(actions('failure')).toEqual(['states:SendTaskFailure']);
    expect(actions('failure,success')).toEqual(['states:SendTaskFailure', 'states:SendTaskSuccess']);
    expect(actions('failure,heartbeat')).toEqual(['states:SendTaskFailure', 'states:SendTaskHeartbeat']);
    expect(actions('failure,success,heartbeat')).toEqual([
      'states:SendTaskFailure',
      'states:SendTaskSuccess',
      'states:SendTaskHeartbeat',
    ]);
  });

  it('refuses an unknown kind and out-of-range heartbeat settings, naming the value', () => {
    const refused = (config: Record<string, unknown>) => {
      const r = helm(['template', 'relay'], { config: { ...QUEUES, ...config } });
      expect(r.code, JSON.stringify(config)).not.toBe(0);
      return r.stderr;
    };
    expect(refused({ callbackKinds: 'failure,sucess' })).toMatch(/callbackKinds/);
    expect(refused({ callbackKinds: 'failure, success' })).toMatch(/callbackKinds/);
    expect(refused({ callbackKinds: '' })).toMatch(/callbackKinds/);
    // The relay refuses a list without failure at start-up: the chart refuses it before a pod crash-loops.
    expect(refused({ callbackKinds: 'success' })).toMatch(/callbackKinds/);
    expect(refused({ callbackKinds: 'heartbeat,success' })).toMatch(/callbackKinds/);
    expect(refused({ taskHeartbeatMinIntervalSeconds: 0 })).toMatch(/taskHeartbeatMinIntervalSeconds/);
    expect(refused({ heartbeatRateLimitPerSecond: -1 })).toMatch(/heartbeatRateLimitPerSecond/);
  });
});
