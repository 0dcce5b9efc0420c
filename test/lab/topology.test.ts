import { describe, expect, it } from 'vitest';
import {
  MAX_ANALYZERS,
  MAX_CAPTURE_HOSTS,
  MAX_COORDINATORS,
  captureHostsOf,
  hostNamed,
  interfaceNames,
  planTopology,
  wireSendersOf,
  type TopologyOptions,
} from '../../lab/topology.js';

const DEFAULTS: TopologyOptions = {
  id: '0',
  captureHosts: 3,
  analyzers: 1,
  coordinators: 1,
  wireMtu: 65535,
  wireCpu: 0,
};

/** 198.18.0.0/15 is 198.18.0.0 – 198.19.255.255. */
function inBenchmarkingRange(address: string): boolean {
  const [a, b, c, d] = address.split('.').map(Number);
  return a === 198 && (b === 18 || b === 19) && [c, d].every((x) => x !== undefined && x >= 0 && x <= 255);
}

describe('planTopology', () => {
  it('lays out source, capture hosts, analyzers and coordinators with the documented names and addresses', () => {
    const t = planTopology(DEFAULTS);
    expect(t.hosts.map((h) => `${h.name} ${h.namespace}`)).toEqual([
      'source dcl0-source',
      'capture1 dcl0-capture1',
      'capture2 dcl0-capture2',
      'capture3 dcl0-capture3',
      'analyzer1 dcl0-analyzer1',
      'coordinator1 dcl0-coordinator1',
    ]);
    expect(t.namespaces).toEqual([
      'dcl0-source',
      'dcl0-wire',
      'dcl0-mgmt',
      'dcl0-capture1',
      'dcl0-capture2',
      'dcl0-capture3',
      'dcl0-analyzer1',
      'dcl0-coordinator1',
    ]);
    expect(hostNamed(t, 'capture2')).toEqual({
      name: 'capture2',
      role: 'capture',
      namespace: 'dcl0-capture2',
      management: {
        interface: 'dcl0-c2-mgt',
        address: '198.18.0.12',
        cidr: '198.18.0.12/24',
        bridgePort: 'dcl0-c2-br',
      },
      passive: { interface: 'dcl0-c2-pas', mirrorPort: 'dcl0-c2-mir' },
    });
    expect(hostNamed(t, 'source').wire).toEqual({
      interface: 'dcl0-src-eth',
      cidr: '198.19.0.1/24',
      ingressPort: 'dcl0-src-in',
    });
    expect(hostNamed(t, 'analyzer1').management?.address).toBe('198.18.0.100');
    expect(hostNamed(t, 'coordinator1').management?.address).toBe('198.18.0.200');
    expect(hostNamed(t, 'coordinator1').wire).toEqual({
      interface: 'dcl0-co1-inj',
      ingressPort: 'dcl0-co1-in',
    });
    expect(captureHostsOf(t).map((h) => h.name)).toEqual(['capture1', 'capture2', 'capture3']);
    expect(wireSendersOf(t).map((h) => h.name)).toEqual(['source', 'coordinator1']);
  });

  it('keeps every name unique, prefixed and within 15 characters, and every address in 198.18.0.0/15, at the largest sizes', () => {
    const t = planTopology({
      ...DEFAULTS,
      id: 'abcd',
      captureHosts: MAX_CAPTURE_HOSTS,
      analyzers: MAX_ANALYZERS,
      coordinators: MAX_COORDINATORS,
    });
    const names = interfaceNames(t);
    expect(names.length).toBe(1 + 2 * (MAX_CAPTURE_HOSTS * 2 + MAX_ANALYZERS + MAX_COORDINATORS * 2 + 1));
    expect(new Set(names).size).toBe(names.length);
    for (const name of [...names, ...t.namespaces]) expect(name.startsWith('dclabcd-'), name).toBe(true);
    for (const name of names) expect(name.length, name).toBeLessThanOrEqual(15);
    const addresses = t.hosts
      .flatMap((h) => [h.management?.address, h.wire?.cidr?.split('/')[0]])
      .filter((a): a is string => a !== undefined);
    expect(new Set(addresses).size).toBe(addresses.length);
    for (const a of addresses) expect(inBenchmarkingRange(a), a).toBe(true);
  });

  it('is plain JSON data', () => {
    const t = planTopology(DEFAULTS);
    expect(JSON.parse(JSON.stringify(t))).toEqual(t);
  });

  it.each([
    [{ id: 'Lab0' }, /lab id "Lab0" is not 1 to 4 lower-case letters or digits; give --id such as 0 or t1/],
    [{ id: 'abcde' }, /lab id "abcde"/],
    [{ captureHosts: 0 }, /number of capture hosts 0 is out of range; give --nodes between 1 and 64/],
    [{ captureHosts: 65 }, /give --nodes between 1 and 64/],
    [{ analyzers: 100 }, /give --analyzers between 0 and 99/],
    [{ coordinators: 10 }, /give --coordinators between 0 and 9/],
    [{ wireMtu: 70000 }, /wire MTU 70000 is out of range; give --mtu between 68 and 65535/],
  ])('refuses %j with a one-line message naming the fix', (change, message) => {
    expect(() => planTopology({ ...DEFAULTS, ...change })).toThrow(message);
  });

  it('names the hosts there are when asked for one that is not', () => {
    expect(() =>
      hostNamed(planTopology({ ...DEFAULTS, captureHosts: 1, analyzers: 0, coordinators: 0 }), 'capture2'),
    ).toThrow('lab 0 has no host "capture2"; its hosts are source, capture1');
  });
});
