// Issue 11 case 9: a coordinator started as root drops to --user after opening its sockets:
// every thread runs as that user with no capability left, it still serves (UDP and HTTP), and
// a bad --user is one line. Needs root.
import fs from 'node:fs';
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { dicapOptions, type DicapProcess, startDicap } from '../../lab/dicap-command.js';
import { freePort } from '../helpers/free-port.js';

const asRoot = process.getuid?.() === 0;
if (!asRoot) console.log('skipped: dropping privileges needs root');

const running: DicapProcess[] = [];
afterEach(async () => {
  for (const p of running.splice(0)) {
    p.child.kill('SIGTERM');
    await p.exited;
  }
});

/** Uid and capability sets of every thread of `pid`, from /proc. */
function threads(pid: number): Array<{ uid: string; capEff: string; capPrm: string }> {
  return fs.readdirSync(`/proc/${pid}/task`).map((tid) => {
    const status = fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
    const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)![1]!.trim();
    return { uid: field('Uid'), capEff: field('CapEff'), capPrm: field('CapPrm') };
  });
}

const healthz = (port: number): Promise<number> =>
  new Promise((resolve, reject) =>
    http
      .get(`http://127.0.0.1:${port}/healthz`, (r) => (r.resume(), resolve(r.statusCode ?? 0)))
      .on('error', reject),
  );

/** An insecure coordinator on free loopback ports (UDP control, HTTP on `tcp`) with --user `user`; stopped after the test. */
async function coordinatorAsUser(user: string): Promise<{ coordinator: DicapProcess; tcp: number }> {
  const [udp, tcp] = [await freePort('udp'), await freePort('tcp')];
  const coordinator = startDicap([
    'coordinator',
    ...dicapOptions({ insecure: true, listen: `127.0.0.1:${udp}`, http: `127.0.0.1:${tcp}`, user }),
  ]);
  running.push(coordinator);
  return { coordinator, tcp };
}

describe.skipIf(!asRoot)('dicap coordinator --user (needs root)', () => {
  it('runs as the user on every thread, with no capability, and still serves', async () => {
    const { coordinator, tcp } = await coordinatorAsUser('nobody');
    await coordinator.waitForStderr(/running as nobody \(uid 65534, gid \d+\), keeping no capabilities/);
    const all = threads(coordinator.child.pid!);
    expect(all.length).toBeGreaterThan(1);
    for (const t of all) {
      expect(t.uid.split(/\s+/)).toEqual(['65534', '65534', '65534', '65534']);
      expect(t).toMatchObject({ capEff: '0000000000000000', capPrm: '0000000000000000' });
    }
    expect(await healthz(tcp)).toBe(200);
  });

  it('refuses a user that does not exist in one line', async () => {
    const { coordinator } = await coordinatorAsUser('no-such-dicap-user');
    expect(await coordinator.exited).toBe(1);
    expect(coordinator.stderr()).toMatch(/--user no-such-dicap-user: no such user; create it/);
  });
});
