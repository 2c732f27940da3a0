/**
 * The AWS CLI's parameter files, for every parameter value: `file://PATH` is replaced by the
 * file's text (UTF-8, nothing stripped: a trailing newline stays, as in the AWS CLI), `fileb://PATH`
 * by its bytes — which, as in the AWS CLI v2, a string parameter refuses. `~` is expanded; a
 * relative path is relative to the working directory.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { UsageError } from './common.js';

function pathOf(value: string, prefix: string): string {
  const path = value.slice(prefix.length);
  return path.startsWith('~') ? `${homedir()}${path.slice(1)}` : path;
}

function read(option: string, value: string, prefix: string): Buffer {
  const path = pathOf(value, prefix);
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const reason = code === 'ENOENT' ? 'No such file or directory' : code;
    throw new UsageError(
      `Error parsing parameter '${option}': Unable to load paramfile ${value}: ${reason}: '${path}'`,
    );
  }
}

/**
 * The value of a string parameter, with `file://` and `fileb://` resolved as the AWS CLI v2 does.
 * `parameter` is the API name (`cause`), `option` the command-line name (`--cause`).
 */
export function stringParameter(option: string, parameter: string, value: string): string {
  if (value.startsWith('fileb://')) {
    read(option, value, 'fileb://');
    throw new UsageError(
      `Parameter validation failed: Invalid type for parameter ${parameter}: fileb:// gives bytes, ${parameter} is a string (use file://)`,
    );
  }
  if (!value.startsWith('file://')) return value;
  const bytes = read(option, value, 'file://');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError(
      `Error parsing parameter '${option}': Unable to load paramfile (${pathOf(value, 'file://')}), text contents could not be decoded. If this is a binary file, please use the fileb:// prefix instead of the file:// prefix.`,
    );
  }
}
