/**
 * Scatter/gather encoding: large `bytes` fields (tensor data) are not copied into the frame but handed to
 * the socket as buffers of their own, in the same `writev` as the encoded bytes around them.
 */

/** Byte fields at least this long are gathered rather than copied; shorter ones cost less to copy. */
export const GATHER_MIN_BYTES = 32 * 1024;

/** The large fields one encoding left out of its buffer, in order, with where each belongs. */
export class Gather {
  readonly #cuts: { readonly at: number; readonly data: Uint8Array }[] = [];
  #bytes = 0;

  /** Whether `data` is long enough to be gathered rather than copied. */
  static wants(data: Uint8Array): boolean {
    return data.byteLength >= GATHER_MIN_BYTES;
  }

  /** Bytes of `data` that a gathering writer leaves out of its buffer: the sum of its large fields. */
  static bytesOf(data: Uint8Array): number {
    return data.byteLength >= GATHER_MIN_BYTES ? data.byteLength : 0;
  }

  /** Records that `data` goes at offset `at` of the encoded buffer (between the bytes before and after). */
  cut(at: number, data: Uint8Array): void {
    this.#cuts.push({ at, data });
    this.#bytes += data.byteLength;
  }

  /** Bytes gathered so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** `buf` (written up to `end`) split at the cuts, with the gathered fields in between: one writev's buffers. */
  parts(buf: Uint8Array, end: number): Uint8Array[] {
    const parts: Uint8Array[] = [];
    let from = 0;
    for (const { at, data } of this.#cuts) {
      if (at > from) parts.push(buf.subarray(from, at));
      parts.push(data);
      from = at;
    }
    if (end > from) parts.push(buf.subarray(from, end));
    return parts;
  }
}
