import type { Address } from './address.js';
import { formatAddress } from './format-address.js';
import { parseAddress } from './parse-address.js';

/** Accepts either form at a public boundary and returns the validated address and its URI text. */
export function toAddress(input: string | Address): { readonly address: Address; readonly text: string } {
  if (typeof input === 'string') {
    const address = parseAddress(input);
    return { address, text: formatAddress(address) };
  }
  const text = formatAddress(input);
  return { address: parseAddress(text), text };
}
