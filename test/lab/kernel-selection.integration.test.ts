// The selection in the kernel end to end (issue 9): `dicap lab replay --out` with the agents'
// selection at XDP, as the ring's socket filter and in user space, in every mode, on
// captures and on generator traffic, with a topology change (in-band, by token) halfway:
// the analyzers' output holds every frame exactly once (the experiment's verdict, which
// also checks each layer's counts). Distribution mode: tcpdump on every capture host
// together sees the wire, every frame once and whole. After every run no XDP program or
// socket filter is left on any passive interface; an agent killed with SIGKILL leaves its
// program, and the next start replaces it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runReplayExperiment, type ReplayExperimentOptions } from '../../lab/experiment.js';
import { labUp, type Lab } from '../../lab/lab.js';
import { DICAP } from '../../lab/dicap-command.js';
import { privilegeProblem } from '../../lab/netns.js';
import { TrafficGenerator } from '../../native/traffic-generator.js';
import { testCapture } from '../helpers/captures.js';
import { kernelSelectionProblem } from '../helpers/kernel-selection.js';

const problem = privilegeProblem() ?? kernelSelectionProblem();
const MODES = ['flow', 'ipid', 'round-robin'] as const;
const STAGES = ['xdp', 'socket', 'user'] as const;
const CAPTURES = ['zeek__modbus__modbusBig.pcap', 'zeek__mixed-vlan-mpls.pcap', 'tcpdump__various_gre.pcap'];

describe.skipIf(problem)('selection in the kernel, end to end (needs root and BPF)', () => {
  let dir: string;
  let generated: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dicap-kernel-lab-'));
    generated = path.join(dir, 'generated.pcap');
    const generator = new TrafficGenerator({ write: generated, count: 20_000, flows: 500, seed: 3 });
    const ended = once(generator, 'end');
    generator.start();
    await ended;
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const experiment = (name: string, options: Partial<ReplayExperimentOptions>) =>
    runReplayExperiment({
      files: CAPTURES.map(testCapture),
      nodes: 3,
      mode: 'flow',
      out: path.join(dir, name),
      snaplen: 128,
      workers: 1,
      key: [0x1234, 0x5678],
      replay: { pps: 20_000, loop: 2 },
      changeTopology: true,
      ...options,
    });

  for (const mode of MODES) {
    for (const selection of STAGES) {
      it(`${mode}, selection ${selection}: every frame exactly once across a topology change`, async () => {
        const summary = await experiment(`${mode}-${selection}`, { mode, selection });
        expect(summary.problems).toEqual([]);
        expect(summary.exactlyOnce).toBe(true);
        expect(summary.leftovers).toEqual([]);
        // Each node accounts for every frame on its interface: off the ring, or dropped in the kernel.
        for (const [i, node] of summary.coverage.nodes.entries())
          expect(node.frames).toBe(summary.wire[i]!.rxPackets);
      }, 180_000);
    }
  }

  it('generator traffic, round-robin at XDP: exactly once across a topology change', async () => {
    const summary = await experiment('generated', {
      files: [generated],
      mode: 'round-robin',
      selection: 'xdp',
      replay: { pps: 20_000 },
    });
    expect(summary.problems).toEqual([]);
    expect(summary.leftovers).toEqual([]);
  }, 180_000);

  for (const mode of MODES) {
    it(`--distribute, ${mode}: the local tcpdump files together are the wire, every frame once and whole`, async () => {
      const summary = await experiment(`distribute-${mode}`, { mode, distribute: true });
      expect(summary.problems).toEqual([]);
      expect(
        summary.local && 'difference' in summary.local ? summary.local.difference : summary.local,
      ).toEqual({ missing: 0, extra: 0 });
      expect(summary.leftovers).toEqual([]);
    }, 180_000);
  }

  describe('an agent killed with SIGKILL', () => {
    let lab: Lab;
    beforeAll(async () => {
      lab = await labUp({
        id: `k${(process.pid % 46656).toString(36)}`,
        captureHosts: 1,
        analyzers: 0,
        coordinators: 0,
      });
    }, 60_000);
    afterAll(async () => lab?.down());

    const xdpOn = async (): Promise<boolean> =>
      /\bxdp/.test(
        await lab.exec('capture1', [
          'ip',
          '-d',
          'link',
          'show',
          'dev',
          lab.host('capture1').passive!.interface,
        ]),
      );
    const agent = (): ReturnType<Lab['spawn']> =>
      lab.spawn('capture1', process.execPath, [
        DICAP,
        'agent',
        '--interface',
        lab.host('capture1').passive!.interface,
        '--node-id',
        '1',
        '--nodes',
        '1,2',
        '--distribute',
        '--status-interval',
        '0',
      ]);
    const stderrOf = (p: ReturnType<Lab['spawn']>): { text: string } => {
      const out = { text: '' };
      p.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (out.text += chunk));
      return out;
    };
    const waitFor = async (out: { text: string }, pattern: RegExp): Promise<void> => {
      const deadline = Date.now() + 15_000;
      while (!pattern.test(out.text)) {
        if (Date.now() > deadline) throw new Error(`no ${pattern} in: ${out.text}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    it('leaves its XDP program, which the next start replaces and a clean stop removes', async () => {
      const first = agent();
      const firstOut = stderrOf(first);
      await waitFor(firstOut, /capturing from interface/);
      expect(firstOut.text).toMatch(/selection in the kernel at XDP/);
      await first.stop('SIGKILL');
      expect(await xdpOn(), 'the killed agent left its program').toBe(true);

      const second = agent();
      const secondOut = stderrOf(second);
      await waitFor(secondOut, /capturing from interface/);
      expect(secondOut.text).toMatch(/removed the dicap XDP program an earlier run left/);
      await second.stop('SIGINT');
      expect(await xdpOn(), 'a clean stop detaches').toBe(false);
    }, 60_000);
  });
});
