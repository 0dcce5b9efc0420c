// Exactly-once capture of generated traffic: `dicap gen` (TCP/UDP/ICMP both ways, IPv4 and
// IPv6, VLAN and QinQ tags, fragments, mixed IP-ID behaviours) sends into the lab's wire at
// a rate the cluster takes without loss, to 1, 2 and 4 capture nodes in every mode, with
// one analyzer on the analyzer host (the lab's usual layout: every agent exports to it).
// The same seed written to a file gives the frames that were sent, byte for byte.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { labUp, type Lab } from '../../lab/lab.js';
import { privilegeProblem } from '../../lab/netns.js';
import { expectExactlyOnce, KEY, MODES, runCluster, SNAPLEN } from './cluster-run.js';
import { sendGenerated, writeGenerated } from '../helpers/generated-traffic.js';

const problem = privilegeProblem();
const COUNT = 30_000;
const TRAFFIC = { count: COUNT, seed: 11, flows: 500 };
/** Frames per second: the measured lossless rate on two cores is far above it (see the lab README). */
const RATE = 20_000;

describe.skipIf(problem !== undefined)('exactly-once capture of generated traffic (needs root)', () => {
  let dir: string;
  let generated: Buffer[];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dicap-gen-once-'));
    generated = await writeGenerated(path.join(dir, 'expected.pcap'), TRAFFIC);
  });

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const nodes of [1, 2, 4]) {
    describe(`${nodes} capture node${nodes === 1 ? '' : 's'}`, () => {
      let lab: Lab;
      beforeAll(async () => {
        lab = await labUp({ id: `tg${nodes}`, captureHosts: nodes, analyzers: 1, coordinators: 1 });
      });
      afterAll(async () => {
        await lab?.down();
      });

      for (const mode of MODES) {
        it(`holds every generated frame exactly once (${mode})`, async () => {
          const out = path.join(dir, `${nodes}-${mode}`);
          fs.mkdirSync(out);
          const run = await runCluster(
            lab,
            { mode, key: KEY, snaplen: SNAPLEN, workers: 1, pcapDirectory: out },
            () => sendGenerated(lab, TRAFFIC, RATE),
          );
          expectExactlyOnce(run, mode, generated, `${nodes} nodes, ${mode}, ${COUNT} generated frames`);
        });
      }
    });
  }
});
