import { type FSWatcher, watch } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Agent, ListenerSource, PodRef, SkippedListener, TenantOrigin } from '@ferry/agent';
import { FerryError } from '@ferry/core';
import { MAX_UNIX_PATH_BYTES } from '@ferry/transport';

/**
 * Where Kata Containers keeps its Firecracker sandboxes: the Go runtime's
 * `/run/vc/firecracker/<id>/root/kata.hvsock` (jailed or not), runtime-rs's `/run/kata/<id>/kata.hvsock`
 * and, jailed, `/run/kata/firecracker/<id>/root/kata.hvsock`.
 */
export const KATA_ROOTS: readonly string[] = ['/run/vc/firecracker', '/run/kata', '/run/kata/firecracker'];

/** The guest port a Ferry guest connects to (host CID 2); Kata itself uses 1024–1026. */
export const DEFAULT_VSOCK_PORT = 2048;

/** The file Firecracker binds for a sandbox's hybrid vsock; guest port P reaches `<it>_P`. */
export const HVSOCK_NAME = 'kata.hvsock';

export const SANDBOX_WATCHER_DEFAULTS = {
  vsockPort: DEFAULT_VSOCK_PORT,
  socketMode: 0o660,
  /** The full rescan under the file-system events, in case some are lost. */
  rescanIntervalMs: 5000,
  /** How often a sandbox directory without its `kata.hvsock` yet is looked at again… */
  pendingPollMs: 200,
  /** …for this long after it appeared (other hypervisors' sandboxes never get one). */
  pendingPollWindowMs: 60_000,
  /** Sandboxes served at once; more are skipped (`too_many_sandboxes`). */
  maxSandboxes: 4096,
} as const;

export interface SandboxWatcherOptions {
  /** The agent whose listeners the watcher opens and closes: one per sandbox, the tenant named by its id. */
  readonly agent: Pick<Agent, 'addListener' | 'removeListener'>;
  /** Directories whose entries are sandbox directories; default {@link KATA_ROOTS}. They need not exist yet. */
  readonly roots?: readonly string[];
  /** Guest port the agent serves: it listens on `<kata.hvsock>_<port>`. Default 2048. */
  readonly vsockPort?: number;
  /** Permission bits of each listening socket. Default 0o660. */
  readonly socketMode?: number;
  readonly rescanIntervalMs?: number;
  readonly pendingPollMs?: number;
  readonly pendingPollWindowMs?: number;
  readonly maxSandboxes?: number;
  /**
   * Names the pods of the node's sandboxes by sandbox id (the CRI's `ListPodSandbox`, see
   * `createCriPodResolver()`). Asked again when sandboxes appear and while a served one is unnamed.
   */
  readonly resolvePods?: () => Promise<ReadonlyMap<string, PodRef>>;
  /** Told of every change: for logs, and for whoever waits for a sandbox. Must not throw. */
  readonly onEvent?: (event: SandboxEvent) => void;
}

export type SandboxEvent =
  | {
      readonly type: 'listening';
      readonly sandboxId: string;
      /** `unix://…/kata.hvsock_2048` */
      readonly address: string;
      readonly pod?: PodRef;
    }
  | { readonly type: 'removed'; readonly sandboxId: string; readonly address: string }
  | ({ readonly type: 'skipped' } & SkippedListener)
  | { readonly type: 'pod'; readonly sandboxId: string; readonly pod: PodRef }
  | { readonly type: 'error'; readonly message: string; readonly cause?: unknown };

export interface SandboxInfo {
  readonly sandboxId: string;
  /** The sandbox directory: `<root>/<id>`. */
  readonly dir: string;
  readonly address: string;
  readonly pod?: PodRef;
}

/**
 * Finds the Firecracker sandboxes of a Kata node and gives each its own agent listener (its tenant):
 * those present at start, then new and removed ones through file-system events, with a periodic rescan as
 * the safety net. It is the agent's {@link ListenerSource} for the admin server.
 */
export interface SandboxWatcher extends ListenerSource, AsyncDisposable {
  readonly roots: readonly string[];
  /** The sandboxes served now. */
  sandboxes(): SandboxInfo[];
  /** Looks at every root again now. */
  rescan(): Promise<void>;
  /** Stops watching. The listeners it opened stay with the agent (whose close() drains and closes them). Idempotent. */
  close(): Promise<void>;
}

interface Entry {
  readonly dir: string;
  readonly id: string;
  readonly firstSeen: number;
  state: 'pending' | 'serving' | 'skipped';
  address: string | undefined;
  socketPath: string | undefined;
  pod: PodRef | undefined;
  skip: SkippedListener | undefined;
  readonly watchers: Map<string, FSWatcher>;
  /** Reconciliations of this entry run one after another… */
  chain: Promise<void>;
  /** …and a burst of events while one waits to run adds no more. */
  queued: boolean;
}

const posInt = (name: string, value: number | undefined, fallback: number, min = 1): number => {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`${name} must be an integer ≥ ${min}, got ${v}`);
  return v;
};

/** Skip reasons by the agent's listen failure reasons. */
const SKIP_REASONS: Readonly<Record<string, string>> = {
  PATH_TOO_LONG: 'path_too_long',
  ADDRESS_IN_USE: 'address_in_use',
  PATH_NOT_SOCKET: 'path_not_socket',
  PERMISSION_DENIED: 'permission_denied',
};

/** Starts watching; resolves once every sandbox present now is served or skipped. */
export async function createSandboxWatcher(options: SandboxWatcherOptions): Promise<SandboxWatcher> {
  const { agent, onEvent, resolvePods } = options;
  if (!agent || typeof agent.addListener !== 'function') throw new TypeError('createSandboxWatcher needs an agent');
  const roots = [...new Set((options.roots ?? KATA_ROOTS).map((root) => resolve(root)))];
  if (roots.length === 0) throw new RangeError('createSandboxWatcher needs at least one root');
  const vsockPort = posInt('vsockPort', options.vsockPort, SANDBOX_WATCHER_DEFAULTS.vsockPort, 0);
  if (vsockPort > 0xffff_ffff) throw new RangeError(`vsockPort must be at most 4294967295, got ${vsockPort}`);
  const socketMode = options.socketMode ?? SANDBOX_WATCHER_DEFAULTS.socketMode;
  if (!Number.isInteger(socketMode) || socketMode < 0 || socketMode > 0o777) {
    throw new RangeError(`socketMode must be permission bits from 0 to 0o777, got ${socketMode}`);
  }
  const rescanIntervalMs = posInt(
    'rescanIntervalMs',
    options.rescanIntervalMs,
    SANDBOX_WATCHER_DEFAULTS.rescanIntervalMs,
  );
  const pendingPollMs = posInt('pendingPollMs', options.pendingPollMs, SANDBOX_WATCHER_DEFAULTS.pendingPollMs);
  const pendingPollWindowMs = posInt(
    'pendingPollWindowMs',
    options.pendingPollWindowMs,
    SANDBOX_WATCHER_DEFAULTS.pendingPollWindowMs,
  );
  const maxSandboxes = posInt('maxSandboxes', options.maxSandboxes, SANDBOX_WATCHER_DEFAULTS.maxSandboxes);

  const entries = new Map<string, Entry>();
  /** Served entries by sandbox id (the tenant name). */
  const serving = new Map<string, Entry>();
  const skipCounts = new Map<string, number>();
  /** Per root: the watcher on it (or on its nearest existing ancestor while it does not exist). */
  const rootWatchers = new Map<string, { readonly path: string; readonly watcher: FSWatcher }>();
  /** Roots that could not be read, with why: the node is then not ready. */
  const rootErrors = new Map<string, string>();
  let scanned = false;
  let closed = false;
  let scanning: Promise<void> | undefined;

  const emit = (event: SandboxEvent) => {
    try {
      onEvent?.(event);
    } catch {
      // An observer's failure is not the watcher's.
    }
  };

  const watchPath = (path: string, onChange: (name: string | null) => void): FSWatcher | undefined => {
    try {
      const watcher = watch(path, { persistent: false }, (_type, name) => onChange(name ? String(name) : null));
      watcher.on('error', () => watcher.close());
      return watcher;
    } catch {
      return undefined;
    }
  };

  // ---- sandboxes ----

  const dropWatchers = (entry: Entry) => {
    for (const w of entry.watchers.values()) w.close();
    entry.watchers.clear();
  };

  /** Watches the sandbox directory and its `root/`, where `kata.hvsock` appears (either layout). */
  const watchEntry = (entry: Entry) => {
    for (const path of [entry.dir, join(entry.dir, 'root')]) {
      if (entry.watchers.has(path)) continue;
      const watcher = watchPath(path, () => schedule(entry.dir));
      if (watcher) {
        entry.watchers.set(path, watcher);
        watcher.on('close', () => {
          if (entry.watchers.get(path) === watcher) entry.watchers.delete(path);
        });
      }
    }
  };

  const exists = async (path: string): Promise<boolean> => {
    try {
      await lstat(path);
      return true;
    } catch {
      return false;
    }
  };

  const findHvsock = async (dir: string): Promise<string | undefined> => {
    for (const path of [join(dir, 'root', HVSOCK_NAME), join(dir, HVSOCK_NAME)]) {
      if (await exists(path)) return path;
    }
    return undefined;
  };

  const skip = (entry: Entry, path: string, reason: string, message: string) => {
    entry.state = 'skipped';
    if (entry.skip?.reason === reason && entry.skip.path === path) return;
    entry.skip = { sandboxId: entry.id, path, reason, message, since: new Date().toISOString() };
    skipCounts.set(reason, (skipCounts.get(reason) ?? 0) + 1);
    emit({ type: 'skipped', ...entry.skip });
  };

  const stopServing = async (entry: Entry) => {
    const { address } = entry;
    if (entry.state !== 'serving' || address === undefined) return;
    entry.state = 'pending';
    entry.address = undefined;
    entry.socketPath = undefined;
    entry.pod = undefined;
    if (serving.get(entry.id) === entry) serving.delete(entry.id);
    try {
      await agent.removeListener(address);
    } catch (error) {
      emit({ type: 'error', message: `Cannot close the listener of sandbox ${entry.id}`, cause: error });
    }
    emit({ type: 'removed', sandboxId: entry.id, address });
  };

  const forget = (entry: Entry) => {
    dropWatchers(entry);
    entries.delete(entry.dir);
  };

  /** Brings one sandbox directory's listener in line with what is on disk. */
  const reconcile = async (entry: Entry): Promise<void> => {
    if (closed) return;
    const dirStat = await lstat(entry.dir).catch(() => undefined);
    if (!dirStat?.isDirectory()) {
      await stopServing(entry);
      forget(entry);
      return;
    }
    watchEntry(entry);
    const hvsock = await findHvsock(entry.dir);
    if (!hvsock) {
      // The VM is not up yet, or it stopped.
      await stopServing(entry);
      entry.state = 'pending';
      entry.skip = undefined;
      return;
    }
    const socketPath = `${hvsock}_${vsockPort}`;
    if (entry.state === 'serving') {
      if (entry.socketPath === socketPath && (await exists(socketPath))) return;
      // Our socket file went away (or the layout changed): listen again.
      await stopServing(entry);
    }
    if (closed) return;
    const bytes = Buffer.byteLength(socketPath);
    if (bytes > MAX_UNIX_PATH_BYTES) {
      skip(
        entry,
        socketPath,
        'path_too_long',
        `${socketPath} is ${bytes} bytes, longer than the ${MAX_UNIX_PATH_BYTES} bytes of sun_path; use a shorter Kata runtime directory`,
      );
      return;
    }
    const other = serving.get(entry.id);
    if (other && other !== entry) {
      skip(entry, socketPath, 'duplicate_sandbox_id', `Sandbox ${entry.id} is already served from ${other.dir}`);
      return;
    }
    if (serving.size >= maxSandboxes) {
      skip(entry, socketPath, 'too_many_sandboxes', `${maxSandboxes} sandboxes are served already (maxSandboxes)`);
      return;
    }
    const address = `unix://${socketPath}`;
    try {
      const info = await agent.addListener({ address, tenant: entry.id, unixSocketMode: socketMode });
      entry.address = info.address;
    } catch (error) {
      const failure = FerryError.from(error);
      if (failure.reason === 'NO_SUCH_DIRECTORY') {
        entry.state = 'pending'; // the sandbox went away meanwhile; the next event or scan tells
        return;
      }
      skip(entry, socketPath, SKIP_REASONS[failure.reason] ?? 'listen_failed', failure.rawMessage);
      return;
    }
    entry.state = 'serving';
    entry.socketPath = socketPath;
    entry.skip = undefined;
    serving.set(entry.id, entry);
    if (closed) return;
    emit({ type: 'listening', sandboxId: entry.id, address: entry.address });
    requestPods();
  };

  const entryFor = (dir: string): Entry | undefined => {
    let entry = entries.get(dir);
    if (entry) return entry;
    const id = dir.slice(dirname(dir).length + 1);
    if (id === '' || id.startsWith('.')) return undefined;
    entry = {
      dir,
      id,
      firstSeen: Date.now(),
      state: 'pending',
      address: undefined,
      socketPath: undefined,
      pod: undefined,
      skip: undefined,
      watchers: new Map(),
      chain: Promise.resolve(),
      queued: false,
    };
    entries.set(dir, entry);
    return entry;
  };

  /** Runs a reconciliation of `dir` after those already queued for it. */
  const schedule = (dir: string): Promise<void> => {
    const entry = entryFor(dir);
    if (!entry || closed) return Promise.resolve();
    if (entry.queued) return entry.chain;
    entry.queued = true;
    const run = () => {
      entry.queued = false; // what changes from now on is looked at by the next run
      return reconcile(entry);
    };
    entry.chain = entry.chain.then(run, run).catch((error: unknown) => {
      emit({ type: 'error', message: `Cannot look at sandbox ${entry.id}`, cause: error });
    });
    return entry.chain;
  };

  // ---- roots ----

  /** Watches `root`, or while it does not exist its nearest existing ancestor, to notice it appear. */
  const watchRoot = async (root: string): Promise<void> => {
    let path = root;
    while (!(await exists(path))) {
      const parent = dirname(path);
      if (parent === path) return;
      path = parent;
    }
    const current = rootWatchers.get(root);
    if (current?.path === path) return;
    current?.watcher.close();
    rootWatchers.delete(root);
    const onChange =
      path === root
        ? (name: string | null) => void (name ? schedule(join(root, name)) : scanRoot(root))
        : () => void watchRoot(root).then(() => scanRoot(root));
    const watcher = watchPath(path, onChange);
    if (!watcher) return;
    rootWatchers.set(root, { path, watcher });
    watcher.on('close', () => {
      if (rootWatchers.get(root)?.watcher === watcher) rootWatchers.delete(root);
    });
  };

  const scanRoot = async (root: string): Promise<void> => {
    if (closed) return;
    let names: string[] = [];
    try {
      const dirents = await readdir(root, { withFileTypes: true });
      names = dirents.filter((d) => d.isDirectory()).map((d) => d.name);
      rootErrors.delete(root);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') rootErrors.delete(root);
      else rootErrors.set(root, `cannot read ${root}: ${code ?? (error as Error).message}`);
    }
    await watchRoot(root);
    const dirs = new Set(names.map((name) => join(root, name)));
    for (const entry of entries.values()) {
      if (dirname(entry.dir) === root && !dirs.has(entry.dir)) dirs.add(entry.dir);
    }
    await Promise.all([...dirs].map((dir) => schedule(dir)));
  };

  const rescan = (): Promise<void> => {
    scanning ??= (async () => {
      try {
        await Promise.all(roots.map(scanRoot));
        if ([...serving.values()].some((e) => e.pod === undefined)) requestPods();
      } finally {
        scanning = undefined;
      }
    })();
    return scanning;
  };

  // ---- pods ----

  let podRequest: Promise<void> | undefined;
  let podAgain = false;
  const requestPods = () => {
    if (!resolvePods || closed) return;
    if (podRequest) {
      podAgain = true;
      return;
    }
    podRequest = (async () => {
      do {
        podAgain = false;
        let pods: ReadonlyMap<string, PodRef>;
        try {
          pods = await resolvePods();
        } catch (error) {
          emit({ type: 'error', message: 'Cannot name the pods of the sandboxes', cause: error });
          return;
        }
        for (const entry of serving.values()) {
          const pod = pods.get(entry.id);
          if (!pod || samePod(pod, entry.pod)) continue;
          entry.pod = pod;
          emit({ type: 'pod', sandboxId: entry.id, pod });
        }
      } while (podAgain && !closed);
    })().finally(() => {
      podRequest = undefined;
    });
  };

  // ---- timers ----

  const rescanTimer = setInterval(() => void rescan(), rescanIntervalMs);
  rescanTimer.unref();
  const pendingTimer = setInterval(() => {
    const now = Date.now();
    for (const entry of entries.values()) {
      if (entry.state === 'pending' && now - entry.firstSeen < pendingPollWindowMs) void schedule(entry.dir);
    }
  }, pendingPollMs);
  pendingTimer.unref();

  await rescan();
  scanned = true;

  const close = async () => {
    if (closed) return;
    closed = true;
    clearInterval(rescanTimer);
    clearInterval(pendingTimer);
    for (const { watcher } of rootWatchers.values()) watcher.close();
    rootWatchers.clear();
    for (const entry of entries.values()) dropWatchers(entry);
    await Promise.allSettled([...entries.values()].map((e) => e.chain));
    await podRequest;
  };

  return {
    roots,
    readiness() {
      if (closed) return { ready: false, reason: 'the sandbox watcher is closed' };
      if (!scanned) return { ready: false, reason: 'looking for sandboxes' };
      const [error] = rootErrors.values();
      return error === undefined ? { ready: true } : { ready: false, reason: error };
    },
    tenantOrigin(tenant): TenantOrigin | undefined {
      const entry = serving.get(tenant);
      if (!entry) return undefined;
      return entry.pod ? { sandboxId: entry.id, pod: entry.pod } : { sandboxId: entry.id };
    },
    skipped() {
      return [...entries.values()].flatMap((e) => (e.state === 'skipped' && e.skip ? [e.skip] : []));
    },
    skipCounts: () => skipCounts,
    sandboxes() {
      return [...serving.values()].map((e) => ({
        sandboxId: e.id,
        dir: e.dir,
        address: e.address as string,
        ...(e.pod ? { pod: e.pod } : {}),
      }));
    },
    rescan,
    close,
    [Symbol.asyncDispose]: close,
  };
}

function samePod(a: PodRef, b: PodRef | undefined): boolean {
  return b !== undefined && a.namespace === b.namespace && a.name === b.name && a.uid === b.uid;
}
