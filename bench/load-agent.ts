// Many tenants at once, each with its own mix of calls whose answers are checked by content, so that an
// answer routed to the wrong call or tenant is seen. Loopback (unix sockets) only.
import { readFileSync } from 'node:fs';
import { type Client, createClient } from '@ferry/client';
import { Code, tensor } from '@ferry/core';
import { mixedExpected, mixedInputs, mixedModel } from '../test/support/models.js';

export interface LoadOptions {
  /** The agent's process id, for its RSS. */
  readonly pid: number;
  /** One address per tenant (each a listener of the agent). */
  readonly addresses: readonly string[];
  readonly callsPerTenant: number;
  /** Calls in flight per tenant (default 4). */
  readonly concurrency?: number;
  /** An image per tenant for its OCR calls; a tenant without one makes none. */
  readonly images?: readonly (Uint8Array | undefined)[];
  /** One call in this many is an OCR (default 40). */
  readonly ocrEvery?: number;
}

export interface LoadReport {
  readonly calls: number;
  readonly byKind: Readonly<Record<string, number>>;
  /** Calls answered with the expected result or the expected error. */
  readonly right: number;
  readonly wrong: number;
  readonly firstWrong: string | undefined;
  readonly rssBeforeBytes: number;
  readonly rssAfterBytes: number;
  readonly peakRssBytes: number;
  readonly seconds: number;
}

function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
}

const equalBytes = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

/** Runs the load; see {@link LoadOptions}. */
export async function loadAgent(options: LoadOptions): Promise<LoadReport> {
  const { pid, addresses, callsPerTenant } = options;
  const concurrency = options.concurrency ?? 4;
  const ocrEvery = options.ocrEvery ?? 40;
  const byKind: Record<string, number> = {};
  let right = 0;
  let wrong = 0;
  let firstWrong: string | undefined;
  const check = (kind: string, ok: boolean, what: () => string) => {
    byKind[kind] = (byKind[kind] ?? 0) + 1;
    if (ok) right++;
    else {
      wrong++;
      firstWrong ??= `${kind}: ${what()}`;
    }
  };

  // Set-up: a client, a session and the shared model per tenant; each tenant's OCR answer, once, as its reference.
  const tenants = await Promise.all(
    addresses.map(async (address, t) => {
      const client: Client = createClient({ address, maxInflight: concurrency * 2 });
      const session = await client.createSession();
      const { modelId } = await client.registerModel(session, { bytes: mixedModel() });
      const image = options.images?.[t];
      const ocrText = image ? (await client.ocr(image)).map((l) => l.text).join('\n') : undefined;
      return { client, modelId, image, ocrText };
    }),
  );
  const rssBefore = procStatus(pid, 'VmRSS');
  const started = performance.now();

  const call = async (t: number, i: number) => {
    const tenant = tenants[t] as (typeof tenants)[number];
    const { client, modelId } = tenant;
    const seed = t * 1_000_003 + i;
    const slot = i % 20;
    try {
      if (tenant.image && i % ocrEvery === ocrEvery - 1) {
        const text = (await client.ocr(tenant.image)).map((l) => l.text).join('\n');
        check('ocr', text === tenant.ocrText, () => `tenant ${t} read "${text}", not "${tenant.ocrText}"`);
      } else if (slot === 0) {
        // A bad input: the wrong dtype.
        const error = await client
          .infer(modelId, { ...mixedInputs(seed), x: tensor('int32', [2, 3], [1, 2, 3, 4, 5, 6]) })
          .then(
            () => undefined,
            (e: { code?: number }) => e,
          );
        check('bad-dtype', error?.code === Code.INVALID_ARGUMENT, () => `answered ${JSON.stringify(error)}`);
      } else if (slot === 1) {
        // Another tenant's (or no) model id: NOT_FOUND, never someone else's model.
        const error = await client.infer(modelId + 1000 + t, mixedInputs(seed)).then(
          () => undefined,
          (e: { code?: number }) => e,
        );
        check('unknown-model', error?.code === Code.NOT_FOUND, () => `answered ${JSON.stringify(error)}`);
      } else if (slot < 9) {
        const batch = 1 + (i % 3);
        const outputs = await client.infer(modelId, mixedInputs(seed, batch));
        const expected = mixedExpected(mixedInputs(seed, batch));
        const ok = Object.entries(expected).every(([name, want]) => {
          const got = outputs[name];
          if (!got || got.dtype !== want.dtype || got.shape.join() !== want.shape.join()) return false;
          return got.dtype === 'string' || want.dtype === 'string'
            ? JSON.stringify(got.data) === JSON.stringify(want.data)
            : equalBytes(got.data, want.data);
        });
        check('infer', ok, () => `tenant ${t} call ${i}: outputs differ`);
      } else {
        const payload = new TextEncoder().encode(`tenant ${t} call ${i} ${'x'.repeat(i % 64)}`);
        const echo = await client.noop(payload);
        check('noop', equalBytes(echo, payload), () => `tenant ${t} call ${i} got "${new TextDecoder().decode(echo)}"`);
      }
    } catch (error) {
      check('error', false, () => `tenant ${t} call ${i}: ${(error as Error).message}`);
    }
  };

  await Promise.all(
    tenants.map(async (_, t) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < callsPerTenant) await call(t, next++);
        }),
      );
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(tenants.map((t) => t.client.close()));
  return {
    calls: right + wrong,
    byKind,
    right,
    wrong,
    firstWrong,
    rssBeforeBytes: rssBefore,
    rssAfterBytes: procStatus(pid, 'VmRSS'),
    peakRssBytes: procStatus(pid, 'VmHWM'),
    seconds,
  };
}
