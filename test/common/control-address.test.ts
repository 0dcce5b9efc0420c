// Issue 11 case 9: a member's control socket binds where configured, and by default where the
// host talks to its coordinator — never on every address (0.0.0.0) unless told.
import { afterEach, describe, expect, it } from 'vitest';
import { CoordinatorLink } from '../../common/coordinator-link.js';

const KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const open: CoordinatorLink[] = [];
afterEach(async () => {
  for (const link of open.splice(0)) await link.stop();
});

const start = async (options: Partial<Parameters<typeof CoordinatorLink.start>[0]>) => {
  const link = await CoordinatorLink.start({
    nodeId: 11,
    role: 'capture',
    coordinators: [],
    key: KEY,
    heartbeatIntervalMs: 1000,
    appliedEpoch: () => 0,
    ...options,
  });
  open.push(link);
  return link;
};

describe("a member's control socket", () => {
  it('binds to the address the host sends from towards its coordinator', async () => {
    const link = await start({ coordinators: [{ ip: '127.0.0.1', port: 7400 }] });
    expect(link.channel.address.ip).toBe('127.0.0.1');
  });

  it('binds where --control-address says, 0.0.0.0 included when asked for', async () => {
    const link = await start({ coordinators: [{ ip: '127.0.0.1', port: 7400 }], bindIp: '0.0.0.0' });
    expect(link.channel.address.ip).toBe('0.0.0.0');
  });

  it('with discovery alone and no address, refuses in one line naming the option', async () => {
    await expect(start({ discoverGroup: { ip: '239.255.68.67', port: 17401 } })).rejects.toThrow(
      /with --discover and no --coordinator, give --control-address IP/,
    );
  });
});
