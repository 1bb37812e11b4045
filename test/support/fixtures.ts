import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { type Agent, type AgentOptions, createAgent } from '@ferry/agent';
import { createNoopBackend } from '@ferry/backend-noop';
import { createOnnxRuntimeBackend } from '@ferry/backend-onnxruntime';
import { type Client, type ClientOptions, createClient } from '@ferry/client';
import { registryOf } from '@ferry/core/testing';

/** A fresh temp dir (short path: unix socket paths are limited), removed after the test. */
export async function tempDir(t: TestContext, prefix = 'fy-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** An agent with the ONNX Runtime (default) and noop backends, destroyed after the test. */
export async function startAgent(t: TestContext, options: Partial<AgentOptions> = {}): Promise<Agent> {
  const agent = await createAgent({
    backends: registryOf(createOnnxRuntimeBackend(), createNoopBackend()),
    ...options,
  });
  t.after(() => agent.destroy());
  return agent;
}

export function client(t: TestContext, options: ClientOptions): Client {
  const c = createClient(options);
  t.after(() => c.destroy());
  return c;
}

/** Resolves with the error a promise rejects with; fails if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error & { code?: number; reason?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: number; reason?: string };
  }
  throw new Error('expected the call to fail');
}
