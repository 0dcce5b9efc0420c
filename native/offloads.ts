// Receive and segmentation offloads of an interface, set through the SIOCETHTOOL ioctl
// (native/src/offload_bindings.cc) instead of the ethtool program.
import { native } from './addon.js';

/** The offloads the lab turns off on every interface a mirrored frame crosses, as `ethtool -K` names them. */
export const OFFLOADS_OFF = ['gro', 'lro', 'tso', 'gso'] as const;
export type Offload = (typeof OFFLOADS_OFF)[number];

/** State of each offload afterwards: "off", or "on [fixed]" when the driver does not let it change. */
export type OffloadState = Record<Offload, string>;

/**
 * Turns GRO, LRO, TSO and GSO of `name` off where the driver allows it, so that the kernel
 * neither merges received frames nor splits sent ones. `namespace` is an `ip netns` name
 * ("" for this process's own). Needs CAP_NET_ADMIN (and CAP_SYS_ADMIN for a namespace).
 */
export function disableOffloads(namespace: string, name: string): OffloadState {
  return native.disableOffloads(namespace, name) as OffloadState;
}

/**
 * Turns on the features of `name` with these kernel names (`ethtool -k` lists them, e.g.
 * "rx-gro") where the driver allows it; returns the names that are not on afterwards.
 * `namespace` as for disableOffloads.
 */
export function enableFeatures(namespace: string, name: string, features: readonly string[]): string[] {
  return native.enableFeatures(namespace, name, [...features]) as string[];
}
