import { isIPv4, isIPv6 } from 'node:net';
import { Code, FerryError } from '@ferry/core';
import type { Address } from './address.js';

const ACCEPTED_FORMS =
  'unix:///absolute/path, unix:relative/path, tcp://host:port, tcp://[ipv6]:port, vsock://cid:port, local: or memory:name';

const HOSTNAME = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;
const U32_MAX = 0xffff_ffff;

/**
 * Parses an address URI into an {@link Address}. Throws FerryError INVALID_ARGUMENT, reason `INVALID_ADDRESS`,
 * naming the input and the accepted forms.
 */
export function parseAddress(input: string): Address {
  if (typeof input !== 'string') {
    throw new TypeError(`parseAddress() expects a string, got ${input === null ? 'null' : typeof input}`);
  }
  if (input.trim() !== input) throw invalidAddress(input, 'it has leading or trailing whitespace');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we refuse
  if (/[\u0000-\u001f\u007f]/.test(input)) throw invalidAddress(input, 'it contains control characters');
  const colon = input.indexOf(':');
  if (colon <= 0) throw invalidAddress(input, 'it has no scheme');
  const scheme = input.slice(0, colon).toLowerCase();
  const rest = input.slice(colon + 1);
  switch (scheme) {
    case 'unix':
      return parseUnix(input, rest);
    case 'tcp':
      return parseTcp(input, rest);
    case 'vsock':
      return parseVsock(input, rest);
    case 'local':
      if (rest !== '') throw invalidAddress(input, 'local: takes nothing after the colon');
      return { scheme: 'local' };
    case 'memory':
      if (rest === '') throw invalidAddress(input, 'the memory name is empty');
      if (/\s/.test(rest) || rest.startsWith('/')) {
        throw invalidAddress(input, 'a memory name has no whitespace and does not start with "/"');
      }
      return { scheme: 'memory', name: rest };
    default:
      throw invalidAddress(input, `the scheme "${scheme}" is unknown`);
  }
}

/** The INVALID_ADDRESS error of {@link parseAddress}, for callers that validate addresses themselves. */
export function invalidAddress(input: string, detail: string): FerryError {
  return new FerryError(
    Code.INVALID_ARGUMENT,
    `Invalid address ${JSON.stringify(input)}: ${detail}; accepted forms are ${ACCEPTED_FORMS}`,
    { reason: 'INVALID_ADDRESS' },
  );
}

function parseUnix(input: string, rest: string): Address {
  let path = rest;
  if (rest.startsWith('//')) {
    path = rest.slice(2);
    if (!path.startsWith('/')) {
      throw invalidAddress(
        input,
        'unix:// must be followed by an absolute path (unix:///run/ferry.sock); write a relative path as unix:relative/path',
      );
    }
  }
  if (path === '') throw invalidAddress(input, 'the socket path is empty');
  return { scheme: 'unix', path };
}

function parseTcp(input: string, rest: string): Address {
  if (!rest.startsWith('//')) throw invalidAddress(input, 'a tcp address is written tcp://host:port');
  const authority = rest.slice(2);
  if (/[/?#@]/.test(authority)) throw invalidAddress(input, 'only host:port may follow tcp://');
  let host: string;
  let portText: string;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    host = close < 0 ? '' : authority.slice(1, close);
    if (!isIPv6(host)) throw invalidAddress(input, 'the bracketed host is not an IPv6 address');
    const after = authority.slice(close + 1);
    if (!after.startsWith(':')) throw invalidAddress(input, 'the port is missing');
    portText = after.slice(1);
  } else {
    const colon = authority.lastIndexOf(':');
    if (colon < 0) throw invalidAddress(input, 'the port is missing');
    host = authority.slice(0, colon);
    portText = authority.slice(colon + 1);
    if (host.includes(':')) throw invalidAddress(input, 'an IPv6 host goes in brackets, as in tcp://[::1]:5000');
    if (host === '') throw invalidAddress(input, 'the host is empty');
    if (!isIPv4(host) && !HOSTNAME.test(host))
      throw invalidAddress(input, `"${host}" is not a host name or IP address`);
  }
  const port = parseUint(portText, 0xffff);
  if (port === undefined) throw invalidAddress(input, 'the port must be an integer from 0 to 65535');
  return { scheme: 'tcp', host, port };
}

function parseVsock(input: string, rest: string): Address {
  if (!rest.startsWith('//')) throw invalidAddress(input, 'a vsock address is written vsock://cid:port');
  const [cidText = '', portText, ...extra] = rest.slice(2).split(':');
  if (portText === undefined || extra.length > 0)
    throw invalidAddress(input, 'a vsock address is written vsock://cid:port');
  const cid = parseUint(cidText, U32_MAX);
  if (cid === undefined) throw invalidAddress(input, 'the cid must be an integer from 0 to 4294967295');
  const port = parseUint(portText, U32_MAX);
  if (port === undefined) throw invalidAddress(input, 'the port must be an integer from 0 to 4294967295');
  return { scheme: 'vsock', cid, port };
}

function parseUint(text: string, max: number): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const value = Number(text);
  return value <= max ? value : undefined;
}
