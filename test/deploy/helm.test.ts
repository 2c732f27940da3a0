/**
 * No `helm` binary here, so the chart is checked by what a reviewer would check: values against
 * the schema, every `.Values` path used by a template exists, every setting of the relay can be set,
 * and each template is well-formed YAML once its template actions are stripped.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { ENV_NAMES } from '../../src/config.js';

const CHART = join(import.meta.dirname, '../../helm/sfn-failure-relay');
const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Record<string, unknown>;
const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as object;
const templateNames = readdirSync(join(CHART, 'templates')).filter((f) => f.endsWith('.yaml'));
const templates = new Map(templateNames.map((f) => [f, readFileSync(join(CHART, 'templates', f), 'utf8')]));
const allTemplateText = [...templates.values(), readFileSync(join(CHART, 'templates/NOTES.txt'), 'utf8')].join('\n');

const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
const withQueues = (v: Record<string, unknown>): Record<string, unknown> => ({
  ...v,
  config: {
    ...(v.config as object),
    sourceQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/task-failures',
    dlqUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/task-failures-dlq',
  },
});

function errorsOf(v: unknown): string {
  validate(v);
  return JSON.stringify(validate.errors ?? []);
}

describe('values.schema.json', () => {
  it('accepts values.yaml once the queue URLs are given', () => {
    expect(validate(withQueues(values)), errorsOf(withQueues(values))).toBe(true);
  });

  it('rejects a missing queue URL', () => {
    expect(validate(values)).toBe(false);
    expect(errorsOf(values)).toContain('/config/sourceQueueUrl');
    const { sourceQueueUrl: _, ...rest } = withQueues(values).config as Record<string, unknown>;
    expect(validate({ ...values, config: rest })).toBe(false);
  });

  it('rejects a wrong value type', () => {
    const v = withQueues(values);
    expect(validate({ ...v, replicaCount: 'two' })).toBe(false);
    expect(validate({ ...v, config: { ...(v.config as object), pollers: '4' } })).toBe(false);
    expect(validate({ ...v, keda: { ...(v.keda as object), enabled: 'yes' } })).toBe(false);
    expect(validate({ ...v, config: { ...(v.config as object), typoSetting: 1 } })).toBe(false);
  });

  it('rejects KEDA and the HPA together, and KEDA without a region', () => {
    const v = withQueues(values);
    const keda = { ...(v.keda as object), enabled: true };
    const config = { ...(v.config as object), region: 'eu-west-1' };
    expect(validate({ ...v, config, keda }), errorsOf({ ...v, config, keda })).toBe(true);
    expect(validate({ ...v, config, keda, autoscaling: { ...(v.autoscaling as object), enabled: true } })).toBe(false);
    expect(validate({ ...v, keda })).toBe(false);
  });
});

describe('templates', () => {
  it('use only .Values paths that exist in values.yaml', () => {
    const used = new Set([...allTemplateText.matchAll(/\.Values\.([A-Za-z0-9_.]+)/g)].map((m) => m[1] ?? ''));
    expect(used.size).toBeGreaterThan(40);
    const missing = [...used].filter((path) => {
      let node: unknown = values;
      for (const key of path.split('.')) {
        if (typeof node !== 'object' || node === null || !(key in node)) return true;
        node = (node as Record<string, unknown>)[key];
      }
      return false;
    });
    expect(missing).toEqual([]);
  });

  it('can set every environment variable the relay reads', () => {
    const deployment = templates.get('deployment.yaml') ?? '';
    const unset = ENV_NAMES.filter((name) => !deployment.includes(`- name: ${name}\n`));
    expect(unset).toEqual([]);
    expect(deployment).toContain('extraEnv');
  });

  it('are well-formed YAML once template actions are stripped', () => {
    for (const [name, text] of templates) {
      const stripped = text
        .split('\n')
        // Lines that are only a template action render to nothing or to an indented block.
        .filter((line) => !/^\s*\{\{-?[^}]*-?\}\}\s*$/.test(line))
        .map((line) => line.replace(/\{\{-?[^}]*?-?\}\}/g, 'X'))
        .join('\n');
      const docs = parseAllDocuments(stripped);
      for (const doc of docs) {
        expect(doc.errors, `${name}: ${doc.errors.map((e) => e.message).join('; ')}`).toEqual([]);
        const obj = doc.toJS() as { apiVersion?: string; kind?: string } | null;
        if (obj === null) continue;
        expect(obj.apiVersion, name).toBeTruthy();
        expect(obj.kind, name).toBeTruthy();
      }
    }
  });

  it('harden the pod and derive the grace period from the drain deadline', () => {
    const deployment = templates.get('deployment.yaml') ?? '';
    expect(deployment).toContain('terminationGracePeriodSeconds: {{ include "relay.gracePeriodSeconds" . }}');
    expect(deployment).toMatch(/livenessProbe:\s+httpGet:\s+path: \/healthz/);
    expect(deployment).toMatch(/readinessProbe:\s+httpGet:\s+path: \/readyz/);
    expect(deployment).toContain('startupProbe:');
    expect(deployment).toContain('automountServiceAccountToken:');
    expect(values.podSecurityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(values.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect((values.serviceAccount as { automountToken: boolean }).automountToken).toBe(false);
  });

  it('scale with KEDA on the SQS queue with AWS pod identity, or with an HPA, never both', () => {
    const scaled = templates.get('scaledobject.yaml') ?? '';
    expect(scaled).toContain('type: aws-sqs-queue');
    expect(scaled).toMatch(/queueURL:.*queueLength:.*activationQueueLength:/s);
    expect(scaled).toMatch(/podIdentity:\s+provider: aws/);
    expect(templates.get('deployment.yaml')).toContain(
      'fail "keda.enabled and autoscaling.enabled are mutually exclusive',
    );
    expect(templates.get('serviceaccount.yaml')).toContain('eks.amazonaws.com/role-arn');
  });
});
