import { describe, expect, it } from 'vitest';
import { BoundedCache } from '../../src/admission/boundedCache.js';
import { snsCertUrl } from '../../src/admission/snsCertUrl.js';

const PEM = 'SimpleNotificationService-0123456789abcdef0123456789abcdef.pem';

/** [SigningCertURL, accepted] — the way AWS's validators take them (issue 22). */
const TABLE: [string, boolean][] = [
  [`https://sns.us-east-1.amazonaws.com/${PEM}`, true],
  [`https://sns.eu-west-1.amazonaws.com/${PEM}`, true],
  [`https://sns.ap-southeast-5.amazonaws.com/${PEM}`, true],
  [`https://sns.us-gov-west-1.amazonaws.com/${PEM}`, true],
  [`https://sns.il-central-1.amazonaws.com/${PEM}`, true],
  [`https://sns.ca-west-1.amazonaws.com/${PEM}`, true],
  [`https://sns.cn-north-1.amazonaws.com.cn/${PEM}`, true],
  [`https://sns.cn-northwest-1.amazonaws.com.cn/${PEM}`, true],
  // An S3 bucket named "sns", not SNS.
  [`https://sns.s3.amazonaws.com/${PEM}`, false],
  [`https://sns.s3-accelerate.amazonaws.com/${PEM}`, false],
  [`https://sns.s3-website-us-east-1.amazonaws.com/${PEM}`, false],
  [`https://sns.s3-external-1.amazonaws.com/${PEM}`, false],
  [`https://sns.s3.us-east-1.amazonaws.com/${PEM}`, false],
  // Regions not in AWS's form, or under the wrong partition's domain.
  [`https://sns.localhost.amazonaws.com/${PEM}`, false],
  [`https://sns.us-east.amazonaws.com/${PEM}`, false],
  [`https://sns.cn-north-1.amazonaws.com/${PEM}`, false],
  [`https://sns.us-east-1.amazonaws.com.cn/${PEM}`, false],
  // Not https, not canonical, or carrying more than a path.
  [`http://sns.us-east-1.amazonaws.com/${PEM}`, false],
  [`HTTPS://SNS.US-EAST-1.AMAZONAWS.COM/${PEM}`, false],
  [`https:sns.us-east-1.amazonaws.com/${PEM}`, false],
  [`https://sns.us-east-1.amazonaws.com./${PEM}`, false],
  [`https://sns.us-east-1.amazonaws.com:8443/${PEM}`, false],
  [`https://user@sns.us-east-1.amazonaws.com/${PEM}`, false],
  [`https://sns.us-east-1.amazonaws.com@attacker.example/${PEM}`, false],
  [`https://sns.us-east-1.amazonaws.com/${PEM}?x=1`, false],
  [`https://sns.us-east-1.amazonaws.com/${PEM}#x`, false],
  // An empty query or fragment parses to none: refused by the text.
  [`https://sns.us-east-1.amazonaws.com/${PEM}?`, false],
  [`https://sns.us-east-1.amazonaws.com/${PEM}#`, false],
  [`https://sns.us-east-1.amazonaws.com/${PEM}?#`, false],
  [`https://sns.us-east-1.amazonaws.com/other/${PEM}`, false],
  [`https://sns.us-east-1.amazonaws.com/%53impleNotificationService-1.pem`, false],
  [`https://sns.us-east-1.amazonaws.com.attacker.example/${PEM}`, false],
  [`https://attacker.example/${PEM}`, false],
  [`https://xsns.us-east-1.amazonaws.com/${PEM}`, false],
  ['', false],
  ['not a url', false],
];

describe('SNS certificate URLs', () => {
  it(`accept exactly sns.<region>.amazonaws.com[.cn] over https (${TABLE.length} cases)`, () => {
    const wrong = TABLE.filter(([url, accepted]) => snsCertUrl(url).ok !== accepted);
    expect(wrong).toEqual([]);
    expect(TABLE.filter(([, a]) => a).length).toBeGreaterThanOrEqual(8);
  });

  it('name the certificate names SNS signs with in each partition', () => {
    expect(snsCertUrl(`https://sns.eu-west-1.amazonaws.com/${PEM}`)).toMatchObject({
      names: expect.arrayContaining(['sns.amazonaws.com', 'sns-signing.eu-west-1.amazonaws.com']),
    });
    expect(snsCertUrl(`https://sns.cn-north-1.amazonaws.com.cn/${PEM}`)).toMatchObject({
      names: expect.arrayContaining(['sns.amazonaws.com.cn', 'sns-cn-north-1.amazonaws.com.cn']),
    });
    expect(snsCertUrl(`https://sns.us-gov-east-1.amazonaws.com/${PEM}`)).toMatchObject({
      names: expect.arrayContaining(['sns-us-gov-west-1.amazonaws.com']),
    });
    expect(snsCertUrl(`https://sns.s3.amazonaws.com/${PEM}`)).toMatchObject({
      ok: false,
      detail: expect.stringContaining('the host is not sns.<region>.amazonaws.com'),
    });
  });
});

describe('a refused SigningCertURL', () => {
  const TOKEN = 'AAAAKgAAAAIAAAAAAAAAAXJ1bmF3YXlUb2tlbnRoYXRtdXN0bm90bGVhaw';
  it.each([
    [`https://example.com/${TOKEN}`, 'on host example.com'],
    [`https://example.com/x.pem?t=${TOKEN}`, 'on host example.com'],
    [
      `https://sns.us-east-1.amazonaws.com/SimpleNotificationService-${TOKEN}.pem#`,
      'on host sns.us-east-1.amazonaws.com',
    ],
    [`http://${TOKEN}.example.com/`, 'on host <redacted>.example.com'],
    [`not a url ${TOKEN}`, 'that is not a URL'],
    [`https://example.com/${TOKEN.repeat(40)}`, 'on host example.com'],
  ])('names the host only, never the sender-written text (case %#)', (url, host) => {
    const checked = snsCertUrl(url);
    expect(checked.ok).toBe(false);
    const detail = checked.ok ? '' : checked.detail;
    expect(detail).toContain(`the SigningCertURL ${host} is not an SNS certificate URL`);
    expect(detail).not.toContain(TOKEN.slice(0, 20));
  });
});

describe('the bounded cache', () => {
  it('keeps at most maxEntries, drops the least recently used, and forgets after ttlMs', () => {
    let clock = 0;
    const cache = new BoundedCache<number>({ maxEntries: 2, ttlMs: 100, now: () => clock });
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1);
    cache.set('c', 3);
    expect([cache.get('a'), cache.get('b'), cache.get('c'), cache.size]).toEqual([1, undefined, 3, 2]);
    clock = 100;
    expect([cache.get('a'), cache.size]).toEqual([undefined, 1]);
  });
});
