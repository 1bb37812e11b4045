import { createHash } from 'node:crypto';
import { open, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, sep } from 'node:path';
import { Code, FerryError } from '@ferry/core';

export interface ModelFile {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly sha256: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}(\/[A-Za-z0-9][A-Za-z0-9._-]{0,127}){0,7}$/;

/**
 * The agent's model repository: `<dir>/<name>/model.onnx`, or `<dir>/<path>.onnx`. A name can never
 * reach outside the directory: `..`, absolute paths and symlinks that leave it are refused.
 */
export class ModelDirectory {
  readonly #dir: string;
  readonly #maxBytes: number;
  #realDir: Promise<string> | undefined;

  constructor(dir: string, maxBytes: number) {
    this.#dir = dir;
    this.#maxBytes = maxBytes;
  }

  async read(name: string): Promise<ModelFile> {
    if (isAbsolute(name) || !NAME.test(name) || name.split('/').some((part) => part === '..' || part === '.')) {
      throw new FerryError(Code.INVALID_ARGUMENT, `Invalid model name "${name}"`, { reason: 'INVALID_MODEL_NAME' });
    }
    this.#realDir ??= realpath(this.#dir);
    const root = await this.#realDir;
    const candidate = name.endsWith('.onnx') ? join(root, name) : join(root, name, 'model.onnx');
    let real: string;
    try {
      real = await realpath(candidate);
    } catch {
      throw new FerryError(Code.NOT_FOUND, `Model "${name}" is not in the model directory`, {
        reason: 'MODEL_NOT_FOUND',
      });
    }
    if (!real.startsWith(root + sep)) {
      throw new FerryError(Code.PERMISSION_DENIED, `Model "${name}" resolves outside the model directory`, {
        reason: 'MODEL_OUTSIDE_DIRECTORY',
      });
    }
    const info = await stat(real);
    if (!info.isFile()) {
      throw new FerryError(Code.NOT_FOUND, `Model "${name}" is not a file`, { reason: 'MODEL_NOT_FOUND' });
    }
    if (info.size > this.#maxBytes) {
      throw new FerryError(Code.RESOURCE_EXHAUSTED, `Model "${name}" is ${info.size} bytes, over ${this.#maxBytes}`, {
        reason: 'MODEL_TOO_LARGE',
      });
    }
    const handle = await open(real, 'r');
    try {
      const bytes = new Uint8Array(await handle.readFile());
      return { name, bytes, sha256: sha256Hex(bytes) };
    } finally {
      await handle.close();
    }
  }
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
