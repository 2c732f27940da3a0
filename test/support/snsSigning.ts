/**
 * SNS signatures of the test's own: an RSA key and a self-signed certificate (openssl), and
 * notifications signed the way SNS signs them, for SNS_SIGNING_CERT_FILE. fauxqs' SNS signs with
 * the literal "EXAMPLE", so a verified path needs these.
 */

import { randomUUID, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringToSign } from '../../src/admission/snsSignature.js';
import { requireBinary } from './binaries.js';
import { selfSigned } from './certs.js';
import { tempDir } from './tempDir.js';

export interface SigningCert {
  certFile: string;
  certPem: string;
  keyPem: string;
}

/** A signing certificate of the test's own; `commonName` as SNS names its certificates unless given. */
export function makeSigningCert(commonName = 'sns.amazonaws.com'): SigningCert {
  requireBinary('openssl');
  const dir = tempDir('relay-sns-cert-');
  selfSigned(dir, 'sns', commonName);
  return {
    certFile: join(dir, 'sns.pem'),
    certPem: readFileSync(join(dir, 'sns.pem'), 'utf8'),
    keyPem: readFileSync(join(dir, 'sns.key'), 'utf8'),
  };
}

export const CERT_URL =
  'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem';

/** An SNS notification of `message` from `topicArn`, signed with `keyPem` (SignatureVersion 1 or 2). */
export function signedNotification(
  message: string,
  topicArn: string,
  keyPem: string,
  options: { version?: '1' | '2'; subject?: string } = {},
): Record<string, string> {
  const version = options.version ?? '2';
  const n: Record<string, string> = {
    Type: 'Notification',
    MessageId: randomUUID(),
    TopicArn: topicArn,
    Message: message,
    Timestamp: new Date().toISOString(),
    SignatureVersion: version,
    SigningCertURL: CERT_URL,
    UnsubscribeURL: `https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${topicArn}:x`,
  };
  if (options.subject !== undefined) n.Subject = options.subject;
  const canonical = stringToSign(n);
  if (!canonical.ok) throw new Error(`cannot sign: ${canonical.field}`);
  n.Signature = sign(version === '1' ? 'sha1' : 'sha256', Buffer.from(canonical.text), keyPem).toString('base64');
  return n;
}
