import { type Stats, unwatchFile, watchFile } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { kubeChannels } from '../diagnostics.js';
import type { PodMutationOptions } from './mutate-pod.js';
import { reviewAdmission } from './review-admission.js';

export const WEBHOOK_DEFAULTS = {
  host: '0.0.0.0',
  port: 8443,
  /** The API server sends objects of at most ~1.5 MiB (etcd's limit) inside a review. */
  maxBodyBytes: 3 * 1024 * 1024,
  /** How often the certificate files are checked for a change. */
  tlsCheckIntervalMs: 2000,
  requestTimeoutMs: 10_000,
} as const;

export interface WebhookServerOptions extends PodMutationOptions {
  readonly tlsCertFile: string;
  readonly tlsKeyFile: string;
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  readonly maxBodyBytes?: number;
  readonly tlsCheckIntervalMs?: number;
  readonly requestTimeoutMs?: number;
}

export interface WebhookServer extends AsyncDisposable {
  /** `https://host:port`. */
  readonly url: string;
  readonly port: number;
  /** Stops accepting; lets answers in flight finish. */
  close(): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * The mutating admission webhook over HTTPS: `POST /mutate` (AdmissionReview v1), `GET /healthz`. The
 * certificate and key are read again when their files change (cert-manager or a Secret update swaps
 * them), without dropping connections; a half-written pair keeps the old one until both match.
 */
export async function createWebhookServer(options: WebhookServerOptions): Promise<WebhookServer> {
  const host = options.host ?? WEBHOOK_DEFAULTS.host;
  const port = options.port ?? WEBHOOK_DEFAULTS.port;
  const maxBodyBytes = options.maxBodyBytes ?? WEBHOOK_DEFAULTS.maxBodyBytes;
  const tlsCheckIntervalMs = options.tlsCheckIntervalMs ?? WEBHOOK_DEFAULTS.tlsCheckIntervalMs;
  const requestTimeoutMs = options.requestTimeoutMs ?? WEBHOOK_DEFAULTS.requestTimeoutMs;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`Invalid webhook port ${port}`);
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 1024) {
    throw new RangeError(`maxBodyBytes must be at least 1024, got ${maxBodyBytes}`);
  }
  const mutation: PodMutationOptions = {
    ...(options.runtimeClassName === undefined ? {} : { runtimeClassName: options.runtimeClassName }),
    ...(options.address === undefined ? {} : { address: options.address }),
    ...(options.requestShare === undefined ? {} : { requestShare: options.requestShare }),
    ...(options.resourceName === undefined ? {} : { resourceName: options.resourceName }),
    ...(options.seccompLocalhostProfile === undefined
      ? {}
      : { seccompLocalhostProfile: options.seccompLocalhostProfile }),
  };
  const readPair = async () => ({
    cert: await readFile(options.tlsCertFile),
    key: await readFile(options.tlsKeyFile),
  });

  const server: Server = createServer({ ...(await readPair()), minVersion: 'TLSv1.2' }, (req, res) => {
    const send = (status: number, body: unknown) => {
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, {
        'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
      return send(200, 'ok\n');
    }
    if (path !== '/mutate') return send(404, 'not found\n');
    if (req.method !== 'POST') return send(405, 'method not allowed\n');
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBodyBytes) {
      res.setHeader('connection', 'close');
      return send(413, { error: `The review is larger than ${maxBodyBytes} bytes` });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > maxBodyBytes) {
        failed = true;
        res.setHeader('connection', 'close');
        send(413, { error: `The review is larger than ${maxBodyBytes} bytes` });
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => undefined);
    req.on('end', () => {
      if (failed) return;
      let review: unknown;
      try {
        review = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return send(400, { error: 'The body is not JSON' });
      }
      const answer = reviewAdmission(review, mutation);
      const response = answer.body.response as { uid?: string; allowed?: boolean; patch?: string } | undefined;
      if (kubeChannels.webhookReview.hasSubscribers) {
        kubeChannels.webhookReview.publish({
          uid: response?.uid,
          allowed: response?.allowed,
          patched: response?.patch !== undefined,
        });
      }
      send(answer.status, answer.body);
    });
  });
  server.requestTimeout = requestTimeoutMs;
  server.headersTimeout = Math.min(requestTimeoutMs, 60_000);
  server.on('tlsClientError', () => undefined);

  let reloading = false;
  let pending = false;
  const reload = async () => {
    if (reloading) {
      pending = true;
      return;
    }
    reloading = true;
    try {
      do {
        pending = false;
        try {
          server.setSecureContext({ ...(await readPair()), minVersion: 'TLSv1.2' });
          kubeChannels.webhookTlsReload.publish({ ok: true });
        } catch (error) {
          // A rotation in progress (new cert, old key): keep serving the old pair, try on the next change.
          kubeChannels.webhookTlsReload.publish({ ok: false, error });
        }
      } while (pending);
    } finally {
      reloading = false;
    }
  };
  const onChange = (current: Stats, previous: Stats) => {
    if (current.mtimeMs !== previous.mtimeMs || current.ino !== previous.ino || current.size !== previous.size) {
      void reload();
    }
  };
  for (const file of [options.tlsCertFile, options.tlsKeyFile]) {
    watchFile(file, { interval: tlsCheckIntervalMs, persistent: false }, onChange);
  }
  const unwatch = () => {
    for (const file of [options.tlsCertFile, options.tlsKeyFile]) unwatchFile(file, onChange);
  };

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    unwatch();
    throw error;
  }
  const bound = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;

  let closed: Promise<void> | undefined;
  const close = (force: boolean) => {
    if (!closed) {
      unwatch();
      closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
    }
    if (force) server.closeAllConnections();
    return closed;
  };
  return {
    url: `https://${shownHost}:${bound}`,
    port: bound,
    close: () => close(false),
    destroy: () => close(true),
    [Symbol.asyncDispose]: () => close(false),
  };
}
