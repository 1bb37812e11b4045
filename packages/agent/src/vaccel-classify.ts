import { Code, FerryError } from '@ferry/core';
import type { CallContext } from './accelerator-service.js';

/**
 * The length of the `tags` answer of ImageClassification: vAccel's host runtime (the Rust binding the
 * vaccel-rust agent calls) hands its plugin 1024-byte output buffers and sends the whole buffer back,
 * and vaccel-rust's RPC client copies as many bytes as the guest's own buffer holds (typically 256 or
 * 512) out of the answer. A shorter answer would make that client fail, so Ferry answers 1024 bytes too.
 */
export const VACCEL_TAGS_BYTES = 1024;

export interface VaccelOptions {
  /** The model-repository model ImageClassification runs (`ferry agent --vaccel-classifier <name>`). */
  readonly classifier?: string | undefined;
  /** The agent's model directory: the only place `RegisterResource` paths may name. */
  readonly modelDir?: string | undefined;
}

/** The top-1 label as vAccel's image-classification plugins print it: `"<score in %, 3 decimals>% <label>"`. */
export function vaccelTag(label: string, score: number): string {
  return `${(score * 100).toFixed(3)}% ${label}`;
}

/** `text` as UTF-8 in `length` bytes: cut at a character boundary to leave a terminating NUL, NUL-padded. */
export function nulPadded(text: string, length: number): Uint8Array {
  const out = new Uint8Array(length);
  if (length === 0) return out;
  const { written } = new TextEncoder().encodeInto(text, out.subarray(0, length - 1));
  out.fill(0, written);
  return out;
}

/** Runs the agent's vAccel classifier on an encoded image; the top-1 tag text (empty when no class passed). */
export async function classifyForVaccel(
  image: Uint8Array,
  options: VaccelOptions,
  { tenant, services, signal, report }: CallContext,
): Promise<string> {
  const model = options.classifier;
  if (model === undefined || model === '') {
    throw new FerryError(
      Code.FAILED_PRECONDITION,
      'ImageClassification needs a classifier: start the agent with --vaccel-classifier <name> (a model in its model directory)',
      { reason: 'VACCEL_NO_CLASSIFIER' },
    );
  }
  const [top] = await services.ops.classify(image, { model, topK: 1, signal, report, tenant: tenant.name });
  return top ? vaccelTag(top.label, top.score) : '';
}
