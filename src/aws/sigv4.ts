/**
 * AWS Signature Version 4 for the lean Step Functions client: POST / with a JSON body, keeping the
 * derived signing key for its day (the SDK re-derives it per request). Pinned to the SDK's own
 * signatures by test/unit/sfnHttp.test.ts.
 */
import { createHmac, createSecretKey, hash, type KeyObject } from 'node:crypto';
import type { AwsCredentialIdentity } from '@aws-sdk/types';

export const CONTENT_TYPE = 'application/x-amz-json-1.0';
const SERVICE = 'states';

/** `20261125T130501Z` */
export function amzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** SigV4 for POST / with a JSON body, keeping the derived signing key for its day. */
export class Signer {
  readonly #region: string;
  #keyFor = '';
  #key: KeyObject = createSecretKey(Buffer.alloc(1));

  constructor(region: string) {
    this.#region = region;
  }

  #signingKey(secret: string, day: string): KeyObject {
    const id = `${secret}\n${day}`;
    if (id !== this.#keyFor) {
      const kDate = createHmac('sha256', `AWS4${secret}`).update(day).digest();
      const kRegion = createHmac('sha256', kDate).update(this.#region).digest();
      const kService = createHmac('sha256', kRegion).update(SERVICE).digest();
      // A KeyObject, so each signature does not convert the key again.
      this.#key = createSecretKey(createHmac('sha256', kService).update('aws4_request').digest());
      this.#keyFor = id;
    }
    return this.#key;
  }

  /** Headers for the request: the signed ones plus `authorization`. */
  sign(
    host: string,
    target: string,
    body: string,
    creds: AwsCredentialIdentity,
    nowMs: number,
  ): Record<string, string> {
    const date = amzDate(nowMs);
    const day = date.slice(0, 8);
    const headers: Record<string, string> = {
      'content-type': CONTENT_TYPE,
      host,
      'x-amz-date': date,
      ...(creds.sessionToken === undefined ? {} : { 'x-amz-security-token': creds.sessionToken }),
      'x-amz-target': target,
    };
    const names = Object.keys(headers); // already in sorted order
    const canonical = [
      'POST',
      '/',
      '',
      ...names.map((n) => `${n}:${headers[n]}`),
      '',
      names.join(';'),
      hash('sha256', body, 'hex'),
    ].join('\n');
    const scope = `${day}/${this.#region}/${SERVICE}/aws4_request`;
    const toSign = `AWS4-HMAC-SHA256\n${date}\n${scope}\n${hash('sha256', canonical, 'hex')}`;
    const signature = createHmac('sha256', this.#signingKey(creds.secretAccessKey, day)).update(toSign).digest('hex');
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
    return headers;
  }
}
