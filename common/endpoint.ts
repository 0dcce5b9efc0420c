// Host names in flags become IPv4 endpoints once, at start: the native engine and the
// control channel take addresses, never names, and a name that does not resolve is a
// configuration error named after the flag that carried it.
import dgram from 'node:dgram';
import dns from 'node:dns/promises';
import net from 'node:net';
import { DicapError, errorCode, errorMessage } from './errors.js';
import { formatHostPort, type HostPort } from './host-port.js';

/** An IPv4 address for `host` (an address is returned as it is). `flag` names it in errors. */
export async function resolveIpv4(host: string, flag: string): Promise<string> {
  if (net.isIPv4(host)) return host;
  try {
    return (await dns.lookup(host, { family: 4 })).address;
  } catch (error) {
    throw new DicapError(
      'DICAP_ERR_BAD_CONFIG',
      `${flag}: cannot resolve "${host}" to an IPv4 address (${errorCode(error) ?? errorMessage(error)}); give an address or a resolvable name`,
    );
  }
}

/** HOST:PORT as an IPv4 endpoint. */
export async function resolveEndpoint(
  address: HostPort,
  flag: string,
): Promise<{ ip: string; port: number }> {
  return { ip: await resolveIpv4(address.host, `${flag} ${formatHostPort(address)}`), port: address.port };
}

/**
 * The local IPv4 address this host sends from towards `to` (what the routing table picks), so
 * a socket can bind there instead of on every address. No packet is sent.
 */
export async function sourceAddressTowards(to: { ip: string; port: number }): Promise<string> {
  const socket = dgram.createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(to.port, to.ip, () => resolve());
    });
    return socket.address().address;
  } catch (error) {
    throw new DicapError(
      'DICAP_ERR_BAD_CONFIG',
      `no route to the coordinator ${to.ip}:${to.port} (${errorCode(error) ?? errorMessage(error)}); check the address, or give --control-address IP`,
    );
  } finally {
    socket.close();
  }
}
