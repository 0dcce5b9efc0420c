// The lab's layout: which namespaces, interfaces and addresses make up a capture cluster,
// planned as plain data (planTopology, no privileges needed) and then built
// (buildTopology) with the primitives of netns.ts.
//
//   source ── dclI-src-eth ═veth═ dclI-src-in ┐            ┌ dclI-c1-mir ═veth═ dclI-c1-pas  capture1
//   coordinator1 ── dclI-co1-inj ═ dclI-co1-in ┤ wire ns:  ├ dclI-c2-mir ═veth═ dclI-c2-pas  capture2
//   (in-band injection point)                 ┘ tc mirror └ …
//
//   management bridge dclI-br (namespace dclI-mgmt): every capture host, analyzer and
//   coordinator has a dclI-<tag>-mgt interface with an address in 198.18.0.0/24. The
//   bridge's ports receive in NAPI kernel threads: a veth's peer would otherwise receive,
//   bridge and deliver in the sender's softirq, charging an agent for its analyzer's stack.
//
// The mirror: all ingress interfaces of the wire share one tc filter block. For each
// capture host k, in order, a filter at priority k copies the frame (`mirred egress
// mirror`) to that host's mirror port and continues with the next filter; the last one
// drops the frame after its copy. tc runs the filters of one frame one after the other in
// the same softirq, so every capture host receives every frame, in the order the wire
// received them. That order is one order for all: receive processing of every ingress
// interface is steered to one CPU (RPS), so frames from the source and from injectors are
// serialised in that CPU's backlog queue before the mirror sees them.
//
// The kernel here has no matchall classifier, so the filters are u32 with an empty mask
// (`match u32 0 0 at -12`, a word of the MAC header: present in every frame, including
// those with no payload, which `at 0` would miss).
//
// Every name starts with the lab's prefix dcl<id>, so two labs (and the host) never
// collide and a leftover is recognisable; interface names stay within 15 characters.
import { DicapError } from '../common/errors.js';
import {
  MAX_INTERFACE_NAME,
  addAddress,
  addBridge,
  addNamespace,
  addVethPair,
  disableOffloads,
  receiveInKernelThread,
  run,
  setLink,
  setSysctls,
  steerReceiveToCpu,
  type LinkEnd,
} from './netns.js';

export const DEFAULT_LAB_ID = '0';
/** Lab ids are short so that interface names fit in 15 characters. */
export const LAB_ID_PATTERN = /^[a-z0-9]{1,4}$/;
export const DEFAULT_CAPTURE_HOSTS = 3;
export const DEFAULT_ANALYZERS = 1;
export const DEFAULT_COORDINATORS = 1;
export const MAX_CAPTURE_HOSTS = 64;
export const MAX_ANALYZERS = 99;
export const MAX_COORDINATORS = 9;
/**
 * MTU of every interface on the mirrored path, in bytes. veth's largest, so that the
 * wire carries any frame of a capture file up to 64 KiB (a real link would have 1500 or
 * 9000; capture engines size their buffers by snap length, not by MTU).
 */
export const DEFAULT_WIRE_MTU = 65535;
/** The CPU that runs the wire's receive processing and the mirror (see steerReceiveToCpu). */
export const DEFAULT_WIRE_CPU = 0;

export const MANAGEMENT_PREFIX = '198.18.0';
export const MANAGEMENT_PREFIX_LENGTH = 24;
export const WIRE_PREFIX = '198.19.0';
export const WIRE_PREFIX_LENGTH = 24;
/** Last address octets: capture host k is .(10+k), analyzer k .(99+k), coordinator k .(199+k). */
const FIRST_OCTET = { capture: 11, analyzer: 100, coordinator: 200 } as const;

/** The tc filter block shared by the wire's ingress interfaces (blocks are per namespace). */
const MIRROR_BLOCK = 1;

export interface TopologyOptions {
  id: string;
  captureHosts: number;
  analyzers: number;
  coordinators: number;
  /** MTU of the mirrored path, bytes. */
  wireMtu: number;
  /** CPU of the wire's receive processing. */
  wireCpu: number;
}

export type HostRole = 'source' | 'capture' | 'analyzer' | 'coordinator';

export interface ManagementInterface {
  /** Interface name inside the host's namespace. */
  interface: string;
  /** IPv4 address without prefix length, e.g. 198.18.0.11. */
  address: string;
  /** Address with prefix length, e.g. 198.18.0.11/24. */
  cidr: string;
  /** The veth peer, a port of the management bridge (in the management namespace). */
  bridgePort: string;
}

export interface WireInterface {
  /** Interface name inside the host's namespace; frames sent on it go through the mirror. */
  interface: string;
  /** IPv4 address with prefix length (source host only; injection interfaces have none). */
  cidr?: string;
  /** The veth peer in the wire namespace, where the mirror's filters are attached. */
  ingressPort: string;
}

export interface PassiveInterface {
  /** Interface name inside the capture host's namespace: no address, promiscuous, offloads off. */
  interface: string;
  /** The veth peer in the wire namespace that the mirror transmits on. */
  mirrorPort: string;
}

export interface LabHost {
  /** source, capture1…, analyzer1…, coordinator1… */
  name: string;
  role: HostRole;
  namespace: string;
  /** On the management bridge: capture hosts, analyzers and coordinators. */
  management?: ManagementInterface;
  /** Capture hosts: where the mirror delivers every frame of the wire. */
  passive?: PassiveInterface;
  /**
   * The source (its traffic) and coordinators (their in-band injection point): an
   * interface whose transmitted frames enter the wire and are mirrored like all others.
   */
  wire?: WireInterface;
}

/** Everything the lab consists of, as JSON-safe data, for agents, tests and benchmarks. */
export interface LabTopology {
  id: string;
  /** dcl<id>: the start of every namespace and interface name of this lab. */
  prefix: string;
  wire: {
    namespace: string;
    mtu: number;
    /** CPU that runs the mirror. */
    cpu: number;
    /** tc filter block with the mirror, attached to the ingress of every ingress port. */
    filterBlock: number;
  };
  management: {
    namespace: string;
    bridge: string;
    /** 198.18.0.0/24 */
    subnet: string;
  };
  /** The source side of the wire: 198.19.0.0/24. */
  wireSubnet: string;
  /** In order: source, capture1…N, analyzer1…M, coordinator1…K. */
  hosts: LabHost[];
  /** Every namespace of the lab, in creation order. */
  namespaces: string[];
}

function checkCount(what: string, flag: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new DicapError(
      'DICAP_ERR_BAD_CONFIG',
      `${what} ${value} is out of range; give ${flag} between ${min} and ${max}`,
    );
  }
}

/**
 * Checks options and lays the lab out, with the defaults above for what `given` leaves out;
 * throws DICAP_ERR_BAD_CONFIG naming the bad value.
 */
export function planTopology(given: Partial<TopologyOptions> = {}): LabTopology {
  const options: TopologyOptions = {
    id: given.id ?? DEFAULT_LAB_ID,
    captureHosts: given.captureHosts ?? DEFAULT_CAPTURE_HOSTS,
    analyzers: given.analyzers ?? DEFAULT_ANALYZERS,
    coordinators: given.coordinators ?? DEFAULT_COORDINATORS,
    wireMtu: given.wireMtu ?? DEFAULT_WIRE_MTU,
    wireCpu: given.wireCpu ?? DEFAULT_WIRE_CPU,
  };
  if (!LAB_ID_PATTERN.test(options.id)) {
    throw new DicapError(
      'DICAP_ERR_BAD_CONFIG',
      `lab id "${options.id}" is not 1 to 4 lower-case letters or digits; give --id such as 0 or t1`,
    );
  }
  checkCount('number of capture hosts', '--nodes', options.captureHosts, 1, MAX_CAPTURE_HOSTS);
  checkCount('number of analyzers', '--analyzers', options.analyzers, 0, MAX_ANALYZERS);
  checkCount('number of coordinators', '--coordinators', options.coordinators, 0, MAX_COORDINATORS);
  checkCount('wire MTU', '--mtu', options.wireMtu, 68, 65535);
  checkCount('wire CPU', '--wire-cpu', options.wireCpu, 0, 1023);

  const prefix = `dcl${options.id}`;
  const ns = (host: string): string => `${prefix}-${host}`;
  const ifname = (tag: string, role: string): string => `${prefix}-${tag}-${role}`;
  const management = (tag: string, octet: number): ManagementInterface => ({
    interface: ifname(tag, 'mgt'),
    address: `${MANAGEMENT_PREFIX}.${octet}`,
    cidr: `${MANAGEMENT_PREFIX}.${octet}/${MANAGEMENT_PREFIX_LENGTH}`,
    bridgePort: ifname(tag, 'br'),
  });

  const hosts: LabHost[] = [
    {
      name: 'source',
      role: 'source',
      namespace: ns('source'),
      wire: {
        interface: ifname('src', 'eth'),
        cidr: `${WIRE_PREFIX}.1/${WIRE_PREFIX_LENGTH}`,
        ingressPort: ifname('src', 'in'),
      },
    },
  ];
  // The k-th host of a cluster role: its name, namespace and management address follow
  // from the role and k (`tag`: the role's short name in interface names).
  const member = (role: keyof typeof FIRST_OCTET, k: number, tag: string) => ({
    name: `${role}${k}`,
    role,
    namespace: ns(`${role}${k}`),
    management: management(`${tag}${k}`, FIRST_OCTET[role] + k - 1),
  });
  for (let k = 1; k <= options.captureHosts; k++) {
    hosts.push({
      ...member('capture', k, 'c'),
      passive: { interface: ifname(`c${k}`, 'pas'), mirrorPort: ifname(`c${k}`, 'mir') },
    });
  }
  for (let k = 1; k <= options.analyzers; k++) hosts.push(member('analyzer', k, 'a'));
  for (let k = 1; k <= options.coordinators; k++) {
    hosts.push({
      ...member('coordinator', k, 'co'),
      wire: { interface: ifname(`co${k}`, 'inj'), ingressPort: ifname(`co${k}`, 'in') },
    });
  }

  const topology: LabTopology = {
    id: options.id,
    prefix,
    wire: { namespace: ns('wire'), mtu: options.wireMtu, cpu: options.wireCpu, filterBlock: MIRROR_BLOCK },
    management: {
      namespace: ns('mgmt'),
      bridge: `${prefix}-br`,
      subnet: `${MANAGEMENT_PREFIX}.0/${MANAGEMENT_PREFIX_LENGTH}`,
    },
    wireSubnet: `${WIRE_PREFIX}.0/${WIRE_PREFIX_LENGTH}`,
    hosts,
    namespaces: [hosts[0]!.namespace, ns('wire'), ns('mgmt'), ...hosts.slice(1).map((h) => h.namespace)],
  };
  for (const name of interfaceNames(topology)) {
    // Cannot happen with the limits above; a guard for whoever changes the names.
    if (name.length > MAX_INTERFACE_NAME)
      throw new Error(`lab interface name ${name} is longer than ${MAX_INTERFACE_NAME} characters`);
  }
  return topology;
}

/** Every interface name the lab creates (both ends of every veth, and the bridge). */
export function interfaceNames(topology: LabTopology): string[] {
  const names = [topology.management.bridge];
  for (const h of topology.hosts) {
    if (h.management) names.push(h.management.interface, h.management.bridgePort);
    if (h.wire) names.push(h.wire.interface, h.wire.ingressPort);
    if (h.passive) names.push(h.passive.interface, h.passive.mirrorPort);
  }
  return names;
}

/** The host called `name`; throws DICAP_ERR_LAB_NO_SUCH_HOST listing the hosts there are. */
export function hostNamed(topology: LabTopology, name: string): LabHost {
  const host = topology.hosts.find((h) => h.name === name);
  if (!host) {
    throw new DicapError(
      'DICAP_ERR_LAB_NO_SUCH_HOST',
      `lab ${topology.id} has no host "${name}"; its hosts are ${topology.hosts.map((h) => h.name).join(', ')}`,
    );
  }
  return host;
}

/** The capture hosts in order (capture1 first); each has `passive`. */
export function captureHostsOf(topology: LabTopology): Array<LabHost & { passive: PassiveInterface }> {
  return topology.hosts.filter(
    (h): h is LabHost & { passive: PassiveInterface } => h.role === 'capture' && h.passive !== undefined,
  );
}

/** Hosts whose `wire` interface feeds the mirror: the source and the coordinators. */
export function wireSendersOf(topology: LabTopology): Array<LabHost & { wire: WireInterface }> {
  return topology.hosts.filter((h): h is LabHost & { wire: WireInterface } => h.wire !== undefined);
}

// ---- building -----------------------------------------------------------------------------

export interface BuildHooks {
  /** Called before a namespace is created, so a crash right after creation still leaves a record of it. */
  beforeNamespace(name: string): void;
  /** Called when creating a namespace failed: it is not the lab's (it may belong to someone else). */
  namespaceNotCreated(name: string): void;
  /** One progress line per step. */
  progress(line: string): void;
}

/** Creates everything planTopology laid out. On failure it throws; the caller removes what was made. */
export async function buildTopology(topology: LabTopology, hooks: BuildHooks): Promise<void> {
  const started = Date.now();
  const say = (line: string): void => hooks.progress(`lab ${topology.id}: ${line}`);

  say(`creating ${topology.namespaces.length} namespaces`);
  for (const name of topology.namespaces) {
    hooks.beforeNamespace(name);
    try {
      await addNamespace(name);
    } catch (error) {
      hooks.namespaceNotCreated(name);
      throw new DicapError(
        'DICAP_ERR_LAB_COMMAND',
        `${(error as Error).message} (namespace ${name} exists and is not part of lab ${topology.id}: remove it with \`ip netns del ${name}\` or use another --id)`,
      );
    }
    await run(['ip', '-n', name, 'link', 'set', 'dev', 'lo', 'up']);
    // IPv4 only: no IPv6 router solicitations, MLD reports or DAD probes, which on the
    // wire would be mirrored as traffic nobody replayed.
    await setSysctls(name, { 'net.ipv6.conf.all.disable_ipv6': 1, 'net.ipv6.conf.default.disable_ipv6': 1 });
  }

  const managed = topology.hosts.filter((h) => h.management);
  say(
    `management bridge ${topology.management.bridge} (${topology.management.subnet}) with ${managed.length} hosts`,
  );
  const mgmtNs = topology.management.namespace;
  await addBridge(mgmtNs, topology.management.bridge);
  await setLink({ name: topology.management.bridge, namespace: mgmtNs }, { up: true });
  for (const host of managed) {
    const m = host.management!;
    const hostEnd = { name: m.interface, namespace: host.namespace };
    const bridgeEnd = { name: m.bridgePort, namespace: mgmtNs };
    await addVethPair(hostEnd, bridgeEnd);
    await setLink(bridgeEnd, { master: topology.management.bridge, up: true });
    const refused = await receiveInKernelThread(bridgeEnd);
    if (refused) say(`${refused}: its receive path runs in the sending host's softirq`);
    await addAddress(hostEnd, m.cidr);
    await setLink(hostEnd, { up: true });
  }

  const captures = captureHostsOf(topology);
  const senders = wireSendersOf(topology);
  say(
    `wire (MTU ${topology.wire.mtu}, mirror on CPU ${topology.wire.cpu}): ${senders.map((h) => h.name).join(', ')} → ${captures.length} capture hosts`,
  );
  const wireNs = topology.wire.namespace;
  const prepare = async (end: LinkEnd, settings: { promisc?: boolean } = {}): Promise<void> => {
    await setLink(end, { mtu: topology.wire.mtu, ...settings });
    const offloads = await disableOffloads(end);
    const stuck = Object.entries(offloads).filter(([, state]) => !state.startsWith('off'));
    if (stuck.length > 0)
      say(`${end.name}: the driver keeps ${stuck.map(([name, state]) => `${name} ${state}`).join(', ')}`);
    await setLink(end, { up: true });
  };
  for (const host of senders) {
    const hostEnd = { name: host.wire.interface, namespace: host.namespace };
    const ingress = { name: host.wire.ingressPort, namespace: wireNs };
    await addVethPair(hostEnd, ingress);
    await prepare(hostEnd);
    await prepare(ingress);
    if (host.wire.cidr) await addAddress(hostEnd, host.wire.cidr);
    await steerReceiveToCpu(ingress, topology.wire.cpu);
  }
  for (const host of captures) {
    const passive = { name: host.passive.interface, namespace: host.namespace };
    const mirror = { name: host.passive.mirrorPort, namespace: wireNs };
    await addVethPair(mirror, passive);
    await prepare(mirror);
    await prepare(passive, { promisc: true });
  }

  const passives = captures.map((h) => h.passive.interface);
  const listed =
    passives.length <= 4 ? passives.join(', ') : `${passives.slice(0, 2).join(', ')}, … ${passives.at(-1)}`;
  say(`mirror: tc block ${topology.wire.filterBlock} copies every frame to ${listed} in this order`);
  for (const host of senders) {
    await run([
      'tc',
      '-n',
      wireNs,
      'qdisc',
      'add',
      'dev',
      host.wire.ingressPort,
      'ingress_block',
      String(topology.wire.filterBlock),
      'ingress',
    ]);
  }
  for (const [index, host] of captures.entries()) {
    const last = index === captures.length - 1;
    await run([
      'tc',
      '-n',
      wireNs,
      'filter',
      'add',
      'block',
      String(topology.wire.filterBlock),
      'prio',
      String(index + 1),
      'protocol',
      'all',
      'u32',
      'match',
      'u32',
      '0',
      '0',
      'at',
      '-12',
      'action',
      'mirred',
      'egress',
      'mirror',
      'dev',
      host.passive.mirrorPort,
      last ? 'drop' : 'continue',
    ]);
  }
  say(`built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
