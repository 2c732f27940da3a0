/** Real tools a test uses as the reference (the AWS CLI v2): found, or one line naming the Debian package. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** The AWS CLI v2 from Debian's `awscli` (a v1 from elsewhere may come first on PATH). */
export const AWS_CLI_V2 = '/usr/bin/aws';

export function requireAwsCliV2(): string {
  if (!existsSync(AWS_CLI_V2)) throw new Error(`${AWS_CLI_V2} is missing: apt-get install awscli (the AWS CLI v2)`);
  const version = execFileSync(AWS_CLI_V2, ['--version'], { encoding: 'utf8' });
  if (!version.startsWith('aws-cli/2.')) throw new Error(`${AWS_CLI_V2} is not the AWS CLI v2: ${version.trim()}`);
  return AWS_CLI_V2;
}
