import { pino } from 'pino';
import { defineCommand, LOG_LEVEL_FLAG, positiveInt, required, UsageError } from '../command.js';

/**
 * The library's defaults, written here so that other commands do not load @ferry/kube (and gRPC) at start;
 * test/e2e/kube-cli.test.ts checks them against the library's.
 */
export const DEVICE_PLUGIN_FLAG_DEFAULTS = {
  shares: 16,
  maxShares: 1024,
  pluginDir: '/var/lib/kubelet/device-plugins',
  resourceName: 'ferry.dev/accelerator',
  healthIntervalMs: 5000,
  address: 'vsock://2:2048',
} as const;

/** `ferry device-plugin`: the kubelet device plugin for ferry.dev/accelerator, a sidecar of the agent. */
export const devicePluginCommand = defineCommand({
  name: 'device-plugin',
  summary: 'the kubelet device plugin advertising ferry.dev/accelerator shares while the agent is ready',
  synopsis: '--agent-admin <url> [--shares 16] [--plugin-dir /var/lib/kubelet/device-plugins] [options]',
  details: `Registers ferry.dev/accelerator with the kubelet (<plugin-dir>/kubelet.sock) and advertises --shares
units, Healthy while the agent's admin GET /readyz answers 200. Allocate gives each container FERRY_ADDRESS.
Registers again when the kubelet restarts. Stops on SIGINT/SIGTERM.`,
  flags: {
    'agent-admin': { type: 'string', value: '<url>', help: "the agent's admin server, e.g. http://127.0.0.1:9090" },
    shares: {
      type: 'string',
      default: String(DEVICE_PLUGIN_FLAG_DEFAULTS.shares),
      value: '<n>',
      help: `units advertised per node, at most ${DEVICE_PLUGIN_FLAG_DEFAULTS.maxShares} (one per pod)`,
    },
    'plugin-dir': {
      type: 'string',
      default: DEVICE_PLUGIN_FLAG_DEFAULTS.pluginDir,
      value: '<dir>',
      help: "the kubelet's device plugin directory",
    },
    'resource-name': {
      type: 'string',
      default: DEVICE_PLUGIN_FLAG_DEFAULTS.resourceName,
      value: '<name>',
      help: 'extended resource name',
    },
    'health-interval-ms': {
      type: 'string',
      default: String(DEVICE_PLUGIN_FLAG_DEFAULTS.healthIntervalMs),
      value: '<n>',
      help: "how often the agent's readiness is checked",
    },
    'guest-address': {
      type: 'string',
      default: DEVICE_PLUGIN_FLAG_DEFAULTS.address,
      value: '<address>',
      help: 'the FERRY_ADDRESS Allocate gives containers',
    },
    'log-level': LOG_LEVEL_FLAG,
  },
  async run({ values }, { io, env, untilSignal }) {
    const adminUrl = required(values['agent-admin'], 'agent-admin');
    if (!/^https?:\/\//.test(adminUrl)) throw new UsageError(`--agent-admin must be an http:// URL, got "${adminUrl}"`);
    const shares = positiveInt(values.shares, 'shares') ?? DEVICE_PLUGIN_FLAG_DEFAULTS.shares;
    if (shares > DEVICE_PLUGIN_FLAG_DEFAULTS.maxShares) {
      throw new UsageError(`--shares is at most ${DEVICE_PLUGIN_FLAG_DEFAULTS.maxShares}`);
    }
    const healthIntervalMs = positiveInt(values['health-interval-ms'], 'health-interval-ms');
    const { agentReady, createDevicePlugin, kubeChannels } = await import('@ferry/kube');
    const logger = pino({ level: values['log-level'] ?? env.FERRY_LOG_LEVEL ?? 'info' }, pino.destination(2));
    kubeChannels.devicePluginRegistered.subscribe((message) => logger.info(message, 'registered'));
    kubeChannels.devicePluginRegisterFailed.subscribe((message) =>
      logger.warn({ err: message.error }, 'registration failed; retrying'),
    );
    kubeChannels.devicePluginHealth.subscribe((message) => logger.info(message, 'health'));
    const plugin = await createDevicePlugin({
      pluginDir: values['plugin-dir'] ?? DEVICE_PLUGIN_FLAG_DEFAULTS.pluginDir,
      resourceName: values['resource-name'] ?? DEVICE_PLUGIN_FLAG_DEFAULTS.resourceName,
      shares,
      env: { FERRY_ADDRESS: values['guest-address'] ?? DEVICE_PLUGIN_FLAG_DEFAULTS.address },
      checkHealth: (signal) => agentReady(adminUrl, { signal }),
      ...(healthIntervalMs ? { healthIntervalMs: Math.max(100, healthIntervalMs) } : {}),
    });
    io.out(JSON.stringify({ event: 'serving', socket: plugin.socketPath, shares, healthy: plugin.healthy }));
    const signal = await untilSignal(() => void plugin.destroy());
    logger.info({ signal }, 'closing');
    await plugin.close();
    return 0;
  },
});
