/** The chart's alert rules as helm renders them, for promtool and for a real Prometheus. */
import { render } from './helm.js';

const QUEUES = {
  sourceQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/task-failures',
  dlqUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/task-failures-dlq',
};

export interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: { summary: string; runbook: string };
}

/** The rules as the chart renders them (`forOverride`: what the real-Prometheus test uses). */
export function renderedRules(forOverride = ''): { groups: { name: string; rules: Rule[] }[] } {
  const rule = render({ config: QUEUES, prometheusRule: { enabled: true, forOverride } }).find(
    (o) => o.kind === 'PrometheusRule',
  );
  if (rule === undefined) throw new Error('no PrometheusRule rendered');
  return { groups: rule.spec.groups };
}
