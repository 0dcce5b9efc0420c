// The lab's cluster commands as a user runs them: `dicap lab demo` shows live counters, its
// ledger is exactly once, and it leaves nothing behind after Ctrl-C; `dicap lab replay --out DIR` runs a whole experiment
// and writes the analyzer's pcap and summary.json; both refuse to run without root.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DICAP, dicapOptions, runDicap, startDicap } from '../../lab/dicap-command.js';
import { INBAND_SYNC_FRAMES } from '../../lab/inband.js';
import { listNamespaces, privilegeProblem, runSync } from '../../lab/netns.js';
import { labDirectory, teardownLabSync } from '../../lab/state.js';
import { readCaptureFile } from '../../native/capture-file.js';
import { testCapture } from '../helpers/captures.js';

const problem = privilegeProblem();

/** The screens in the demo's output (not a terminal: one after another), each as its lines. */
function screens(stdout: string): string[][] {
  const result: string[][] = [];
  for (const line of stdout.split('\n')) {
    if (line.startsWith('dicap lab demo · ')) result.push([]);
    result.at(-1)?.push(line);
  }
  // Each screen ends with a blank line before the next.
  for (const lines of result) while (lines.at(-1) === '') lines.pop();
  return result;
}

/** Everything of lab `id` that could be left: namespaces, links in this namespace, its state, processes naming it. */
function traces(id: string): { namespaces: string[]; links: string[]; state: boolean; processes: string[] } {
  const prefix = `dcl${id}-`;
  const links = runSync(['ip', '-o', 'link', 'show'])
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(':')[1]!.trim().split('@')[0]!);
  const processes: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let cmdline = '';
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      continue; // ended meanwhile
    }
    if (cmdline.includes(prefix) || cmdline.includes(`${labDirectory(id)}/`))
      processes.push(`${pid}: ${cmdline}`);
  }
  return {
    namespaces: listNamespaces().filter((n) => n.startsWith(prefix)),
    links: links.filter((n) => n.startsWith(prefix)),
    state: fs.existsSync(labDirectory(id)),
    processes,
  };
}

const NOTHING = { namespaces: [], links: [], state: false, processes: [] };

describe.skipIf(problem !== undefined)('dicap lab demo and replay --out (needs root)', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const id of ['td', 'tdr', 'te']) teardownLabSync(id);
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const { mode, nodes, id } of [
    { mode: 'flow', nodes: 3, id: 'td' },
    { mode: 'round-robin', nodes: 2, id: 'tdr' },
  ]) {
    it(`demo (${mode}, ${nodes} nodes): live counters of every node, then Ctrl-C stops it in order and leaves nothing behind`, async () => {
      expect(traces(id)).toEqual(NOTHING);
      const demo = startDicap(['lab', 'demo', ...dicapOptions({ id, mode, nodes, rate: 5000 })]);
      try {
        // Not a terminal: one screen per second, one after another. Wait for one in which
        // every node has seen traffic.
        const deadline = Date.now() + 30_000;
        let screen: string[] = [];
        for (;;) {
          screen = screens(demo.stdout()).at(-2) ?? []; // the last one may still be arriving
          const seen = screen
            .filter((l) => /^ +1\d  capture\d /.test(l))
            .map((l) => Number(l.trim().split(/\s+/)[2]!.replaceAll(',', '')));
          if (seen.length === nodes && seen.every((n) => n > 0)) break;
          if (Date.now() > deadline || demo.child.exitCode !== null)
            throw new Error(
              `no screen with traffic at every node; stdout: ${demo.stdout().slice(-2000)} stderr: ${demo.stderr()}`,
            );
          await new Promise((r) => setTimeout(r, 200));
        }
        expect(screen[0]).toMatch(
          new RegExp(
            `^dicap lab demo · lab ${id} · ${nodes} capture nodes · ${mode} · 5,000/s +\\d+:\\d\\d:\\d\\d$`,
          ),
        );
        expect(screen.length).toBeLessThanOrEqual(24);
        for (const line of screen) expect(line.length, line).toBeLessThanOrEqual(80);
        expect(
          screen.some((l) => /^analyzer1 received [\d,]+ records, export loss 0 datagrams/.test(l)),
        ).toBe(true);

        demo.child.kill('SIGINT');
        expect(await demo.exited, demo.stderr()).toBe(0);
        const last = screens(demo.stdout()).at(-1)!;
        // Nothing was killed: every epoch the active coordinator judged was exactly once.
        expect(last).toContainEqual(
          expect.stringMatching(/^ledger {4}final: (\d+) epochs judged, \1 exactly once$/),
        );
        expect(last.at(-1)).toBe('stopped; removing the lab');
        // source, wire, management, the capture hosts, an analyzer and three coordinators
        expect(demo.stderr()).toMatch(new RegExp(`lab ${id} removed \\(${nodes + 7} namespaces\\)`));
        expect(traces(id)).toEqual(NOTHING);
      } finally {
        demo.child.kill('SIGKILL');
      }
    });
  }

  it('replay --out: a fresh lab, the cluster, the replay, the verdict in summary.json, and no lab afterwards', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'dicap-experiment-'));
    dirs.push(out);
    const files = ['zeek__modbus__modbusSmall.pcap', 'zeek__pppoe-over-qinq.pcap', 'tcpdump__afs.pcap'].map(
      (f) => testCapture(f),
    );
    // Round-robin starts with the in-band frame (135 bytes), which the default snaplen 128 does not cut (the ring keeps in-band frames whole).
    const result = await runDicap([
      'lab',
      'replay',
      '--out',
      out,
      '--id',
      'te',
      '--mode',
      'round-robin',
      '--pps',
      '20000',
      ...files,
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /^coverage: exactly once — Σ owned (\d+) = seen \1, every frame sent is in the output once$/m,
    );
    expect(result.stderr).toMatch(
      /every agent reset its round-robin counter at the in-band frame of epoch 2/,
    );

    const sent = files.reduce((n, f) => n + readCaptureFile(f).frames.length, 0);
    const summary = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({
      lab: { id: 'te', captureHosts: 3, analyzers: 1 },
      mode: 'round-robin',
      snaplen: 128,
      replay: { sent, failed: 0, loop: 1 },
      inband: { term: 1, epoch: 2 },
      content: { expected: sent, written: sent, difference: { missing: 0, extra: 0 } },
      exactlyOnce: true,
      problems: [],
    });
    // Round-robin's in-band topology goes out twice: announced, then its switch frame (SPEC §6.10).
    const wire = sent + INBAND_SYNC_FRAMES;
    expect(summary.wire.map((w: { rxPackets: number }) => w.rxPackets)).toEqual([wire, wire, wire]);
    expect(summary.coverage.nodes.map((n: { seen: number }) => n.seen)).toEqual([sent, sent, sent]);
    expect(summary.coverage.ownedSum).toBe(sent);
    expect(summary.outputs).toEqual([path.join(out, 'analyzer1.pcap')]);
    expect(readCaptureFile(path.join(out, 'analyzer1.pcap')).frames.length).toBe(sent);
    expect(traces('te')).toEqual(NOTHING);
  });

  it('replay: experiment options without --out are refused in one line', async () => {
    const result = await runDicap(['lab', 'replay', '--mode', 'flow', testCapture('tcpdump__afs.pcap')]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      'dicap lab replay: --mode needs --out DIR (a whole experiment in a fresh lab); without --out, replay sends into a lab that is up',
    ]);
  });

  it('without root privileges, demo says so in one line and exits 1', () => {
    const result = spawnSync(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        '--inh-caps=-all',
        process.execPath,
        DICAP,
        'lab',
        'demo',
      ],
      { encoding: 'utf8' },
    );
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^dicap lab needs root .*CAP_NET_ADMIN/),
    ]);
  });
});
