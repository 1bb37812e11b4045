import { createHash } from 'node:crypto';
import { open, readdir, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, sep } from 'node:path';
import { Code, FerryError } from '@ferry/core';

export interface ModelFile {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly sha256: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}(\/[A-Za-z0-9][A-Za-z0-9._-]{0,127}){0,7}$/;
const FILE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * The files of the model directory: `<dir>/<name>/model.onnx`, or `<dir>/<path>.onnx`, and their sidecars,
 * read with a size limit (the repository, `ModelRepository`, adds the built-ins and loading). A name can
 * never reach outside the directory: `..`, absolute paths and symlinks that leave it are refused.
 */
export class ModelFiles {
  readonly #dir: string;
  readonly #maxBytes: number;
  #realDir: Promise<string> | undefined;

  constructor(dir: string, maxBytes: number) {
    this.#dir = dir;
    this.#maxBytes = maxBytes;
  }

  async read(name: string): Promise<ModelFile> {
    const bytes = await this.#readInside(modelPath(name), this.#maxBytes, `Model "${name}"`);
    if (!bytes) {
      throw new FerryError(Code.NOT_FOUND, `Model "${name}" is not in the model directory`, {
        reason: 'MODEL_NOT_FOUND',
      });
    }
    return { name, bytes, sha256: sha256Hex(bytes) };
  }

  /** Whether the model `name` is a file inside the directory (false while the directory is missing). */
  async has(name: string): Promise<boolean> {
    const path = modelPath(name);
    if (
      !(await this.#root().then(
        () => true,
        () => false,
      ))
    )
      return false;
    const real = await this.#resolveInside(path, `Model "${name}"`);
    return real !== undefined && (await stat(real)).isFile();
  }

  /** A file beside a model (`<name>/ferry.json`, its labels), or undefined when there is none. */
  async readSidecar(name: string, file: string, maxBytes: number): Promise<Uint8Array | undefined> {
    checkName(name);
    if (!FILE.test(file)) {
      throw new FerryError(Code.FAILED_PRECONDITION, `Invalid file name "${file}" for model "${name}"`, {
        reason: 'INVALID_MODEL_FILE',
      });
    }
    return this.#readInside(join(name, file), maxBytes, `${name}/${file}`);
  }

  /** Names of the `<name>/model.onnx` models in the directory (at most `limit`). */
  async list(limit: number): Promise<string[]> {
    const root = await this.#root().catch(() => undefined);
    if (root === undefined) return [];
    const names: string[] = [];
    for (const entry of await readdir(root, { withFileTypes: true })) {
      if (names.length >= limit) break;
      if (!entry.isDirectory() || !FILE.test(entry.name)) continue;
      if (await this.has(entry.name).catch(() => false)) names.push(entry.name);
    }
    return names.sort();
  }

  #root(): Promise<string> {
    if (!this.#realDir) {
      const resolving = realpath(this.#dir);
      this.#realDir = resolving;
      // A directory that is missing now may be there on the next call.
      resolving.catch(() => {
        if (this.#realDir === resolving) this.#realDir = undefined;
      });
    }
    return this.#realDir;
  }

  async #resolveInside(relative: string, what: string): Promise<string | undefined> {
    const root = await this.#root();
    let real: string;
    try {
      real = await realpath(join(root, relative));
    } catch {
      return undefined;
    }
    if (!real.startsWith(root + sep)) {
      throw new FerryError(Code.PERMISSION_DENIED, `${what} resolves outside the model directory`, {
        reason: 'MODEL_OUTSIDE_DIRECTORY',
      });
    }
    return real;
  }

  async #readInside(relative: string, maxBytes: number, what: string): Promise<Uint8Array | undefined> {
    const real = await this.#resolveInside(relative, what);
    if (real === undefined) return undefined;
    const info = await stat(real);
    if (!info.isFile()) return undefined;
    if (info.size > maxBytes) {
      throw new FerryError(Code.RESOURCE_EXHAUSTED, `${what} is ${info.size} bytes, over ${maxBytes}`, {
        reason: 'MODEL_TOO_LARGE',
      });
    }
    const handle = await open(real, 'r');
    try {
      return new Uint8Array(await handle.readFile());
    } finally {
      await handle.close();
    }
  }
}

function checkName(name: string): void {
  if (isAbsolute(name) || !NAME.test(name) || name.split('/').some((part) => part === '..' || part === '.')) {
    throw new FerryError(Code.INVALID_ARGUMENT, `Invalid model name "${name}"`, { reason: 'INVALID_MODEL_NAME' });
  }
}

/** `<name>/model.onnx`, or the name itself for a path ending in .onnx. */
function modelPath(name: string): string {
  checkName(name);
  return name.endsWith('.onnx') ? name : join(name, 'model.onnx');
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
