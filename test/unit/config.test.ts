import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { loadConfig } from '../../src/service/config.js';

const minimal = {
  SOURCE_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/failures',
  DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/failures-dlq',
};

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

describe('loadConfig', () => {
  it('applies the documented defaults and takes the region from the queue URL', () => {
    const c = loadConfig(minimal);
    expect(c).toMatchObject({
      region: 'eu-west-1',
      httpPort: 8080,
      pollers: 4,
      batchSize: 10,
      visibilityTimeoutSeconds: 30,
      maxReceives: 5,
      redis: undefined,
      overlongText: 'truncate',
      rateLimitPerSecond: 250,
    });
  });

  it('names every missing or bad variable', () => {
    expect(problems({})).toEqual(['SOURCE_QUEUE_URL is required', 'DLQ_URL is required']);
    const p = problems({
      ...minimal,
      HTTP_PORT: 'eighty',
      BATCH_SIZE: '11',
      REDIS_URL: 'http://secret@x',
      LOG_LEVEL: 'loud',
    });
    expect(p.map((s) => s.split('=')[0])).toEqual(['REDIS_URL', 'HTTP_PORT', 'LOG_LEVEL', 'BATCH_SIZE']);
    // A Redis URL may hold a password: never echoed.
    expect(p.join(' ')).not.toContain('secret');
  });

  it('checks settings against each other', () => {
    expect(problems({ ...minimal, VISIBILITY_TIMEOUT_SECONDS: '10', HEARTBEAT_INTERVAL_SECONDS: '10' })[0]).toMatch(
      /^HEARTBEAT_INTERVAL_SECONDS=.*must be less than VISIBILITY_TIMEOUT_SECONDS/,
    );
  });

  it('refuses a standard DLQ behind a FIFO source, as the opposite pairing: one problem naming DLQ_URL', () => {
    const fifoSource = { ...minimal, SOURCE_QUEUE_URL: `${minimal.SOURCE_QUEUE_URL}.fifo` };
    const p = problems(fifoSource);
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^DLQ_URL=.* is a standard queue behind a FIFO SOURCE_QUEUE_URL: use a FIFO DLQ/);
    expect(problems({ ...fifoSource, DLQ_URL: `${minimal.DLQ_URL}.fifo` })).toEqual([]);
  });

  it('takes the Redis shape from REDIS_URL, REDIS_CLUSTER and the TLS/AUTH settings, never echoing secrets', () => {
    expect(
      loadConfig({ ...minimal, REDIS_URL: 'rediss://u:pw@cfg.cache.amazonaws.com:6379', REDIS_CLUSTER: 'true' }).redis,
    ).toEqual({
      url: 'rediss://u:pw@cfg.cache.amazonaws.com:6379',
      cluster: true,
      caFile: undefined,
      username: undefined,
      password: undefined,
    });
    expect(problems({ ...minimal, REDIS_CLUSTER: 'true' })).toEqual(['REDIS_CLUSTER="true" needs REDIS_URL']);
    expect(problems({ ...minimal, REDIS_PASSWORD: 'hunter2' })).toEqual([
      'REDIS_PASSWORD="<redacted>" needs REDIS_URL',
    ]);
    expect(problems({ ...minimal, REDIS_URL: 'redis://h:6379', REDIS_TLS_CA_FILE: '/ca.pem' })).toEqual([
      'REDIS_TLS_CA_FILE="/ca.pem" needs a rediss:// REDIS_URL (TLS)',
    ]);
    expect(problems({ ...minimal, REDIS_URL: 'redis://h:6379', REDIS_CLUSTER: 'yes' })[0]).toMatch(
      /^REDIS_CLUSTER="yes"/,
    );
  });

  it('accepts emulator queue URLs that are not WHATWG URLs', () => {
    const url = 'http://sqs.us-east-1.127.0.0.1:4566/000000000000/q';
    expect(loadConfig({ SOURCE_QUEUE_URL: url, DLQ_URL: url }).region).toBe('us-east-1');
  });

  it('reads the callback kinds and the heartbeat settings, failure always on, each bad value named', () => {
    expect(loadConfig(minimal)).toMatchObject({
      callbackKinds: new Set(['failure']),
      taskHeartbeatMinIntervalSeconds: 10,
      heartbeatRateLimitPerSecond: 50,
    });
    const all = loadConfig({ ...minimal, CALLBACK_KINDS: ' heartbeat, failure,success ,' });
    expect([...all.callbackKinds]).toEqual(['failure', 'success', 'heartbeat']);
    expect(problems({ ...minimal, CALLBACK_KINDS: 'success' })).toEqual([
      'CALLBACK_KINDS="success" must include failure (it cannot be turned off)',
    ]);
    expect(problems({ ...minimal, CALLBACK_KINDS: 'failure,sucess,Heartbeat' })).toEqual([
      'CALLBACK_KINDS="failure,sucess,Heartbeat" names "sucess", "Heartbeat": kinds are failure, success, heartbeat',
    ]);
    expect(
      problems({ ...minimal, TASK_HEARTBEAT_MIN_INTERVAL_SECONDS: '0', SFN_HEARTBEAT_RATE_LIMIT_PER_SECOND: '-1' }),
    ).toEqual([
      'TASK_HEARTBEAT_MIN_INTERVAL_SECONDS="0" must be at least 1',
      'SFN_HEARTBEAT_RATE_LIMIT_PER_SECOND="-1" must be at least 0',
    ]);
    expect(loadConfig({ ...minimal, SFN_HEARTBEAT_RATE_LIMIT_PER_SECOND: '0' }).heartbeatRateLimitPerSecond).toBe(0);
  });
});
