/**
 * Where an SNS signing certificate may come from, the way AWS's own validators take it: exactly
 * `https://sns.<region>.amazonaws.com/SimpleNotificationService-<id>.pem` (`.amazonaws.com.cn` for
 * the China regions), the region in the form AWS names regions, the URL in canonical form (no
 * user, port, query or fragment; nothing a URL parser would rewrite). `sns.s3.amazonaws.com` and
 * its kin are an S3 bucket named `sns`, not SNS, and are refused. The names a certificate from
 * that host must carry (subject or SAN) follow the AWS SDK for Java v2's SnsHostProvider:
 * `sns.amazonaws.com` in the commercial regions, `sns-<region>…` or `sns-signing.<region>…` in the
 * GovCloud, China and opt-in regions.
 */
import { scrub } from '../core/secret.js';

/** `us-east-1`, `eu-central-2`, `ap-southeast-5`, `us-gov-west-1`, `cn-northwest-1`, `il-central-1`… */
export const AWS_REGION =
  /^[a-z]{2}(-gov|-iso[a-z]?)?-(central|north|south|east|west|northeast|northwest|southeast|southwest)-[1-9][0-9]?$/;

const HOST = /^sns\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/;
const PATH = /^\/SimpleNotificationService-[A-Za-z0-9]{1,64}\.pem$/;

export type CertUrl = { ok: true; url: string; names: string[] } | { ok: false; detail: string };

/**
 * The sender wrote the URL: a detail names its host only (when it parses), scrubbed, never the
 * path, query or anything else a token could ride in.
 */
export function certHost(raw: string): string {
  try {
    return `on host ${scrub(new URL(raw).hostname, undefined, 100)}`;
  } catch {
    return 'that is not a URL';
  }
}

const refuse = (raw: string, why: string): CertUrl => ({
  ok: false,
  detail: `the SigningCertURL ${certHost(raw)} is not an SNS certificate URL: ${why}`,
});

export function snsCertUrl(raw: string): CertUrl {
  if (raw.length > 2048) return refuse(raw, 'too long');
  // An empty query or fragment ("…pem?", "…pem#") parses to none: look at the text itself.
  if (/[?#]/.test(raw)) return refuse(raw, 'has a query or fragment');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse(raw, 'not a URL');
  }
  if (url.protocol !== 'https:') return refuse(raw, 'not https');
  if (url.href !== raw) return refuse(raw, 'not in canonical form');
  if (url.username !== '' || url.password !== '' || url.port !== '' || url.search !== '' || url.hash !== '') {
    return refuse(raw, 'has a user, port, query or fragment');
  }
  const host = HOST.exec(url.hostname);
  const region = host?.[1] ?? '';
  if (host === null || !AWS_REGION.test(region)) return refuse(raw, 'the host is not sns.<region>.amazonaws.com');
  const china = region.startsWith('cn-');
  const domain = china ? 'amazonaws.com.cn' : 'amazonaws.com';
  if (china !== (host[2] === '.cn')) return refuse(raw, `the ${region} SNS host is under ${domain}`);
  if (!PATH.test(url.pathname)) return refuse(raw, 'the path is not /SimpleNotificationService-<id>.pem');
  const names = [`sns.${domain}`, `sns-${region}.${domain}`, `sns-signing.${region}.${domain}`];
  // Both GovCloud regions sign with the us-gov-west-1 certificate.
  if (region.startsWith('us-gov-')) names.push(`sns-us-gov-west-1.${domain}`);
  return { ok: true, url: url.href, names };
}
