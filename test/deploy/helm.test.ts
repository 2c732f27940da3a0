/**
 * The chart through a real helm v4: `helm lint --strict` and `helm template` for the combinations
 * operators use, every rendered object validated against the Kubernetes, KEDA and
 * prometheus-operator schemas (kubernetes-models) plus a strict check for unknown fields, and the
 * schema's refusals asserted from helm's own output. Offline, a few seconds.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ENV_NAMES, loadConfig } from '../../src/service/config.js';
import { shutdownBudgetSeconds } from '../../src/service/shutdown.js';
import { CHART, helm, type K8sObject, render } from '../support/helm.js';
import { unknownFields } from '../support/k8sStrict.js';

const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Record<string, unknown>;
const QUEUES = {
  sourceQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/task-failures',
  dlqUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/task-failures-dlq',
};

type Values = Record<string, unknown>;

/** Deep merge, for building value combinations. */
function merge(a: Values, b: Values): Values {
  const out: Values = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prior = out[k];
    out[k] =
      typeof v === 'object' && v !== null && !Array.isArray(v) && typeof prior === 'object' && prior !== null
        ? merge(prior as Values, v as Values)
        : v;
  }
  return out;
}

const COMBINATIONS: Record<string, Values> = {
  defaults: {},
  keda: { config: { region: 'eu-west-1' }, keda: { enabled: true } },
  'keda with roleArn': {
    config: { region: 'eu-west-1' },
    keda: { enabled: true, identityOwner: 'keda', roleArn: 'arn:aws:iam::123456789012:role/keda-sqs' },
  },
  hpa: { autoscaling: { enabled: true } },
  serviceMonitor: { serviceMonitor: { enabled: true } },
  'alerts and dashboard': {
    prometheusRule: { enabled: true, labels: { release: 'kube-prometheus-stack' } },
    dashboard: { enabled: true, folder: 'Queues' },
  },
  networkPolicy: { networkPolicy: { enabled: true } },
  'redis from secrets, cluster, TLS': {
    redis: {
      existingSecret: 'relay-redis',
      cluster: true,
      username: 'relay',
      passwordSecret: 'relay-redis-auth',
      tls: { caSecret: 'relay-redis-ca' },
    },
  },
  'sender allowlist': {
    senders: {
      allowedSenders: ['AROA3XFRBF535PLBIFPI4', 'AIDAJQABLZS4A3QDU576Q'],
      allowedSnsTopics: ['arn:aws:sns:eu-west-1:123456789012:task-failures'],
      allowedEventBridgeSources: ['com.example.orders'],
      allowedEventBridgeAccounts: ['123456789012'],
      allowedCloudEventSources: ['//orders/*'],
      trustQueuePolicy: true,
      signingCertSecret: 'sns-signing-certs',
    },
  },
  'otlp on': { otel: { tracesExporter: 'otlp', exporterEndpoint: 'http://otel-collector.observability:4318' } },
  irsa: { serviceAccount: { roleArn: 'arn:aws:iam::123456789012:role/sfn-failure-relay' } },
  'every callback kind': {
    config: {
      callbackKinds: 'failure,success,heartbeat',
      taskHeartbeatMinIntervalSeconds: 30,
      heartbeatRateLimitPerSecond: 20,
    },
  },
  'VPC endpoints': {
    config: {
      sqsEndpoint: 'https://vpce-0123-sqs.sqs.eu-west-1.vpce.amazonaws.com',
      sfnEndpoint: 'https://vpce-0123-states.states.eu-west-1.vpce.amazonaws.com',
    },
  },
};
COMBINATIONS['all together'] = Object.entries(COMBINATIONS)
  .filter(([name]) => name !== 'hpa' && name !== 'keda')
  .reduce((acc, [, v]) => merge(acc, v), {});

const withQueues = (v: Values): Values => merge(v, { config: QUEUES });

/** The model (module and interface) for each kind the chart renders. */
const MODELS: Record<string, [string, string]> = {
  'apps/v1/Deployment': ['kubernetes-models/apps/v1/Deployment', 'IDeployment'],
  'v1/Service': ['kubernetes-models/v1/Service', 'IService'],
  'v1/ServiceAccount': ['kubernetes-models/v1/ServiceAccount', 'IServiceAccount'],
  'v1/ConfigMap': ['kubernetes-models/v1/ConfigMap', 'IConfigMap'],
  'policy/v1/PodDisruptionBudget': ['kubernetes-models/policy/v1/PodDisruptionBudget', 'IPodDisruptionBudget'],
  'autoscaling/v2/HorizontalPodAutoscaler': [
    'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
    'IHorizontalPodAutoscaler',
  ],
  'networking.k8s.io/v1/NetworkPolicy': ['kubernetes-models/networking.k8s.io/v1/NetworkPolicy', 'INetworkPolicy'],
  'keda.sh/v1alpha1/ScaledObject': ['@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject', 'IScaledObject'],
  'keda.sh/v1alpha1/TriggerAuthentication': [
    '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication',
    'ITriggerAuthentication',
  ],
  'monitoring.coreos.com/v1/ServiceMonitor': [
    '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor',
    'IServiceMonitor',
  ],
  'monitoring.coreos.com/v1/PrometheusRule': [
    '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule',
    'IPrometheusRule',
  ],
};

async function validateObject(o: K8sObject): Promise<string[]> {
  const key = `${o.apiVersion}/${o.kind}`;
  const model = MODELS[key];
  if (model === undefined) return [`${key}: no model to validate it against`];
  const [module, iface] = model;
  const Model = (await import(module))[iface.slice(1)] as new (d: unknown) => { validate(): void };
  const problems: string[] = [];
  try {
    new Model(o).validate();
  } catch (err) {
    problems.push(`${key} ${o.metadata.name}: ${(err as Error).message.slice(0, 500)}`);
  }
  for (const p of unknownFields(o, module, iface)) problems.push(`${key} ${o.metadata.name}${p}`);
  return problems;
}

const kinds = (objects: K8sObject[]) => objects.map((o) => o.kind).sort();
const deploymentOf = (objects: K8sObject[]) => objects.find((o) => o.kind === 'Deployment') as K8sObject;

describe.each(Object.entries(COMBINATIONS))('the chart with %s', (_name, combination) => {
  it('passes helm lint --strict, renders, and every object is valid against its schema with no unknown field', async () => {
    const v = withQueues(combination);
    const lint = helm(['lint', '--strict'], v);
    expect(lint.code, lint.stdout + lint.stderr).toBe(0);
    const objects = render(v);
    expect(objects.length).toBeGreaterThanOrEqual(4);
    const problems = (await Promise.all(objects.map(validateObject))).flat();
    expect(problems).toEqual([]);
  });
});

describe('the schema check', () => {
  it('names a misspelled or unknown field that the models alone let through', async () => {
    const deployment = deploymentOf(render(withQueues({})));
    const container = deployment.spec.template.spec.containers[0];
    container.imagePullPolcy = 'Always';
    container.resources.limits.memory = '512Mi';
    deployment.spec.template.spec.topologySpreadConstraint = [];
    const problems = await validateObject(deployment);
    expect(problems).toEqual([
      expect.stringMatching(/spec\.template\.spec\.containers\[0\]\.imagePullPolcy: not a field/),
      expect.stringMatching(/spec\.template\.spec\.topologySpreadConstraint: not a field/),
    ]);
    const scaled = render(withQueues(COMBINATIONS.keda ?? {})).find((o) => o.kind === 'ScaledObject') as K8sObject;
    scaled.spec.triggers[0].authRef = { name: 'x' };
    expect(await validateObject(scaled)).toEqual([expect.stringMatching(/triggers\[0\]\.authRef: not a field/)]);
  });
});

describe('the chart renders what each setting promises', () => {
  it('KEDA: a ScaledObject on the queue with AWS pod identity, no replicas in the Deployment', () => {
    const objects = render(withQueues(COMBINATIONS.keda ?? {}));
    expect(kinds(objects)).toEqual(expect.arrayContaining(['ScaledObject', 'TriggerAuthentication']));
    const scaled = objects.find((o) => o.kind === 'ScaledObject');
    expect(scaled?.spec.triggers[0]).toMatchObject({
      type: 'aws-sqs-queue',
      metadata: { queueURL: QUEUES.sourceQueueUrl, awsRegion: 'eu-west-1', activationQueueLength: '0' },
    });
    expect(objects.find((o) => o.kind === 'TriggerAuthentication')?.spec.podIdentity).toMatchObject({
      provider: 'aws',
    });
    expect(deploymentOf(objects).spec.replicas).toBeUndefined();
    const withRole = render(withQueues(COMBINATIONS['keda with roleArn'] ?? {}));
    // A role to assume replaces the identity owner (KEDA ignores one beside the other).
    expect(withRole.find((o) => o.kind === 'TriggerAuthentication')?.spec.podIdentity).toEqual({
      provider: 'aws',
      roleArn: 'arn:aws:iam::123456789012:role/keda-sqs',
    });
  });

  it('sets every environment variable the relay reads (all together), Redis secrets by reference, the CA mounted', () => {
    const deployment = deploymentOf(render(withQueues(COMBINATIONS['all together'] ?? {})));
    const container = deployment.spec.template.spec.containers[0];
    const env = new Map<string, { value?: string; valueFrom?: unknown }>(
      container.env.map((e: { name: string }) => [e.name, e]),
    );
    expect(ENV_NAMES.filter((n) => !env.has(n))).toEqual([]);
    expect(env.get('REDIS_URL')?.valueFrom).toEqual({ secretKeyRef: { name: 'relay-redis', key: 'url' } });
    expect(env.get('REDIS_PASSWORD')?.valueFrom).toEqual({
      secretKeyRef: { name: 'relay-redis-auth', key: 'password' },
    });
    expect(env.get('REDIS_TLS_CA_FILE')?.value).toBe('/etc/sfn-relay/redis-ca/ca.pem');
    expect(container.volumeMounts).toEqual([
      { name: 'redis-ca', mountPath: '/etc/sfn-relay/redis-ca', readOnly: true },
      { name: 'sns-signing', mountPath: '/etc/sfn-relay/sns-signing', readOnly: true },
    ]);
    expect(
      deployment.spec.template.spec.volumes.map((v: { secret: { secretName: string } }) => v.secret.secretName),
    ).toEqual(['relay-redis-ca', 'sns-signing-certs']);
    expect(env.get('ALLOWED_SENDERS')?.value).toBe('AROA3XFRBF535PLBIFPI4,AIDAJQABLZS4A3QDU576Q');
    expect(env.get('SNS_SIGNING_CERT_FILE')?.value).toBe('/etc/sfn-relay/sns-signing/sns-signing.pem');
    // The configuration the chart renders is one the relay accepts.
    const plain = Object.fromEntries([...env].filter(([, e]) => e.value !== undefined).map(([k, e]) => [k, e.value]));
    expect(() => loadConfig({ ...plain, REDIS_URL: 'rediss://relay-redis:6379' })).not.toThrow();
  });

  it('hardens the pod and computes the grace period from the settings as the relay does', () => {
    for (const settings of [
      {},
      { drainTimeoutSeconds: 10, sfnMaxAttempts: 1, sfnRequestTimeoutMs: 2000 },
      { drainTimeoutSeconds: 60, sfnMaxAttempts: 5, sfnRequestTimeoutMs: 10_000 },
    ]) {
      const deployment = deploymentOf(render(withQueues({ config: settings, otel: { exportTimeoutMs: 3000 } })));
      const c = { ...(values.config as Values), ...settings } as Record<string, number>;
      const expected = shutdownBudgetSeconds({
        drainTimeoutSeconds: c.drainTimeoutSeconds ?? 0,
        sfnMaxAttempts: c.sfnMaxAttempts ?? 0,
        sfnRequestTimeoutMs: c.sfnRequestTimeoutMs ?? 0,
        telemetryFlushTimeoutMs: 3000,
      });
      expect(deployment.spec.template.spec.terminationGracePeriodSeconds, JSON.stringify(settings)).toBe(expected);
    }
    const pod = deploymentOf(render(withQueues({}))).spec.template.spec;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.containers[0].securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.containers[0].livenessProbe.httpGet.path).toBe('/healthz');
    expect(pod.containers[0].readinessProbe.httpGet.path).toBe('/readyz');
  });
});

describe('the chart for operators', () => {
  it('keeps a disruption budget only where more than one replica runs, and spreads replicas over zones and nodes', () => {
    expect(kinds(render(withQueues({})))).toContain('PodDisruptionBudget');
    expect(kinds(render(withQueues({ replicaCount: 1 })))).not.toContain('PodDisruptionBudget');
    expect(
      kinds(render(withQueues({ ...COMBINATIONS.keda, keda: { enabled: true, maxReplicaCount: 1 } }))),
    ).not.toContain('PodDisruptionBudget');
    const spread = deploymentOf(render(withQueues({}))).spec.template.spec.topologySpreadConstraints;
    expect(spread.map((c: { topologyKey: string }) => c.topologyKey)).toEqual([
      'topology.kubernetes.io/zone',
      'kubernetes.io/hostname',
    ]);
    expect(spread.every((c: { whenUnsatisfiable: string }) => c.whenUnsatisfiable === 'ScheduleAnyway')).toBe(true);
  });

  it('sizes the V8 heap and the dedup store from the memory limit', () => {
    const env = (v: Values) =>
      Object.fromEntries(
        deploymentOf(render(withQueues(v))).spec.template.spec.containers[0].env.map(
          (e: { name: string; value: string }) => [e.name, e.value],
        ),
      );
    expect(env({})).toMatchObject({
      NODE_OPTIONS: '--max-semi-space-size=8 --max-old-space-size=128',
      DEDUP_MEMORY_MAX_MB: '38',
    });
    expect(env({ resources: { limits: { memory: '1Gi' } } })).toMatchObject({
      NODE_OPTIONS: '--max-semi-space-size=8 --max-old-space-size=512',
      DEDUP_MEMORY_MAX_MB: '153',
    });
    expect(env({ config: { dedupMemoryMaxMb: 20 } }).DEDUP_MEMORY_MAX_MB).toBe('20');
    expect(() =>
      loadConfig({
        SOURCE_QUEUE_URL: QUEUES.sourceQueueUrl,
        DLQ_URL: QUEUES.dlqUrl,
        DEDUP_MEMORY_MAX_MB: String(env({}).DEDUP_MEMORY_MAX_MB),
      }),
    ).not.toThrow();
  });

  it('pins the image by digest when one is given', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const image = (v: Values) => deploymentOf(render(withQueues(v))).spec.template.spec.containers[0].image;
    expect(image({ image: { repository: 'r.example/relay', tag: '1.2.3' } })).toBe('r.example/relay:1.2.3');
    expect(image({ image: { repository: 'r.example/relay', tag: '1.2.3', digest } })).toBe(`r.example/relay@${digest}`);
  });

  it('lets every credential path the chart documents through its NetworkPolicy', () => {
    const egressOf = (v: Values) =>
      JSON.stringify(
        render(withQueues(merge({ networkPolicy: { enabled: true } }, v))).find((o) => o.kind === 'NetworkPolicy')?.spec
          .egress,
      );
    // IRSA: STS over 443 (with the AWS APIs); Pod Identity: its node agent, by default.
    expect(egressOf({})).toContain('"port":443');
    expect(egressOf({})).toContain('169.254.170.23/32');
    expect(egressOf({})).not.toContain('169.254.169.254');
    expect(egressOf({ networkPolicy: { allowInstanceMetadata: true } })).toContain('169.254.169.254/32');
  });
});

describe("the chart's refusals, in helm's own words", () => {
  const refused = (v: Values) => {
    const r = helm(['template', 'relay'], v);
    expect(r.code).not.toBe(0);
    return r.stderr;
  };

  it('refuses missing queue URLs, KEDA with the HPA, KEDA without a region, unknown settings', () => {
    expect(refused({})).toMatch(/values don't meet the specifications of the schema.*sourceQueueUrl/s);
    expect(
      refused(withQueues({ keda: { enabled: true }, autoscaling: { enabled: true }, config: { region: 'eu-west-1' } })),
    ).toMatch(/schema/);
    expect(refused(withQueues({ keda: { enabled: true } }))).toMatch(/region/);
    expect(refused(withQueues({ config: { typoSetting: 1 } }))).toMatch(/typoSetting/);
    expect(refused(withQueues({ replicaCount: 'two' }))).toMatch(/replicaCount/);
    // SenderId holds unique ids, never ARNs; account ids are 12 digits.
    expect(refused(withQueues({ senders: { allowedSenders: ['arn:aws:iam::123456789012:role/worker'] } }))).toMatch(
      /allowedSenders/,
    );
    expect(refused(withQueues({ senders: { allowedEventBridgeAccounts: ['1234'] } }))).toMatch(
      /allowedEventBridgeAccounts/,
    );
  });
});

describe('the templates', () => {
  it('use only .Values paths that exist in values.yaml (helm renders a missing one as empty)', () => {
    const dir = join(CHART, 'templates');
    const text = readdirSync(dir)
      .map((f) => readFileSync(join(dir, f), 'utf8'))
      .join('\n');
    const used = new Set([...text.matchAll(/\.Values\.([A-Za-z0-9_.]+)/g)].map((m) => m[1] ?? ''));
    expect(used.size).toBeGreaterThan(40);
    const missing = [...used].filter((path) => {
      let node: unknown = values;
      for (const key of path.split('.')) {
        if (typeof node !== 'object' || node === null || !(key in node)) return true;
        node = (node as Values)[key];
      }
      return false;
    });
    expect(missing).toEqual([]);
  });
});
