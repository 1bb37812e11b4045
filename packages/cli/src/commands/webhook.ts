import { pino } from 'pino';
import { defineCommand, LOG_LEVEL_FLAG, positiveInt, required, UsageError } from '../command.js';

/**
 * The library's defaults, written here so that other commands do not load @ferry/kube (and gRPC) at start;
 * test/e2e/kube-cli.test.ts checks them against the library's.
 */
export const WEBHOOK_FLAG_DEFAULTS = {
  port: 8443,
  host: '0.0.0.0',
  runtimeClassName: 'kata-fc',
  address: 'vsock://2:2048',
} as const;

/** `ferry webhook`: the mutating admission webhook that makes opted-in pods Ferry guests. */
export const webhookCommand = defineCommand({
  name: 'webhook',
  summary: 'the Kubernetes mutating admission webhook: POST /mutate and GET /healthz over HTTPS',
  synopsis: '--port <p> --tls-cert <file> --tls-key <file> [--runtime-class kata-fc] [--device-plugin] [options]',
  details: `Pods labelled ferry.dev/inject: "true" get runtimeClassName (unless they set one), FERRY_ADDRESS on
every container and init container that lacks it, one ferry.dev/accelerator share with --device-plugin, and
with --seccomp-profile the Localhost profile that allows AF_VSOCK where they have none or RuntimeDefault.
The certificate files are read again when they change. Stops on SIGINT/SIGTERM after answering reviews in flight.`,
  flags: {
    port: { type: 'string', default: String(WEBHOOK_FLAG_DEFAULTS.port), value: '<port>', help: 'HTTPS port' },
    host: { type: 'string', default: WEBHOOK_FLAG_DEFAULTS.host, value: '<host>', help: 'address to listen on' },
    'tls-cert': { type: 'string', value: '<file>', help: 'PEM certificate (chain) for the webhook Service name' },
    'tls-key': { type: 'string', value: '<file>', help: 'PEM private key of the certificate' },
    'runtime-class': {
      type: 'string',
      default: WEBHOOK_FLAG_DEFAULTS.runtimeClassName,
      value: '<name>',
      help: 'runtimeClassName for opted-in pods',
    },
    'device-plugin': {
      type: 'boolean',
      default: false,
      help: 'request one ferry.dev/accelerator share per pod (ferry device-plugin runs on the nodes)',
    },
    'seccomp-profile': {
      type: 'string',
      value: '<path>',
      help: 'Localhost seccomp profile (relative to the kubelet seccomp dir), e.g. profiles/ferry-vsock.json',
    },
    'guest-address': {
      type: 'string',
      default: WEBHOOK_FLAG_DEFAULTS.address,
      value: '<address>',
      help: 'the FERRY_ADDRESS given to containers',
    },
    'max-body-bytes': { type: 'string', value: '<n>', help: 'largest AdmissionReview accepted (413 above)' },
    'log-level': LOG_LEVEL_FLAG,
  },
  async run({ values }, { io, env, untilSignal }) {
    const port = values.port === '0' ? 0 : positiveInt(values.port, 'port');
    if (port === undefined || port > 65535) throw new UsageError(`--port must be a port number, got "${values.port}"`);
    const maxBodyBytes = positiveInt(values['max-body-bytes'], 'max-body-bytes');
    const { createWebhookServer, kubeChannels } = await import('@ferry/kube');
    const logger = pino({ level: values['log-level'] ?? env.FERRY_LOG_LEVEL ?? 'info' }, pino.destination(2));
    kubeChannels.webhookTlsReload.subscribe((message) => {
      if (message.ok) logger.info('tls: certificate reloaded');
      else logger.warn({ err: message.error }, 'tls: new certificate files not usable yet; serving the previous pair');
    });
    kubeChannels.webhookReview.subscribe((message) => logger.debug(message, 'review'));
    const server = await createWebhookServer({
      port,
      host: values.host ?? WEBHOOK_FLAG_DEFAULTS.host,
      tlsCertFile: required(values['tls-cert'], 'tls-cert'),
      tlsKeyFile: required(values['tls-key'], 'tls-key'),
      runtimeClassName: values['runtime-class'] ?? WEBHOOK_FLAG_DEFAULTS.runtimeClassName,
      address: values['guest-address'] ?? WEBHOOK_FLAG_DEFAULTS.address,
      requestShare: values['device-plugin'] ?? false,
      ...(values['seccomp-profile'] ? { seccompLocalhostProfile: values['seccomp-profile'] } : {}),
      ...(maxBodyBytes ? { maxBodyBytes } : {}),
    });
    logger.info({ url: server.url }, 'webhook: POST /mutate, GET /healthz');
    io.out(JSON.stringify({ event: 'listening', url: server.url }));
    const signal = await untilSignal(() => void server.destroy());
    logger.info({ signal }, 'closing');
    await server.close();
    return 0;
  },
});
