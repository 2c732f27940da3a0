/** The send-task commands' inputs beyond the API parameters: the input document, trace context, CloudEvent wrapping. */
import { type Context, context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { parse as parseYaml } from 'yaml';
import { UsageError } from './common.js';
import { stringParameter } from './paramfile.js';

export interface PublishCliOptions {
  queueUrl?: string;
  messageGroupId?: string;
  messageDeduplicationId?: string;
  cloudeventSource?: string;
  cloudeventType?: string;
}

/** `--cli-input-json` / `--cli-input-yaml`, checked as the AWS CLI checks them against the API's `keys`. */
export function readCliInput(
  option: '--cli-input-json' | '--cli-input-yaml',
  value: string,
  keys: readonly string[],
): Record<string, string | null> {
  const text = stringParameter(option, option.slice(2), value);
  let parsed: unknown;
  try {
    parsed = option === '--cli-input-json' ? JSON.parse(text) : parseYaml(text);
  } catch {
    throw new UsageError(`${option} is not valid ${option === '--cli-input-json' ? 'JSON' : 'YAML'}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`${option} must be a ${option === '--cli-input-json' ? 'JSON' : 'YAML'} object`);
  }
  const unknown = Object.keys(parsed).filter((k) => !keys.includes(k));
  if (unknown.length > 0) {
    throw new UsageError(
      `Parameter validation failed: Unknown parameter in input: "${unknown[0]}", must be one of: ${keys.join(', ')}`,
    );
  }
  for (const [k, v] of Object.entries(parsed)) {
    if (v !== null && typeof v !== 'string') {
      throw new UsageError(
        `Parameter validation failed: Invalid type for parameter ${k}, value: ${JSON.stringify(v)}, valid types: string`,
      );
    }
  }
  return parsed as Record<string, string | null>;
}

/**
 * The caller's trace context: a script that runs inside a trace passes it the way CI systems and
 * `otel-cli` do, as TRACEPARENT / TRACESTATE in the environment. The event carries it as message
 * attributes, so the relay's span links back to the caller.
 */
export function callerContext(): Context {
  const traceparent = process.env.TRACEPARENT;
  if (traceparent === undefined || traceparent === '') return context.active();
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const carrier: Record<string, string> = { traceparent };
  if (process.env.TRACESTATE) carrier.tracestate = process.env.TRACESTATE;
  return propagation.extract(ROOT_CONTEXT, carrier);
}

export function cloudEventOption(o: PublishCliOptions): { source: string; type?: string } | undefined {
  if (o.cloudeventSource === undefined) {
    if (o.cloudeventType !== undefined) throw new UsageError('--cloudevent-type needs --cloudevent-source');
    return undefined;
  }
  const source = stringParameter('--cloudevent-source', 'source', o.cloudeventSource);
  if (source === '') throw new UsageError('--cloudevent-source must not be empty');
  if (o.cloudeventType === undefined) return { source };
  const type = stringParameter('--cloudevent-type', 'type', o.cloudeventType);
  if (type === '') throw new UsageError('--cloudevent-type must not be empty');
  return { source, type };
}
