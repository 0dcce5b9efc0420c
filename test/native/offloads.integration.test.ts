// disableOffloads and enableFeatures (native/offloads.ts, the SIOCETHTOOL ioctl) on a veth in
// a namespace of its own: every GRO, LRO, TSO and GSO feature the driver lets change is off
// afterwards, features turned on by name are on, as `ethtool -k` reads them, and a missing
// interface or namespace is one line naming it.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addNamespace,
  addVethPair,
  deleteNamespaceSync,
  inNamespace,
  privilegeProblem,
} from '../../lab/netns.js';
import { disableOffloads, enableFeatures } from '../../native/offloads.js';

const problem = privilegeProblem();
const NS = `dcoff${process.pid % 100000}`;

/** `ethtool -k` of the interface: feature → "on", "off", "off [fixed]", … */
function ethtoolFeatures(name: string): Map<string, string> {
  const [command, ...args] = inNamespace(NS, ['ethtool', '-k', name]);
  const text = execFileSync(command!, args, { encoding: 'utf8' });
  return new Map(
    [...text.matchAll(/^\s*([\w-]+): (.+)$/gm)].map((m) => [m[1]!, m[2]!.trim()] as [string, string]),
  );
}

describe.skipIf(problem !== undefined)('offloads through the ethtool ioctl (needs root)', () => {
  beforeAll(async () => {
    deleteNamespaceSync(NS);
    await addNamespace(NS);
    await addVethPair({ name: 'offa', namespace: NS }, { name: 'offb', namespace: NS });
  });
  afterAll(() => deleteNamespaceSync(NS));

  it('turns GRO, TSO and GSO off and says so, as ethtool reads it', () => {
    const before = ethtoolFeatures('offa');
    expect(before.get('tx-tcp-segmentation')).toBe('on');
    expect(before.get('generic-segmentation-offload')).toBe('on');
    expect(disableOffloads(NS, 'offa')).toEqual({ gro: 'off', lro: 'off', tso: 'off', gso: 'off' });
    const after = ethtoolFeatures('offa');
    // ethtool prints GRO, LRO and GSO under their long names, TSO as its parts.
    const groups = [...after].filter(
      ([name]) =>
        ['generic-receive-offload', 'large-receive-offload', 'generic-segmentation-offload'].includes(name) ||
        /^tx-tcp.*segmentation$/.test(name),
    );
    expect(groups.length).toBeGreaterThanOrEqual(5);
    for (const [name, state] of groups) expect(`${name}: ${state}`).toMatch(/: off/);
    // The other end is untouched.
    expect(ethtoolFeatures('offb').get('tx-tcp-segmentation')).toBe('on');
  });

  it('turns features on by their kernel names and returns those it could not', () => {
    const before = ethtoolFeatures('offb');
    expect(before.get('generic-receive-offload')).toBe('off');
    expect(before.get('rx-udp-gro-forwarding')).toBe('off');
    // hsr-fwd-offload: a veth cannot do it ("off [fixed]"); the last name is no feature at all.
    expect(
      enableFeatures(NS, 'offb', ['rx-gro', 'rx-udp-gro-forwarding', 'hsr-fwd-offload', 'no-such']),
    ).toEqual(['hsr-fwd-offload', 'no-such']);
    const after = ethtoolFeatures('offb');
    expect(after.get('generic-receive-offload')).toBe('on');
    expect(after.get('rx-udp-gro-forwarding')).toBe('on');
    expect(after.get('hsr-fwd-offload')).toBe('off [fixed]');
  });

  it('names a missing interface or namespace in one line', () => {
    expect(() => disableOffloads(NS, 'nosuch0')).toThrow(
      /^interface nosuch0: cannot list its features \(No such device\)$/,
    );
    expect(() => disableOffloads(`${NS}x`, 'offa')).toThrow(/^network namespace \S+: cannot open it/);
    expect(() => enableFeatures(NS, 'nosuch0', ['rx-gro'])).toThrow(
      /^interface nosuch0: cannot list its features \(No such device\)$/,
    );
  });
});
