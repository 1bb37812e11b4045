import type { Registry } from 'prom-client';
import type { AgentMonitor } from './create-agent-monitor.js';
import { define } from './create-metrics-registry.js';
import type { ListenerSource } from './listener-source.js';

/**
 * The metrics of a listener source: `ferry_sandboxes_skipped_total{reason}` and
 * `ferry_tenant_info{tenant, sandbox_id, pod_namespace, pod_name, pod_uid} 1`, the info metric to join
 * the per-tenant series with the pod (`* on(tenant) group_left(pod_name) ferry_tenant_info`).
 */
export function registerSourceMetrics(
  registry: Registry,
  options: { readonly source: ListenerSource; readonly monitor: Pick<AgentMonitor, 'currentTenants'> },
): void {
  const { source, monitor } = options;
  define(registry, {
    name: 'ferry_sandboxes_skipped_total',
    help: 'Sandboxes found but not served (socket path longer than sun_path, address in use, …), by reason.',
    type: 'counter',
    collect: () => [...source.skipCounts()].map(([reason, value]) => ({ labels: { reason }, value })),
  });
  define(registry, {
    name: 'ferry_tenant_info',
    help: 'Where each tenant comes from: its Kata sandbox and, when the container runtime names it, its pod.',
    type: 'gauge',
    collect: () =>
      monitor.currentTenants().flatMap((t) => {
        const origin = source.tenantOrigin(t.name);
        if (!origin) return [];
        return [
          {
            labels: {
              tenant: t.name,
              sandbox_id: origin.sandboxId,
              pod_namespace: origin.pod?.namespace ?? '',
              pod_name: origin.pod?.name ?? '',
              pod_uid: origin.pod?.uid ?? '',
            },
            value: 1,
          },
        ];
      }),
  });
}
