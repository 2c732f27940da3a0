/**
 * The producer side's check of a success's `output`, to the limits of the Step Functions
 * `SendTaskSuccess` API: a string holding JSON text of at most 262,144 UTF-8 bytes. The reasons are
 * the DLQ reasons the relay gives for the same faults (`output_missing`, `output_not_string`,
 * `output_not_json`, `output_too_large`). Never quotes the output: it may carry the task's data.
 *
 * TODO(issue-25 merge): the relay-side validator in src/core/event.ts checks the same; call it
 * from publishTaskSuccess and delete this file.
 */

/** SendTaskSuccess `output`: at most 256 KiB, counted in UTF-8 bytes. */
export const OUTPUT_MAX_BYTES = 262_144;

export type OutputReason = 'output_missing' | 'output_not_string' | 'output_not_json' | 'output_too_large';

export type OutputCheck = { ok: true; output: string } | { ok: false; reason: OutputReason; detail: string };

/** What a success carries: the shape `aws stepfunctions send-task-success --cli-input-json` takes. */
export interface TaskSuccess {
  taskToken: string;
  output: string;
}

/** What a heartbeat carries: the shape `aws stepfunctions send-task-heartbeat --cli-input-json` takes. */
export interface TaskHeartbeat {
  taskToken: string;
}

export function checkTaskOutput(output: unknown): OutputCheck {
  if (output === undefined || output === null)
    return { ok: false, reason: 'output_missing', detail: '"output" is missing' };
  if (typeof output !== 'string') {
    const got = Array.isArray(output) ? 'an array' : typeof output === 'object' ? 'an object' : `a ${typeof output}`;
    return {
      ok: false,
      reason: 'output_not_string',
      detail: `"output" must be a string holding JSON text, got ${got}`,
    };
  }
  // Cheap bound first: a UTF-16 code unit is at most 3 UTF-8 bytes.
  if (output.length * 3 > OUTPUT_MAX_BYTES) {
    const bytes = Buffer.byteLength(output, 'utf8');
    if (bytes > OUTPUT_MAX_BYTES) {
      return {
        ok: false,
        reason: 'output_too_large',
        detail: `"output" has ${bytes} bytes, the API allows ${OUTPUT_MAX_BYTES}`,
      };
    }
  }
  try {
    JSON.parse(output);
  } catch {
    return { ok: false, reason: 'output_not_json', detail: `"output" (${output.length} characters) is not JSON text` };
  }
  return { ok: true, output };
}
