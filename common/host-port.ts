// `HOST:PORT` addresses as operators type them (`--listen 0.0.0.0:9999`, `--analyzer box7:9999`).
// HOST is an IPv4 address or a host name (resolved later, by whoever opens the socket). The
// TCP listeners (--metrics, --http) also take `[IPv6]:PORT` (tryParseListenAddress):
// `[::]:9401` listens on every IPv6 and, dual-stack, every IPv4 address. The packet path and
// the control plane are IPv4 (SPEC), and say so instead of failing later.
import net from 'node:net';
import { DicapError } from './errors.js';

export interface HostPort {
  /** IPv4 dotted quad or host name, as given (host names are not resolved here). */
  readonly host: string;
  /** 1..65535. */
  readonly port: number;
}

/** Either the parsed address or the problem, phrased to follow the offending text. */
export type HostPortParse =
  { readonly ok: true; readonly value: HostPort } | { readonly ok: false; readonly problem: string };

const EXAMPLE = 'such as 127.0.0.1:9999';
const MAX_HOST_NAME_LENGTH = 253; // RFC 1035, without the trailing dot
const HOST_NAME_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/; // RFC 1123 label

function fail(problem: string): HostPortParse {
  return { ok: false, problem };
}

/** Why `host` is not an IPv4 address or host name, or undefined when it is one. */
export function hostProblem(host: string): string | undefined {
  if (host === '') return `has no host; give an IPv4 address or host name before the colon, ${EXAMPLE}`;
  if (host.includes(':') || host.startsWith('[')) {
    return `looks like an IPv6 address, which only the HTTP listeners (--metrics, --http) take, as [ADDRESS]:PORT; give an IPv4 address or host name, ${EXAMPLE}`;
  }
  if (/^[0-9.]+$/.test(host)) {
    // All digits and dots: the operator meant an IPv4 address, so hold it to that.
    const parts = host.split('.');
    const valid = parts.length === 4 && parts.every((p) => /^[0-9]{1,3}$/.test(p) && Number(p) <= 255);
    return valid
      ? undefined
      : `has host "${host}", which is not an IPv4 address (four numbers 0..255 joined by dots)`;
  }
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name.length > MAX_HOST_NAME_LENGTH || !name.split('.').every((label) => HOST_NAME_LABEL.test(label))) {
    return `has host "${host}", which is not a valid host name (letters, digits and hyphens in dot-separated labels)`;
  }
  return undefined;
}

/** Parses `HOST:PORT` without throwing; see `parseHostPort` for the throwing form. */
export function tryParseHostPort(text: string): HostPortParse {
  const colon = text.lastIndexOf(':');
  if (colon < 0) return fail(`has no port; give HOST:PORT ${EXAMPLE}`);
  const host = text.slice(0, colon);
  const problem = hostProblem(host);
  if (problem) return fail(problem);
  return withPort(host, text.slice(colon + 1));
}

function withPort(host: string, portText: string): HostPortParse {
  if (!/^[0-9]+$/.test(portText))
    return fail(`has port "${portText}", which is not a number; give a port 1..65535, ${EXAMPLE}`);
  const port = Number(portText);
  if (port < 1 || port > 65535)
    return fail(`has port ${portText}, outside 1..65535; give a port 1..65535, ${EXAMPLE}`);
  return { ok: true, value: { host, port } };
}

/** tryParseHostPort, and also `[IPv6]:PORT` (host without the brackets): for TCP listeners. */
export function tryParseListenAddress(text: string): HostPortParse {
  const bracketed = /^\[([^\]]*)\]:(.*)$/.exec(text);
  if (!bracketed) return tryParseHostPort(text);
  const [, host, portText] = bracketed;
  if (!net.isIPv6(host!))
    return fail(`has host "[${host}]", which is not an IPv6 address; give one such as [::]:9401`);
  return withPort(host!, portText!);
}

/** Parses `HOST:PORT`; throws DicapError('DICAP_ERR_BAD_ADDRESS', '"x" has no port; …'). */
export function parseHostPort(text: string): HostPort {
  const parsed = tryParseHostPort(text);
  if (!parsed.ok) throw new DicapError('DICAP_ERR_BAD_ADDRESS', `"${text}" ${parsed.problem}`);
  return parsed.value;
}

export function formatHostPort(address: HostPort): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
