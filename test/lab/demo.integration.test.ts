// `npm start` as a newcomer sees it: `dicap lab demo` builds the whole cluster (three
// coordinators, agents, an analyzer, traffic), prints a dashboard address on this machine's
// loopback, and the page loads from here (HTTP GET and headless Chromium, both in this
// namespace, not the lab's). Pressing c (on the demo's stdin) kills the active coordinator:
// a standby becomes active, /status at the same address and the page say so, and the
// screen shows the old one down. q stops everything and leaves no lab behind.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { DICAP } from '../../lab/dicap-command.js';
import { ELECTION_JITTER_MAX } from '../../coordinator/election.js';
import { DEMO_TIMING } from '../../lab/demo.js';
import { DEFAULT_POLL_MS } from '../../lab/poll.js';
import { listNamespaces, privilegeProblem } from '../../lab/netns.js';
import { teardownLabSync } from '../../lab/state.js';
import { freePort } from '../helpers/free-port.js';

const problem = privilegeProblem();
const CHROMIUM = '/usr/bin/chromium';
const ID = 'tdh';
/** How often this test asks the dashboard address for /status. */
const STATUS_POLL_MS = 100;
/** The standby's check (every tenth of the election timeout), its pre-vote and vote exchanges, on two busy cores. */
const VOTE_ROUNDS_MS = 200;
/**
 * The slack beyond the election timeout: the vote rounds, the demo's poll that points the
 * dashboard address at the new active (DEFAULT_POLL_MS) and this test's own.
 */
const TAKEOVER_SLACK_MS = VOTE_ROUNDS_MS + DEFAULT_POLL_MS + STATUS_POLL_MS;
/** A standby stands after the election timeout without SYNC, jittered up to ELECTION_JITTER_MAX× (SPEC §6.8). */
const TAKEOVER_DESIGN_BOUND_MS = ELECTION_JITTER_MAX * DEMO_TIMING.electionTimeoutMs + TAKEOVER_SLACK_MS;
/**
 * How long this test waits for the takeover. Its speed is measured by `npm run bench -- control`
 * (bench/reports/control.md), not asserted here: beside another lab test on two cores, timers
 * run late (one CI run took more than the design bound, another 536 ms).
 */
const TAKEOVER_WAIT_MS = 15_000;

interface Status {
  role: string;
  coordinatorId: number;
  term: number;
}

async function status(url: string): Promise<Status | undefined> {
  try {
    const response = await fetch(`${url}status`, { signal: AbortSignal.timeout(1000) });
    return response.ok ? ((await response.json()) as Status) : undefined;
  } catch {
    return undefined;
  }
}

async function until<T>(what: string, deadlineMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, STATUS_POLL_MS));
  }
}

describe.skipIf(problem !== undefined)(
  'npm start: the demo cluster and its dashboard from this machine (needs root)',
  () => {
    let demo: ChildProcess | undefined;
    let browser: Browser | undefined;
    afterAll(async () => {
      await browser?.close();
      demo?.kill('SIGKILL');
      teardownLabSync(ID);
    });

    it('prints the dashboard URL, serves it here, and fails over to a standby when c is pressed', async () => {
      const port = await freePort('tcp');
      demo = spawn(
        process.execPath,
        [DICAP, 'lab', 'demo', '--id', ID, '--rate', '2000', '--http-port', String(port)],
        {
          stdio: ['pipe', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      let stderr = '';
      demo.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
      demo.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | string>((resolve) =>
        demo!.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
      );
      const logs = (): string => `stderr: ${stderr.slice(-1500)} stdout: ${stdout.slice(-1500)}`;

      const url = await until('the dashboard address on stderr', 60_000, async () => {
        if (demo!.exitCode !== null) throw new Error(`the demo ended: ${logs()}`);
        return /dashboard at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stderr)?.[1];
      });
      expect(url).toBe(`http://127.0.0.1:${port}/`);
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<header id="top">');
      const before = await until('an active coordinator at the dashboard address', 10_000, async () => {
        const s = await status(url);
        return s?.role === 'active' ? s : undefined;
      });

      let browserPage: import('playwright-core').Page | undefined;
      if (fs.existsSync(CHROMIUM)) {
        browser = await chromium.launch({
          executablePath: CHROMIUM,
          args: [
            '--headless',
            '--no-sandbox',
            '--disable-gpu',
            '--no-first-run',
            '--disable-background-networking',
          ],
        });
        browserPage = await browser.newPage();
        await browserPage.goto(url);
        await browserPage.waitForFunction(
          (id) =>
            document.querySelector('#top')?.textContent?.includes(`${id}`) &&
            /epoch\s*\d+/.test(document.querySelector('#top')!.textContent!),
          before.coordinatorId,
          { timeout: 15_000 },
        );
        fs.mkdirSync(path.resolve('test-artifacts'), { recursive: true });
        await browserPage.screenshot({ path: path.resolve('test-artifacts', 'demo-before-failover.png') });
      }

      const killedAt = Date.now();
      demo.stdin!.write('c');
      const after = await until(
        `another coordinator active after killing ${before.coordinatorId}`,
        TAKEOVER_WAIT_MS,
        async () => {
          const s = await status(url);
          return s?.role === 'active' && s.coordinatorId !== before.coordinatorId ? s : undefined;
        },
      ).catch((error: Error) => {
        throw new Error(`${error.message}; ${logs()}`);
      });
      const takeoverMs = Date.now() - killedAt;
      console.log(
        `demo failover: coordinator ${before.coordinatorId} (term ${before.term}) killed, coordinator ${after.coordinatorId} active (term ${after.term}) at the dashboard address after ${takeoverMs} ms (election timeout ${DEMO_TIMING.electionTimeoutMs} ms, design bound ${TAKEOVER_DESIGN_BOUND_MS} ms)`,
      );
      expect(after.term).toBeGreaterThan(before.term);

      if (browserPage) {
        // The page's WebSocket closed with the old coordinator; it reconnects through the same address.
        await browserPage.reload();
        await browserPage.waitForFunction(
          (id) => document.querySelector('.kvs')?.textContent?.includes(`${id} (this one)`),
          after.coordinatorId,
          { timeout: 15_000 },
        );
        await browserPage.screenshot({ path: path.resolve('test-artifacts', 'demo-after-failover.png') });
      }
      // The screen (not a terminal: one block per second) shows the killed one down and the
      // new one active, and says how long the takeover took.
      await until(
        'a screen with the new active coordinator',
        10_000,
        async () =>
          new RegExp(
            `coordinators .*${before.coordinatorId} down.*${after.coordinatorId} active|coordinators .*${after.coordinatorId} active.*${before.coordinatorId} down`,
          ).test(stdout.slice(-3000)) || undefined,
      );
      expect(stdout).toMatch(
        new RegExp(
          `coordinator ${before.coordinatorId} SIGKILLed: ${after.coordinatorId} active after \\d+ ms`,
        ),
      );

      demo.stdin!.write('q');
      expect(await exited, logs()).toBe(0);
      expect(stdout).toMatch(/ledger {4}final: \d+ epochs judged/);
      expect(stderr).toMatch(new RegExp(`lab ${ID} removed`));
      expect(listNamespaces().filter((n) => n.startsWith(`dcl${ID}-`))).toEqual([]);
      expect(fs.readdirSync('/sys/class/net').filter((n) => n.startsWith(`dcl${ID}-`))).toEqual([]);
    }, 180_000);
  },
);
