/** The emulators one test file shares: SQS, Step Functions, and the recording proxy in front of it. */
import { afterAll, beforeAll } from 'vitest';
import { type SfnEmulator, type SqsEmulator, startSfn, startSqs } from './emulators.js';
import { type SfnProxy, startSfnProxy } from './sfnProxy.js';

export interface Emulators {
  sqs: SqsEmulator;
  sfn: SfnEmulator;
  /** Between the relay and `sfn`: records every call, injects faults on request. */
  proxy: SfnProxy;
}

/** Starts them before the file's tests and stops them after (after the file's own afterAll hooks). */
export function useEmulators(): Emulators {
  const emu = {} as Emulators;
  beforeAll(async () => {
    [emu.sqs, emu.sfn] = await Promise.all([startSqs(), startSfn()]);
    emu.proxy = await startSfnProxy(emu.sfn.endpoint);
  });
  afterAll(async () => {
    await emu.proxy?.stop();
    await Promise.all([emu.sqs?.stop(), emu.sfn?.stop()]);
  });
  return emu;
}
