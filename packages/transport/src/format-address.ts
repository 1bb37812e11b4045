import type { Address } from './address.js';
import { invalidAddress, parseAddress } from './parse-address.js';

/**
 * Writes an {@link Address} in its URI form; `parseAddress(formatAddress(a))` equals `a`. An address that
 * {@link parseAddress} would refuse (port 70000, empty path) throws the same INVALID_ADDRESS error.
 */
export function formatAddress(address: Address): string {
  if (typeof address !== 'object' || address === null) {
    throw new TypeError(`formatAddress() expects an address object, got ${address === null ? 'null' : typeof address}`);
  }
  let text: string;
  switch (address.scheme) {
    case 'unix':
      text = String(address.path).startsWith('/') ? `unix://${address.path}` : `unix:${address.path}`;
      break;
    case 'tcp':
      text = `tcp://${String(address.host).includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
      break;
    case 'vsock':
      text = `vsock://${address.cid}:${address.port}`;
      break;
    case 'local':
      text = 'local:';
      break;
    case 'memory':
      text = `memory:${address.name}`;
      break;
    default:
      throw new TypeError(
        `formatAddress() got the unknown scheme ${JSON.stringify((address as { scheme: unknown }).scheme)}`,
      );
  }
  // The parser is the one definition of a valid address: anything it refuses or reads differently is refused.
  const parsed = parseAddress(text);
  if (!sameAddress(parsed, address)) throw invalidAddress(text, 'the address object does not survive a round trip');
  return text;
}

function sameAddress(a: Address, b: Address): boolean {
  switch (a.scheme) {
    case 'unix':
      return b.scheme === 'unix' && a.path === b.path;
    case 'tcp':
      return b.scheme === 'tcp' && a.host === b.host && a.port === b.port;
    case 'vsock':
      return b.scheme === 'vsock' && a.cid === b.cid && a.port === b.port;
    case 'local':
      return b.scheme === 'local';
    case 'memory':
      return b.scheme === 'memory' && a.name === b.name;
  }
}
