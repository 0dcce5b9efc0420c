import { describe, expect, it } from 'vitest';
import { Membership } from '../../coordinator/membership.js';

const at = (ip: string, port = 5000) => ({ ip, port });

describe('the membership', () => {
  it('orders capture nodes by ID, whatever the join order, and lists analyzer endpoints', () => {
    const m = new Membership();
    expect(m.heard({ nodeId: 33, role: 'capture', control: at('198.18.0.13') }, 0)).toEqual({
      isNew: true,
      topologyChanged: true,
    });
    m.heard({ nodeId: 11, role: 'capture', control: at('198.18.0.11') }, 0);
    m.heard(
      { nodeId: 100, role: 'analyzer', control: at('198.18.0.100'), data: at('198.18.0.100', 9999) },
      0,
    );
    m.heard({ nodeId: 22, role: 'capture', control: at('198.18.0.12') }, 0);
    expect(m.captureNodeIds()).toEqual([11, 22, 33]);
    expect(m.analyzers()).toEqual([at('198.18.0.100', 9999)]);
  });

  it('says what a capture node selected in before, when its stage or reason changes', () => {
    const m = new Membership();
    const node = (stage: 'xdp-native' | 'socket', reason: 'auto' | 'auto-no-xdp' | 'asked') => ({
      nodeId: 11,
      role: 'capture' as const,
      control: at('198.18.0.11'),
      selection: { stage, reason },
    });
    expect(m.heard(node('xdp-native', 'auto'), 0).selectionBefore).toBeUndefined();
    expect(m.heard(node('xdp-native', 'auto'), 1).selectionBefore).toBeUndefined();
    expect(
      m.heard({ nodeId: 11, role: 'capture', control: at('198.18.0.11') }, 2).selectionBefore,
    ).toBeUndefined();
    expect(m.heard(node('socket', 'auto-no-xdp'), 3).selectionBefore).toEqual({
      stage: 'xdp-native',
      reason: 'auto',
    });
    expect(m.heard(node('socket', 'asked'), 4).selectionBefore).toEqual({
      stage: 'socket',
      reason: 'auto-no-xdp',
    });
  });

  it('changes the topology for a new member or a moved analyzer, not for a restarted agent', () => {
    const m = new Membership();
    m.heard({ nodeId: 11, role: 'capture', control: at('198.18.0.11', 1) }, 0);
    m.heard(
      { nodeId: 100, role: 'analyzer', control: at('198.18.0.100'), data: at('198.18.0.100', 9999) },
      0,
    );
    expect(m.heard({ nodeId: 11, role: 'capture', control: at('198.18.0.11', 2) }, 10)).toEqual({
      isNew: false,
      topologyChanged: false,
    });
    expect(m.get(11)!.control.port).toBe(2);
    expect(
      m.heard(
        { nodeId: 100, role: 'analyzer', control: at('198.18.0.100'), data: at('198.18.0.100', 9998) },
        10,
      ).topologyChanged,
    ).toBe(true);
  });

  it('removes members silent for longer than the timeout', () => {
    const m = new Membership();
    m.heard({ nodeId: 11, role: 'capture', control: at('198.18.0.11') }, 0);
    m.heard({ nodeId: 12, role: 'capture', control: at('198.18.0.12') }, 0);
    m.heard({ nodeId: 12, role: 'capture', control: at('198.18.0.12') }, 1000);
    expect(m.expire(1500, 1000).map((x) => x.nodeId)).toEqual([11]);
    expect(m.captureNodeIds()).toEqual([12]);
  });
});
