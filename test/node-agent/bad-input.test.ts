// Every capture in the team's full corpus (../shared/corpus; skipped without it): Ethernet
// files full of malformed frames, other link types, files common readers reject — through the engine's selection (`dicap owner`'s code)
// and the engine's file source (`dicap agent --pcap`'s code): no crash, no hang, and a clear
// one-line message naming the file for whatever cannot be read. The real commands run on a
// sample of each folder (spawning ~1800 processes would only measure Node's start-up).
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLogLine } from '../../common/logger.js';
import { native } from '../../native/addon.js';
import { runDicap } from '../../lab/dicap-command.js';
import { corpusFiles, HAVE_CORPUS } from '../helpers/captures.js';
import { fileEngine, loneNodeTopology } from '../helpers/test-engine.js';

const FOLDERS = ['ether', 'other-linktypes', 'unusual-or-corrupt'];
const files = FOLDERS.flatMap((folder) =>
  corpusFiles(folder).map((file) => ({ folder, name: path.basename(file), file })),
);
const TOPOLOGY = {
  term: 0,
  epoch: 1,
  mode: 'flow',
  nodeIds: [1, 2, 3],
  k0: 1,
  k1: 2,
  validityStartNs: 0n,
  analyzers: [],
  snaplen: 0,
};

function expectOneLineNaming(message: string, name: string): void {
  expect(message).not.toContain('\n');
  expect(message).toContain(name);
}

describe.skipIf(!HAVE_CORPUS)('bad input from the whole corpus (needs ../shared/corpus)', () => {
  it('the selection code reads or refuses every file with one line naming it', () => {
    const outcome = { read: 0, refused: 0, stoppedEarly: 0 };
    for (const { folder, name, file } of files) {
      try {
        const result = native.ownersOfFile(file, TOPOLOGY) as { positions: Int32Array; error: string | null };
        if (result.error === null) outcome.read++;
        else {
          outcome.stoppedEarly++;
          expectOneLineNaming(result.error, name);
        }
      } catch (error) {
        outcome.refused++;
        expect((error as { code?: string }).code).toBe('DICAP_ERR_CAPTURE_FILE');
        expectOneLineNaming((error as Error).message, name);
        expect(folder).not.toBe('ether');
      }
    }
    expect(outcome.read + outcome.stoppedEarly).toBeGreaterThanOrEqual(corpusFiles('ether').length);
    expect(outcome.refused).toBeGreaterThan(0);
  });

  it('the engine file source runs every file to its end or refuses it, never hangs', async () => {
    for (const { name, file } of files) {
      const engine = fileEngine(file, { flushUs: 1000, queueSlots: 256 });
      engine.offerTopology(loneNodeTopology());
      const errors: string[] = [];
      engine.on('error', (e) => errors.push(e.message));
      const ended = new Promise<void>((resolve) => engine.on('end', resolve));
      try {
        engine.start();
      } catch (error) {
        expectOneLineNaming((error as Error).message, name);
        engine.stop();
        continue;
      }
      await Promise.race([
        ended,
        new Promise((_, reject) => setTimeout(() => reject(new Error(`${name}: no end after 10 s`)), 10_000)),
      ]);
      engine.stop();
      for (const message of errors) expectOneLineNaming(message, name);
      const c = engine.counters();
      expect(c.seen, name).toBe(c.frames);
      expect(c.recordsNoAnalyzer, name).toBe(c.owned); // nothing lost silently: no analyzer, counted
    }
  });

  // The real commands on a sample: every unusual-or-corrupt file, and a few of each other folder.
  const sample = files.filter((f, i) => f.folder === 'unusual-or-corrupt' || i % 60 === 0);
  it(`dicap owner and dicap agent --pcap end cleanly on ${sample.length} sampled files`, async () => {
    for (const { name, file } of sample) {
      const owner = await runDicap(['owner', '--mode', 'ipid', '--nodes', '1,2', file]);
      const agent = await runDicap([
        'agent',
        '--pcap',
        file,
        '--node-id',
        '1',
        '--nodes',
        '1,2',
        '--status-interval',
        '0',
      ]);
      for (const run of [owner, agent]) {
        expect([0, 1, 2], `${name}: ${run.stderr}`).toContain(run.code);
        if (run.code !== 0) {
          const errorLines = run.stderr
            .trim()
            .split('\n')
            // Plain refusals and error records; not the agent's information and warnings.
            .filter((l) => (parseLogLine(l)?.level ?? 'error') === 'error');
          expect(errorLines, `${name}: ${run.stderr}`).toHaveLength(1);
          expect(errorLines[0]).toContain(name);
        }
      }
    }
  });
});
