import { type DemoImage, linearExpected } from './demo-assets.js';

export const KINDS = ['ocr', 'classify', 'infer'] as const;
export type Kind = (typeof KINDS)[number];

/** One request of the demo's workload: where it goes, what it sends, and how its answer is judged. */
export interface DemoRequest {
  readonly kind: Kind;
  /** Path and query under the function's URL. */
  readonly path: string;
  readonly contentType: string;
  readonly body: string | Uint8Array;
  /** Why the answer's JSON body is wrong, or undefined when it is right. */
  check(body: unknown): string | undefined;
}

/** The i-th request of the mixed workload: OCR of rendered text, classification of a colour, OIP v2 infer. */
export function demoRequest(
  i: number,
  images: { readonly texts: readonly DemoImage[]; readonly colours: readonly DemoImage[] },
): DemoRequest {
  const kind = KINDS[i % KINDS.length] as Kind;
  if (kind === 'infer') {
    const x = [i % 5, 1, -2, 0.5, (i % 3) - 1, 3];
    return {
      kind,
      path: '/v2/models/linear/infer',
      contentType: 'application/json',
      body: JSON.stringify({ inputs: [{ name: 'x', shape: [2, 3], datatype: 'FP32', data: x }] }),
      check: (body) => checkInfer(body, linearExpected(x.map(Math.fround))),
    };
  }
  const list = kind === 'ocr' ? images.texts : images.colours;
  const image = list[i % list.length] as DemoImage;
  return {
    kind,
    path: kind === 'ocr' ? '/ocr' : '/classify?model=colour&topK=1',
    contentType: image.contentType,
    body: image.bytes,
    check: (body) => (kind === 'ocr' ? checkOcr(body, image.expected) : checkClassify(body, image.expected)),
  };
}

/** An OIP v2 infer answer against the expected values of its first output (float32 tolerance). */
export function checkInfer(body: unknown, want: readonly number[]): string | undefined {
  const got = (body as { outputs?: { data?: number[] }[] }).outputs?.[0]?.data ?? [];
  const ok = got.length === want.length && got.every((v, k) => Math.abs(v - (want[k] as number)) < 1e-4);
  return ok ? undefined : `infer answered ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`;
}

/** An OCR answer against the expected lines, exactly. */
export function checkOcr(body: unknown, want: readonly string[]): string | undefined {
  return same((body as { lines?: { text: string }[] }).lines?.map((l) => l.text) ?? [], want);
}

/** A classification answer's top label against the expected one. */
export function checkClassify(body: unknown, want: readonly string[]): string | undefined {
  return same([(body as { results?: { label: string }[] }).results?.[0]?.label ?? ''], want);
}

function same(got: readonly string[], want: readonly string[]): string | undefined {
  return JSON.stringify(got) === JSON.stringify(want)
    ? undefined
    : `answered ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`;
}
