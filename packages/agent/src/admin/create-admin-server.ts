import type { ServerResponse } from 'node:http';
import { fastify } from 'fastify';
import type { Registry } from 'prom-client';
import type { AdminStatus, TenantStatus } from './admin-views.js';
import { createAgentMonitor, type MonitoredAgent } from './create-agent-monitor.js';
import { createMetricsRegistry } from './create-metrics-registry.js';
import { loadDashboardPage } from './dashboard-page.js';
import { createLastErrors, type LastError } from './last-errors.js';
import type { ListenerSource, SkippedListener, TenantOrigin } from './listener-source.js';
import { registerSourceMetrics } from './source-metrics.js';

export interface AdminServerOptions {
  /** The agent to watch (an `Agent`; only its `listeners` and `stats()` are read). */
  readonly agent: MonitoredAgent;
  /** Default 127.0.0.1: the admin server shows every tenant, keep it off guest networks. */
  readonly host?: string;
  /** Default 0 (an ephemeral port; `address` tells which). */
  readonly port?: number;
  /** How often the dashboard's charts get a point and its clients a snapshot (default 1000). */
  readonly sampleIntervalMs?: number;
  /** Dashboards connected to `/api/events` at once; more get 503 (default 32). */
  readonly maxEventClients?: number;
  /**
   * What opens the agent's listeners by itself (the Kata sandbox watcher). With one, `/readyz` follows its
   * readiness (no listener at all is fine: a node without sandboxes serves what it should) and
   * `/api/status` shows each tenant's sandbox and pod and the listeners it skipped. Without one, the agent
   * is ready once it has a listener.
   */
  readonly source?: ListenerSource;
}

/** A tenant in `/api/status`: the monitor's figures, where it comes from, and its last failed call. */
export type AdminTenantStatus = TenantStatus &
  Partial<TenantOrigin> & {
    readonly lastError: LastError | null;
  };

/** `/api/status`. */
export interface AdminServerStatus extends Omit<AdminStatus, 'tenants'> {
  /** Why the agent is not ready; absent when it is. */
  readonly notReadyReason?: string;
  readonly tenants: readonly AdminTenantStatus[];
  /** Listeners the source found and does not serve, and why. */
  readonly skipped: readonly SkippedListener[];
}

export interface AdminServer extends AsyncDisposable {
  /** `http://host:port` */
  readonly address: string;
  /** The registry `/metrics` renders; its own, not prom-client's global one. */
  readonly registry: Registry;
  /** Current status, as `/api/status` serves it. */
  status(): AdminServerStatus;
  /** Ends the dashboards' event streams, answers the requests in flight, then stops. Idempotent. */
  close(): Promise<void>;
  /** Drops every connection and stops now. Idempotent. */
  destroy(): Promise<void>;
}

export const ADMIN_DEFAULTS = {
  host: '127.0.0.1',
  port: 0,
  sampleIntervalMs: 1000,
  maxEventClients: 32,
  /** An event stream whose client reads slower than this much buffered output is dropped. */
  maxEventBufferBytes: 4 * 1024 * 1024,
} as const;

/**
 * Starts the agent's admin HTTP server: `/metrics` (Prometheus), `/healthz`, `/readyz`,
 * `/api/status`, `/api/events` (Server-Sent Events) and the live dashboard at `/`.
 */
export async function createAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { agent } = options;
  if (!agent || typeof agent.stats !== 'function') throw new TypeError('createAdminServer needs an agent');
  const host = options.host ?? ADMIN_DEFAULTS.host;
  const port = options.port ?? ADMIN_DEFAULTS.port;
  const sampleIntervalMs = options.sampleIntervalMs ?? ADMIN_DEFAULTS.sampleIntervalMs;
  const maxEventClients = options.maxEventClients ?? ADMIN_DEFAULTS.maxEventClients;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`Invalid admin port ${port}`);
  if (!Number.isFinite(sampleIntervalMs) || sampleIntervalMs < 10 || sampleIntervalMs > 60_000) {
    throw new RangeError(`sampleIntervalMs must be between 10 and 60000, got ${sampleIntervalMs}`);
  }
  if (!Number.isInteger(maxEventClients) || maxEventClients < 0) {
    throw new RangeError(`maxEventClients must be a non-negative integer, got ${maxEventClients}`);
  }

  const { source } = options;
  const dashboard = await loadDashboardPage();
  let state: 'open' | 'closing' | 'closed' = 'open';
  /** Why the agent does not take the traffic it should; undefined when ready. */
  const notReady = (): string | undefined => {
    if (state !== 'open') return 'closing';
    if (source) {
      const { ready, reason } = source.readiness();
      return ready ? undefined : (reason ?? 'not ready');
    }
    return agent.listeners.length > 0 ? undefined : 'no listener';
  };
  const isReady = () => notReady() === undefined;
  const monitor = createAgentMonitor({ agent, sampleIntervalMs, isReady });
  const registry = createMetricsRegistry({ agent, monitor });
  if (source) registerSourceMetrics(registry, { source, monitor });
  const lastErrors = createLastErrors();
  const status = (): AdminServerStatus => {
    const base = monitor.status();
    const reason = base.ready ? undefined : notReady();
    return {
      ...base,
      ...(reason === undefined ? {} : { notReadyReason: reason }),
      tenants: base.tenants.map((t) => ({
        ...t,
        ...source?.tenantOrigin(t.name),
        lastError: lastErrors.get(t.name) ?? null,
      })),
      skipped: source?.skipped() ?? [],
    };
  };
  const clients = new Set<ServerResponse>();

  const send = (res: ServerResponse, event: string, data: unknown) => {
    if (res.writableLength > ADMIN_DEFAULTS.maxEventBufferBytes) {
      res.destroy();
      return;
    }
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };

  const timer = setInterval(() => {
    const sample = monitor.sample();
    if (clients.size === 0) return;
    const frame = `event: sample\ndata: ${JSON.stringify({ sample, status: status() })}\n\n`;
    for (const res of clients) {
      if (res.writableLength > ADMIN_DEFAULTS.maxEventBufferBytes) res.destroy();
      else res.write(frame);
    }
  }, sampleIntervalMs);
  timer.unref();

  const app = fastify({ logger: false, forceCloseConnections: 'idle' });
  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('cache-control', 'no-store');
  });
  app.get('/healthz', async (_request, reply) => reply.type('text/plain; charset=utf-8').send('ok\n'));
  app.get('/readyz', async (_request, reply) => {
    const reason = notReady();
    return reason === undefined
      ? reply.type('text/plain; charset=utf-8').send('ready\n')
      : reply.code(503).type('text/plain; charset=utf-8').send(`not ready: ${reason}\n`);
  });
  app.get('/metrics', async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  app.get('/api/status', async (_request, reply) => reply.send(status()));
  app.get('/api/events', (_request, reply) => {
    if (clients.size >= maxEventClients || state !== 'open') {
      void reply
        .code(503)
        .header('retry-after', '10')
        .send({ error: `At most ${maxEventClients} dashboards may follow the events at once` });
      return;
    }
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    res.write(`retry: ${Math.max(1000, sampleIntervalMs)}\n\n`);
    send(res, 'init', { history: monitor.history(), status: status() });
    clients.add(res);
    res.on('close', () => clients.delete(res));
  });
  app.get('/', async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', dashboard.csp)
      .header('referrer-policy', 'no-referrer')
      .send(dashboard.html),
  );

  try {
    await app.listen({ host, port });
  } catch (error) {
    clearInterval(timer);
    monitor.close();
    lastErrors.close();
    throw error;
  }
  const bound = app.server.address();
  const boundPort = typeof bound === 'object' && bound ? bound.port : port;
  const address = `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;

  let stopping: Promise<void> | undefined;
  const stop = (graceful: boolean) => {
    stopping ??= (async () => {
      state = 'closing';
      clearInterval(timer);
      monitor.close();
      lastErrors.close();
      for (const res of clients) {
        if (graceful) res.end();
        else res.destroy();
      }
      clients.clear();
      if (!graceful) app.server.closeAllConnections();
      await app.close();
      state = 'closed';
    })();
    return stopping;
  };

  return {
    address,
    registry,
    status,
    close: () => stop(true),
    destroy: () => stop(false),
    [Symbol.asyncDispose]: () => stop(true),
  };
}
