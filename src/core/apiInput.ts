/**
 * The Step Functions request a callback event becomes: the operation (KIND_RULES) and its input,
 * in the members and order of the SDK's input shapes (the lean client's body must be the SDK's,
 * byte for byte: test/unit/sfnHttp.test.ts). The relay's own `kind` never goes on the wire.
 */
import type { CallbackEvent } from './event.js';
import { KIND_RULES, type KindRule } from './kinds.js';

export interface ApiRequest {
  operation: KindRule['operation'];
  input: { taskToken: string; error?: string; cause?: string; output?: string };
}

export function apiRequest(event: CallbackEvent): ApiRequest {
  const operation = KIND_RULES[event.kind].operation;
  if (event.kind === 'success') return { operation, input: { taskToken: event.taskToken, output: event.output } };
  if (event.kind === 'heartbeat') return { operation, input: { taskToken: event.taskToken } };
  const input: ApiRequest['input'] = { taskToken: event.taskToken };
  if (event.error !== undefined) input.error = event.error;
  if (event.cause !== undefined) input.cause = event.cause;
  return { operation, input };
}
