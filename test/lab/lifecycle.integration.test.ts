// A lab comes and goes without a trace: after down, after a failed up, after its builder
// is killed (SIGKILL: the next up cleans; SIGTERM: it cleans itself), and processes
// started in it go with it. "Without a trace" is checked against `ip netns list` and
// `ip link` (the host's namespace) before and after: nothing of the lab's prefix stays,
// and nothing that was there before is gone.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { labUp, openLab } from '../../lab/lab.js';
import { inNamespace, listNamespaces, namespacePids, privilegeProblem, runSync } from '../../lab/netns.js';
import {
  isRunning,
  labDirectory,
  listProcessRecords,
  readLabRecord,
  teardownLabSync,
  type ProcessIdentity,
} from '../../lab/state.js';
import { DICAP, startDicap } from '../../lab/dicap-command.js';
import { testCapture } from '../helpers/captures.js';

const problem = privilegeProblem();
const LAB_API = path.resolve('dist', 'lab', 'lab.js');

interface Snapshot {
  namespaces: string[];
  links: string[];
}

function snapshot(): Snapshot {
  const links = runSync(['ip', '-o', 'link', 'show'])
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(':')[1]!.trim().split('@')[0]!);
  return { namespaces: listNamespaces(), links };
}

/** Nothing named dcl<id>-… is left in the host, nothing that was there before went, and the lab's state is gone. */
function expectNothingLeft(before: Snapshot, id: string): void {
  const after = snapshot();
  const prefix = `dcl${id}-`;
  for (const kind of ['namespaces', 'links'] as const) {
    expect(
      after[kind].filter((n) => n.startsWith(prefix) && !before[kind].includes(n)),
      `${kind} of lab ${id} left behind`,
    ).toEqual([]);
    // Other tests' labs (dcl…) come and go in parallel; everything else must still be there.
    expect(
      before[kind].filter((n) => !n.startsWith('dcl') && !after[kind].includes(n)),
      `${kind} that were there before and are gone`,
    ).toEqual([]);
  }
  expect(fs.existsSync(labDirectory(id)), `state directory of lab ${id}`).toBe(false);
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * A separate Node process that builds lab `id` through the compiled API, starts `sleep 600`
 * on capture1, prints the sleep's pid and waits: a program that owns a lab, to be killed.
 */
function startLabOwner(id: string): {
  child: ChildProcess;
  sleeper: Promise<ProcessIdentity>;
  exited: Promise<string | number>;
} {
  const code = `
    const { labUp } = await import(${JSON.stringify(LAB_API)});
    const lab = await labUp({ id: ${JSON.stringify(id)}, captureHosts: 2, analyzers: 1, coordinators: 1 });
    const sleeper = lab.spawn('capture1', 'sleep', ['600'], { stdio: 'ignore' });
    console.log(JSON.stringify(sleeper.identity));
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const sleeper = new Promise<ProcessIdentity>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('\n')) resolve(JSON.parse(stdout) as ProcessIdentity);
    });
    child.once('exit', (code) =>
      reject(new Error(`lab owner exited (${code}) before it was ready: ${stderr}`)),
    );
  });
  const exited = new Promise<string | number>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? code ?? -1)),
  );
  return { child, sleeper, exited };
}

/** Starts a lab owner, waits for its sleeper, and kills the owner with `signal`, which it must die of. */
async function labOwnerKilledBy(id: string, signal: NodeJS.Signals): Promise<ProcessIdentity> {
  const owner = startLabOwner(id);
  const sleeper = await owner.sleeper;
  owner.child.kill(signal);
  expect(await owner.exited).toBe(signal);
  return sleeper;
}

describe.skipIf(problem !== undefined)('lab lifecycle (needs root)', () => {
  const ids = ['tl', 'tf', 'tb', 'tk', 'ts', 'tr'];
  const foreign = 'dcltf-analyzer1';

  afterAll(() => {
    // Whatever a failing test left: the same teardown `dicap lab down` runs.
    for (const id of ids) teardownLabSync(id);
    if (listNamespaces().includes(foreign)) runSync(['ip', 'netns', 'del', foreign]);
  });

  it('up builds every namespace, connects the management bridge, and down removes it all with its processes', async () => {
    const before = snapshot();
    const lab = await labUp({ id: 'tl', captureHosts: 2, analyzers: 1, coordinators: 1 });
    expect(listNamespaces()).toEqual(expect.arrayContaining(lab.topology.namespaces));
    // Nothing of the lab appears in the host's namespace: every link lives inside the lab's namespaces.
    expect(snapshot().links).toEqual(before.links);

    // A UDP datagram from capture1 to analyzer1 over the management bridge.
    const analyzer = lab.host('analyzer1').management!;
    const listener = lab.spawn('analyzer1', process.execPath, [
      '-e',
      `const s = require('node:dgram').createSocket('udp4');
       s.on('message', (m) => { console.log(String(m)); process.exit(0); });
       s.bind(9999, '${analyzer.address}', () => console.log('bound'));`,
    ]);
    let heard = '';
    listener.child.stdout!.on('data', (d: Buffer) => (heard += d.toString()));
    await waitFor('the listener to bind', () => heard.includes('bound'));
    await lab.exec('capture1', [
      process.execPath,
      '-e',
      `require('node:dgram').createSocket('udp4').send('hello from capture1', 9999, '${analyzer.address}', () => process.exit(0))`,
    ]);
    expect((await listener.exited).code).toBe(0);
    expect(heard).toContain('hello from capture1');
    // Every port of the bridge receives in a NAPI thread of its own (napi/<port>-<id>), not
    // in the softirq of the host that sent.
    const { namespace, bridge } = lab.topology.management;
    const ports = runSync(inNamespace(namespace, ['ls', `/sys/class/net/${bridge}/brif`]))
      .split('\n')
      .filter(Boolean);
    expect(ports.length).toBe(4);
    for (const port of ports)
      expect(runSync(inNamespace(namespace, ['cat', `/sys/class/net/${port}/threaded`])).trim(), port).toBe(
        '1',
      );

    const sleeper = lab.spawn('capture2', 'sleep', ['600']);
    expect(namespacePids(lab.host('capture2').namespace)).toContain(sleeper.pid);
    expect(listProcessRecords('tl').map((r) => r.pid)).toContain(sleeper.pid);
    const report = await lab.down();
    expect(report.processesStopped).toBe(1);
    expect(report.namespacesDeleted.sort()).toEqual([...lab.topology.namespaces].sort());
    expect(isRunning(sleeper.identity)).toBe(false);
    expectNothingLeft(before, 'tl');
  });

  it('a failed up removes what it made, and leaves alone the namespace that made it fail', async () => {
    runSync(['ip', 'netns', 'add', foreign]);
    const before = snapshot();
    await expect(labUp({ id: 'tf', captureHosts: 3, analyzers: 1 })).rejects.toThrow(
      /^`ip netns add dcltf-analyzer1` failed: .*File exists.*not part of lab tf/,
    );
    expect(listNamespaces()).toContain(foreign);
    expectNothingLeft(before, 'tf');
    runSync(['ip', 'netns', 'del', foreign]);
  });

  it('after `dicap lab up` is killed while building, the next up removes the leftovers', async () => {
    const before = snapshot();
    const crashed = startDicap(['lab', 'up', '--id', 'tb', '--nodes', '64']);
    await waitFor('namespaces to be made', () => (readLabRecord('tb')?.namespaces.length ?? 0) >= 10);
    crashed.child.kill('SIGKILL');
    expect(await crashed.exited).toBe('SIGKILL');
    expect(readLabRecord('tb')?.phase).toBe('building');
    expect(listNamespaces().filter((n) => n.startsWith('dcltb-')).length).toBeGreaterThanOrEqual(9);
    expect(() => openLab('tb')).toThrow(/left behind; remove it with `dicap lab down --id tb`/);

    const lines: string[] = [];
    const lab = await labUp({
      id: 'tb',
      captureHosts: 1,
      analyzers: 0,
      coordinators: 0,
      onProgress: (l) => lines.push(l),
    });
    expect(lines[0]).toMatch(/removing what lab tb of pid \d+ \(no longer running\) left behind/);
    expect(
      listNamespaces()
        .filter((n) => n.startsWith('dcltb-'))
        .sort(),
    ).toEqual([...lab.topology.namespaces].sort());
    await lab.down();
    expectNothingLeft(before, 'tb');
  });

  it("after a lab's owner is killed, the next up stops the processes it started and rebuilds", async () => {
    const before = snapshot();
    const sleeper = await labOwnerKilledBy('tk', 'SIGKILL');
    expect(isRunning(sleeper)).toBe(true); // SIGKILL gave the owner no chance to clean up

    const lab = await labUp({ id: 'tk', captureHosts: 2 });
    expect(isRunning(sleeper)).toBe(false);
    expect(listProcessRecords('tk')).toEqual([]);
    await lab.down();
    expectNothingLeft(before, 'tk');
  });

  it("SIGTERM to a lab's owner removes the lab and its processes, and the owner dies of the signal", async () => {
    const before = snapshot();
    const sleeper = await labOwnerKilledBy('ts', 'SIGTERM');
    expect(isRunning(sleeper)).toBe(false);
    expectNothingLeft(before, 'ts');
  });

  it('SIGINT to `dicap lab replay` stops its tcpreplay and leaves the lab up; `dicap lab down` then removes it', async () => {
    const before = snapshot();
    const up = startDicap(['lab', 'up', '--id', 'tr', '--nodes', '1']);
    expect(await up.exited).toBe(0);
    const corpusFile = testCapture('zeek__modbus__modbusBig.pcap');
    const replay = startDicap(['lab', 'replay', corpusFile, '--pps', '100', '--id', 'tr']);
    await replay.waitForStderr(/replay: \d+ frames sent/);
    const [tcpreplay] = listProcessRecords('tr');
    expect(tcpreplay?.command).toMatch(/tcpreplay/);
    replay.child.kill('SIGINT');
    expect(await replay.exited).toBe('SIGINT');
    expect(isRunning(tcpreplay!)).toBe(false);
    expect(listProcessRecords('tr')).toEqual([]);
    expect(readLabRecord('tr')?.phase).toBe('up');

    const down = startDicap(['lab', 'down', '--id', 'tr']);
    expect(await down.exited).toBe(0);
    expect(down.stdout()).toMatch(/^lab tr down: deleted 6 namespaces$/m);
    expectNothingLeft(before, 'tr');
  });

  it('without root privileges every subcommand says so in one line and exits 1', () => {
    for (const subcommand of ['up', 'status', 'down', 'replay']) {
      const result = spawnSyncAsNobody([DICAP, 'lab', subcommand]);
      expect(result.status, subcommand).toBe(1);
      expect(result.stderr.trim().split('\n'), subcommand).toEqual([
        expect.stringMatching(/^dicap lab needs root .*CAP_NET_ADMIN/),
      ]);
    }
  });
});

function spawnSyncAsNobody(args: string[]): { status: number | null; stderr: string } {
  const result = spawnSync(
    'setpriv',
    ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', process.execPath, ...args],
    { encoding: 'utf8' },
  );
  return { status: result.status, stderr: result.stderr };
}
