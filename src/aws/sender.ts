/**
 * The Step Functions client for every callback kind (SendTaskFailure, SendTaskSuccess,
 * SendTaskHeartbeat, by the event's kind): the lean one (default) or the AWS SDK's (`SFN_CLIENT=sdk`), loaded
 * off the start path, on the first message (tens of milliseconds, once): neither is needed to
 * become ready, and an idle relay does not hold it. The SDK is loaded only when chosen: it is tens
 * of MiB the lean path does not need.
 */

import type { CallbackEvent } from '../core/event.js';
import type { SendResult } from './stepFunctions.js';

export interface Sender {
  send(event: CallbackEvent): Promise<SendResult>;
  close(): Promise<void>;
}

/** What the sender reads of the configuration (the service passes its Config). */
export interface SenderSettings {
  sfnClient: 'lean' | 'sdk';
  region: string;
  sfnEndpoint: string | undefined;
  sfnMaxAttempts: number;
  sfnRetryMode: 'standard' | 'adaptive';
  sfnRequestTimeoutMs: number;
}

interface Client {
  send: (e: CallbackEvent) => Promise<SendResult>;
  close: () => Promise<void>;
}

async function build(config: SenderSettings): Promise<Client> {
  if (config.sfnClient === 'lean') {
    const [{ LeanSfnClient }, { defaultProvider }] = await Promise.all([
      import('./sfnHttp.js'),
      import('@aws-sdk/credential-provider-node'),
    ]);
    const client = new LeanSfnClient({
      region: config.region,
      endpoint: config.sfnEndpoint,
      maxAttempts: config.sfnMaxAttempts,
      requestTimeoutMs: config.sfnRequestTimeoutMs,
      credentials: defaultProvider(),
    });
    return { send: (e) => client.send(e), close: () => client.close() };
  }
  const { createSfnClient, sendCallback } = await import('./stepFunctions.js');
  const client = createSfnClient({
    region: config.region,
    endpoint: config.sfnEndpoint,
    maxAttempts: config.sfnMaxAttempts,
    retryMode: config.sfnRetryMode,
    requestTimeoutMs: config.sfnRequestTimeoutMs,
  });
  return { send: (e) => sendCallback(client, e), close: async () => client.destroy() };
}

export function createSender(config: SenderSettings): Sender {
  let client: Promise<Client> | undefined;
  const load = () => {
    client ??= build(config);
    return client;
  };
  return {
    send: async (e) => (await load()).send(e),
    close: async () => {
      if (client !== undefined) await (await client).close();
    },
  };
}
