// Exactly-once capture of real traffic, end to end with real processes: every Ethernet
// capture of the corpus goes through the lab's mirror to three capture hosts, each running
// `dicap agent` on its passive interface in flow, ipid and round-robin mode (round-robin
// synchronised first by an authentic in-band frame from the coordinator). Each capture host
// also runs its own `dicap analyzer` on 127.0.0.1, so each analyzer's pcap is one node's
// output: it must hold exactly the frames the TypeScript selection gives that node, and
// together they hold every frame tcpreplay put on the wire exactly once.
// Then a forged in-band frame (wrong key) on the monitored link: no counter is reset, it is
// counted as rejected and exported as ordinary traffic by its owner.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PcapFileWriter } from '../../common/pcap-file-writer.js';
import { injectTopology } from '../../lab/inband.js';
import { labUp, type Lab } from '../../lab/lab.js';
import { privilegeProblem } from '../../lab/netns.js';
import type { ReplayResult } from '../../lab/replay.js';
import { readCaptureFile } from '../../native/capture-file.js';
import { expectExactlyOnce, KEY, MODES, runCluster, SNAPLEN } from './cluster-run.js';
import { testCapture, corpusFiles, ethernetCaptures, HAVE_CORPUS } from '../helpers/captures.js';

const problem = privilegeProblem();
/** The team's whole Ethernet corpus where it is there (../shared/corpus), else the repository's curated captures. */
const SOURCES = HAVE_CORPUS ? corpusFiles('ether') : ethernetCaptures();
/** Well below what the cluster takes on two cores; the whole corpus is then ~2.5 s. */
const PPS = 25_000;
/** The largest frame a classic pcap with the writer's snaplen holds; libpcap cuts longer ones there when reading. */
const PCAP_SNAPLEN = 65535;

/**
 * Every frame of every Ethernet corpus file, in file order, in one pcap: one tcpreplay run
 * carries them all. Left out: frames of length 0 (no wire carries them, and tcpreplay
 * stops the whole replay at one). Time stamps are 1 µs apart (some files' do not fit a
 * classic pcap; the replay paces by --pps anyway).
 */
function writeCorpus(file: string): { frames: Buffer[]; files: number; empty: number } {
  const writer = new PcapFileWriter(file);
  const frames: Buffer[] = [];
  let empty = 0;
  for (const file of SOURCES) {
    const name = path.basename(file);
    const read = readCaptureFile(file);
    expect(read.error, name).toBeNull();
    for (const f of read.frames) {
      if (f.data.length === 0) {
        empty++;
        continue;
      }
      const frame = f.data.subarray(0, PCAP_SNAPLEN);
      writer.write(1_795_000_000_000_000_000n + BigInt(frames.length) * 1000n, frame);
      frames.push(frame);
    }
  }
  writer.close();
  return { frames, files: SOURCES.length, empty };
}

/** The frames tcpreplay put on the wire: the file's, minus those the kernel refused (each one named in its report). */
function framesSent(frames: readonly Buffer[], replay: ReplayResult): Buffer[] {
  expect(replay.refused.length, 'every refused frame is named').toBe(replay.failed);
  const refused = new Set(replay.refused.map((r) => r.index - 1));
  const sent = frames.filter((_, i) => !refused.has(i));
  expect(sent.length).toBe(replay.sent);
  return sent;
}

describe.skipIf(problem !== undefined)(
  'exactly-once capture of the corpus through the lab (needs root)',
  () => {
    let lab: Lab;
    let dir: string;
    let corpusFile: string;
    let corpus: Buffer[];

    beforeAll(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dicap-corpus-once-'));
      corpusFile = path.join(dir, 'corpus.pcap');
      const written = writeCorpus(corpusFile);
      corpus = written.frames;
      expect(written.files).toBeGreaterThan(HAVE_CORPUS ? 700 : 15);
      expect(corpus.length).toBeGreaterThan(HAVE_CORPUS ? 50_000 : 10_000);
      // One analyzer per capture host (on 127.0.0.1 there), no analyzer hosts.
      lab = await labUp({ id: 'tx', captureHosts: 3, analyzers: 0, coordinators: 1 });
    });

    afterAll(async () => {
      await lab?.down();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    for (const mode of MODES) {
      it(`holds every frame on the wire exactly once, each from its owner (${mode})`, async () => {
        const out = path.join(dir, mode);
        fs.mkdirSync(out);
        let replay: ReplayResult | undefined;
        const run = await runCluster(
          lab,
          {
            mode,
            key: KEY,
            snaplen: SNAPLEN,
            workers: 1,
            analyzerPlacement: 'capture-hosts',
            pcapDirectory: out,
          },
          async () => {
            replay = await lab.replay([corpusFile], { pps: PPS });
          },
        );
        const sent = framesSent(corpus, replay!);
        // The kernel refuses only frames shorter than an Ethernet header.
        expect(replay!.refused.every((r) => corpus[r.index - 1]!.length < 14)).toBe(true);
        expectExactlyOnce(run, mode, sent, `${mode}, ${sent.length} corpus frames`);
      });
    }

    it('a forged in-band frame resets no counter, is counted as rejected and is exported as traffic by position 0', async () => {
      const out = path.join(dir, 'forged');
      fs.mkdirSync(out);
      const before = readCaptureFile(testCapture('zeek__modbus__modbusSmall.pcap')).frames.map((f) => f.data);
      const after = readCaptureFile(testCapture('tcpdump__afs.pcap')).frames.map((f) => f.data);
      let forged: Buffer | undefined;
      const run = await runCluster(
        lab,
        {
          mode: 'round-robin',
          key: KEY,
          snaplen: SNAPLEN,
          workers: 1,
          analyzerPlacement: 'capture-hosts',
          pcapDirectory: out,
        },
        async (cluster) => {
          await lab.replay([testCapture('zeek__modbus__modbusSmall.pcap')], { pps: PPS });
          // Newer (epoch 3) and fresh, so only its MAC keeps it from being adopted.
          forged = (
            await injectTopology(lab, cluster, {
              forged: true,
              topology: { ...cluster.staticTopology, term: 1, epoch: 3, validityStartMs: Date.now() },
            })
          ).frame;
          await lab.replay([testCapture('tcpdump__afs.pcap')], { pps: PPS });
        },
      );
      // The frames on the wire after the authentic in-band frames: the forged one is traffic
      // of position 0, outside C (SPEC §6.10), so C goes on through it without a reset.
      const traffic = [...before, forged!, ...after];
      expectExactlyOnce(run, 'round-robin', traffic, 'forged in-band frame');
      for (const a of run.final.agents)
        expect({ node: a.nodeId, rejected: a.inbandRejected, epoch: a.epoch }).toEqual({
          node: a.nodeId,
          rejected: 1,
          epoch: 2,
        });
      const owner = 0;
      const exported = readCaptureFile(run.cluster.analyzers[owner]!.pcapFile!).frames.filter((f) =>
        f.data.equals(forged!.subarray(0, SNAPLEN)),
      );
      expect(exported.length, `node ${run.cluster.agents[owner]!.nodeId} exported the forged frame`).toBe(1);
    });
  },
);
