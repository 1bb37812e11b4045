import type { AdminServerStatus } from '@ferry/agent';
import { Code, FerryError } from '@ferry/core';
import { defineCommand, hostPort, JSON_FLAG, positiveInt, required } from '../command.js';
import type { Io } from '../io.js';

export interface StatusArgs {
  /** `host:port` of the agent's admin server. */
  readonly admin: { readonly host: string; readonly port: number };
  readonly json: boolean;
  readonly timeoutMs?: number;
}

export const statusCommand = defineCommand({
  name: 'status',
  summary: "what a node's agent serves: tenants (sandbox, pod), models, skipped sandboxes",
  synopsis: '--admin <host:port> [--json]',
  details: `Reads the agent's /api/status (ferry agent --admin <host:port>). Exits 0 when the agent is ready,
1 when it is not or cannot be reached.`,
  flags: {
    admin: { type: 'string', value: '<host:port>', help: "the agent's admin server, e.g. 127.0.0.1:9090" },
    json: { ...JSON_FLAG, help: 'print the status as the agent reports it, one JSON object' },
    'timeout-ms': { type: 'string', value: '<n>', help: 'how long to wait for the answer (default 5000)' },
  },
  run({ values }, { io }) {
    const timeoutMs = positiveInt(values['timeout-ms'], 'timeout-ms');
    return runStatus(
      {
        admin: hostPort(required(values.admin, 'admin'), 'admin'),
        json: values.json,
        ...(timeoutMs ? { timeoutMs } : {}),
      },
      io,
    );
  },
});

/** `ferry status`: fetches `/api/status` and prints it. */
export async function runStatus(args: StatusArgs, io: Io): Promise<number> {
  const { host, port } = args.admin;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/api/status`;
  let status: AdminServerStatus;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(args.timeoutMs ?? 5000) });
    if (!response.ok) {
      throw new FerryError(
        Code.UNAVAILABLE,
        `${url} answered HTTP ${response.status}; is this a Ferry agent's admin port?`,
        {
          reason: 'ADMIN_BAD_ANSWER',
        },
      );
    }
    status = (await response.json()) as AdminServerStatus;
    if (!Array.isArray(status?.tenants)) {
      throw new FerryError(
        Code.UNAVAILABLE,
        `${url} did not answer a Ferry status; is this a Ferry agent's admin port?`,
        {
          reason: 'ADMIN_BAD_ANSWER',
        },
      );
    }
  } catch (error) {
    if (error instanceof FerryError) throw error;
    throw new FerryError(
      Code.UNAVAILABLE,
      `Cannot read ${url}: ${(error as Error).message}. Check that the agent runs with --admin ${host}:${port} and that this host can reach it`,
      { reason: 'ADMIN_UNREACHABLE', cause: error },
    );
  }
  io.out(args.json ? JSON.stringify(status) : formatStatus(status));
  return status.ready ? 0 : 1;
}

/** The status as text: a headline, then tables of tenants, models and skipped sandboxes. */
export function formatStatus(status: AdminServerStatus): string {
  const active = status.tenants.filter((t) => t.active);
  const lines = [
    `agent: ${status.ready ? 'ready' : `NOT READY (${status.notReadyReason ?? 'unknown'})`}, ${status.listeners} listeners, ${active.length} tenants, ${status.models.loaded} models loaded, up ${duration(status.uptimeSeconds)}`,
    '',
    active.length === 0
      ? 'tenants: none (no sandbox on this node yet)'
      : columns(
          ['TENANT (SANDBOX ID)', 'POD (NAMESPACE/NAME)', 'CONN', 'SESS', 'MODELS', 'IN FLIGHT', 'LAST ERROR'],
          active.map((t) => [
            t.name,
            t.pod ? `${t.pod.namespace}/${t.pod.name}` : '-',
            String(t.connections),
            String(t.sessions),
            String(t.models),
            String(t.inflight),
            t.lastError ? `${t.lastError.method} ${t.lastError.code} at ${t.lastError.at}` : '-',
          ]),
        ),
  ];
  const models = status.models.items.filter((m) => m.loaded);
  lines.push(
    '',
    models.length === 0
      ? 'models loaded: none'
      : columns(
          ['MODEL', 'BACKEND', 'REQUESTS', 'FAILURES', 'SHA256'],
          models.map((m) => [m.name, m.backend, String(m.requests), String(m.failures), m.sha256.slice(0, 12)]),
        ),
  );
  if (status.skipped.length > 0) {
    lines.push(
      '',
      columns(
        ['SKIPPED SANDBOX', 'REASON', 'SINCE', 'WHY'],
        status.skipped.map((s) => [s.sandboxId, s.reason, s.since, s.message]),
      ),
    );
  }
  return lines.join('\n');
}

function columns(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function duration(seconds: number): string {
  const s = Math.floor(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
