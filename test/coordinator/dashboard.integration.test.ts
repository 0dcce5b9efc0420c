// The coordinator's dashboard in a real browser, on a real cluster: two coordinators (one
// active, one standby), an analyzer and three agents in a lab, IPv4 traffic from dicap gen
// through the mirror, and Debian's chromium (headless, driven by playwright-core) inside the
// first coordinator's namespace (the management network is not routed from the host's).
// The page must list the nodes with live rates, the IPv4 ID histogram and the analyzer's
// reports, keep updating, show a SIGKILLed agent as timed out within the node timeout, and
// on the standby name the active coordinator and link to its dashboard. Screenshots go to
// test-artifacts/ (gitignored).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DICAP } from '../../lab/dicap-command.js';
import { startGenerator, type RunningGenerator } from '../../lab/generator.js';
import { labUp, type Lab, type LabProcess } from '../../lab/lab.js';
import { privilegeProblem } from '../../lab/netns.js';

const problem = privilegeProblem();
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.resolve('test-artifacts');
const HEARTBEAT_MS = 500;
const NODE_TIMEOUT_MS = 3000;
const HTTP_PORT = 8080;
const CONTROL_PORT = 7400;
const NODE_IDS = [11, 12, 13];
const ANALYZER_ID = 100;

interface Running {
  name: string;
  process: LabProcess;
  stderr: () => string;
}

describe.skipIf(problem !== undefined)('the coordinator dashboard in a browser (needs root)', () => {
  let lab: Lab;
  let dir: string;
  let context: BrowserContext | undefined;
  let generator: RunningGenerator | undefined;
  const processes: Running[] = [];
  const coordinatorIps: string[] = [];
  const agents = new Map<number, Running>();

  const spawn = (name: string, host: string, args: string[]): Running => {
    const child = lab.spawn(host, process.execPath, [DICAP, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let tail = '';
    child.child
      .stderr!.setEncoding('utf8')
      .on('data', (chunk: string) => (tail = (tail + chunk).slice(-4000)));
    const running = { name, process: child, stderr: () => tail };
    processes.push(running);
    return running;
  };
  /** What the processes said, for a failing assertion's message. */
  const logs = (): string =>
    processes
      .map(
        (p) =>
          `--- ${p.name}${p.process.running ? '' : ' (ended)'}:\n${p.stderr().trim().split('\n').slice(-6).join('\n')}`,
      )
      .join('\n');

  beforeAll(async () => {
    expect(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`).toBe(true);
    lab = await labUp({ id: 'dash', captureHosts: NODE_IDS.length, analyzers: 1, coordinators: 2 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dicap-dashboard-'));
    const keyFile = path.join(dir, 'cluster.key');
    fs.writeFileSync(keyFile, `${'5a'.repeat(32)}\n`, { mode: 0o600 });
    coordinatorIps.push(
      lab.host('coordinator1').management!.address,
      lab.host('coordinator2').management!.address,
    );
    const coordinators = coordinatorIps.flatMap((ip) => ['--coordinator', `${ip}:${CONTROL_PORT}`]);
    const timing = ['--heartbeat-interval-ms', String(HEARTBEAT_MS)];
    coordinatorIps.forEach((ip, i) => {
      const peer = coordinatorIps[1 - i]!;
      spawn(`coordinator${i + 1}`, `coordinator${i + 1}`, [
        'coordinator',
        '--listen',
        `${ip}:${CONTROL_PORT}`,
        '--cluster-key-file',
        keyFile,
        '--mode',
        'ipid',
        '--http',
        `${ip}:${HTTP_PORT}`,
        '--coordinator-id',
        String(i + 1),
        '--peer',
        `${2 - i}@${peer}:${CONTROL_PORT}`,
        ...timing,
        '--node-timeout-ms',
        String(NODE_TIMEOUT_MS),
        '--epoch-interval-ms',
        '3000',
        '--sync-interval-ms',
        '250',
        '--election-timeout-ms',
        '1000',
        '--announce-interval-ms',
        '0',
        '--status-interval',
        '0',
      ]);
    });
    const analyzerIp = lab.host('analyzer1').management!.address;
    spawn('analyzer', 'analyzer1', [
      'analyzer',
      '--listen',
      `${analyzerIp}:9999`,
      '--write',
      '/dev/null',
      '--node-id',
      String(ANALYZER_ID),
      ...coordinators,
      '--cluster-key-file',
      keyFile,
      ...timing,
      '--status-interval',
      '0',
    ]);
    NODE_IDS.forEach((nodeId, i) => {
      const host = lab.host(`capture${i + 1}`);
      agents.set(
        nodeId,
        spawn(`agent ${nodeId}`, host.name, [
          'agent',
          '--interface',
          host.passive!.interface,
          '--node-id',
          String(nodeId),
          ...coordinators,
          '--cluster-key-file',
          keyFile,
          ...timing,
          '--workers',
          '1',
          '--status-interval',
          '0',
        ]),
      );
    });
    generator = startGenerator(lab, { rate: 4000, durationS: 180, flows: 300 });

    // Chromium runs in coordinator1's namespace, where the management network is.
    const wrapper = path.join(dir, 'chromium-in-lab');
    fs.writeFileSync(
      wrapper,
      `#!/bin/sh\nexec ip netns exec ${lab.host('coordinator1').namespace} ${CHROMIUM} "$@"\n`,
      { mode: 0o755 },
    );
    context = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
      executablePath: wrapper,
      headless: true,
      viewport: { width: 1440, height: 1000 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await context?.close().catch(() => {});
    await generator?.stop().catch(() => {});
    await Promise.all(processes.map((p) => p.process.stop('SIGTERM', 5000)));
    await lab?.down();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Opens both coordinators' pages and tells which one is active (the election picks it). */
  async function openPages(): Promise<{ active: Page; standby: Page; activeIp: string }> {
    const pages = await Promise.all(
      coordinatorIps.map(async (ip) => {
        const page = await context!.newPage();
        const errors: string[] = [];
        page.on('pageerror', (error) => errors.push(String(error)));
        await page.goto(`http://${ip}:${HTTP_PORT}/`);
        return { page, ip, errors };
      }),
    );
    const roleOf = (page: Page) => page.evaluate(() => document.body.dataset.role ?? '');
    const deadline = Date.now() + 20_000;
    for (;;) {
      const roles = await Promise.all(pages.map((p) => roleOf(p.page)));
      const active = roles.indexOf('active');
      if (active >= 0 && roles[1 - active] === 'standby') {
        for (const p of pages) expect(p.errors, `script errors on ${p.ip}'s page`).toEqual([]);
        return { active: pages[active]!.page, standby: pages[1 - active]!.page, activeIp: pages[active]!.ip };
      }
      if (Date.now() > deadline)
        throw new Error(`no active and standby after 20 s (roles ${roles.join(', ')})\n${logs()}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  const rowText = (page: Page, nodeId: number) =>
    page.evaluate((id) => document.querySelector(`#nodes tr[data-node="${id}"]`)?.textContent ?? '', nodeId);

  it('lists the nodes with live rates, updates, and shows a killed agent as timed out within the node timeout', async () => {
    const { active, standby, activeIp } = await openPages();

    // Every node capturing, with rates from its heartbeats; the histogram and the analyzer's reports there.
    await active
      .waitForFunction(
        (ids) =>
          ids.every((id) => {
            const row = document.querySelector(`#nodes tr[data-node="${id}"]`);
            const seen = row?.querySelectorAll('td.num')[2]?.textContent ?? '—';
            return row?.textContent?.includes('capturing') && seen !== '—' && seen !== '0';
          }) &&
          document.querySelectorAll('#ipid svg.histogram rect').length > 0 &&
          document.querySelectorAll('#analyzers table.sources tbody tr').length === ids.length,
        NODE_IDS,
        { timeout: 30_000, polling: 200 },
      )
      .catch((error: unknown) => {
        throw new Error(`${String(error)}\n${logs()}`);
      });
    expect(await active.textContent('#cluster')).toContain('3 capturing of 3');
    // Each agent says where it selects (--selection auto) in its JOIN and heartbeats; the page
    // says what the agent's own log line says. The standby hears the heartbeats too.
    for (const id of NODE_IDS) {
      const log = agents.get(id)!.stderr();
      const expected = /at XDP on \S+ \(native/.test(log)
        ? 'xdp (native)auto'
        : /at XDP on \S+ \(generic/.test(log)
          ? 'xdp (generic)auto'
          : /socket's filter/.test(log)
            ? 'socket filterauto: XDP failed'
            : 'user spaceauto: kernel refused';
      for (const page of [active, standby])
        await page
          .waitForFunction(
            ([node, text]) =>
              document
                .querySelector(`#nodes tr[data-node="${node}"]`)
                ?.textContent?.replace(/\s+/g, '')
                .includes(text),
            [id, expected.replace(/\s+/g, '')] as const,
            { timeout: 10_000, polling: 200 },
          )
          .catch(async () => {
            throw new Error(
              `node ${id}: row "${await rowText(page, id)}", expected "${expected}"; its log:\n${log}`,
            );
          });
    }
    expect(await active.textContent('#share')).toMatch(/node 11[\s\S]*node 12[\s\S]*node 13/);
    expect(await active.textContent('#analyzers')).toContain(`analyzer ${ANALYZER_ID}`);

    // It keeps updating: new epochs (every 3 s) reach the page without a reload.
    const epochOf = async () => Number((await active.textContent('#top'))!.match(/epoch\s*(\d+)/)![1]);
    const first = await epochOf();
    await active.waitForFunction(
      (e) => Number(document.querySelector('#top')!.textContent!.match(/epoch\s*(\d+)/)![1]) > e,
      first,
      { timeout: 10_000, polling: 200 },
    );

    // The standby says who is active and links to its dashboard.
    const banner = (await standby.textContent('#banner')) ?? '';
    expect(banner).toContain('standby');
    expect(await standby.getAttribute('#banner a', 'href')).toBe(`http://${activeIp}:${HTTP_PORT}/`);
    await standby.screenshot({ path: path.join(ARTIFACTS, 'dashboard-standby.png'), fullPage: true });
    await active.waitForTimeout(2000); // a little history in the plots
    await active.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });

    // SIGKILL one agent: no goodbye, its heartbeats just stop.
    const killed = NODE_IDS[2]!;
    const killedAt = Date.now();
    await agents.get(killed)!.process.stop('SIGKILL');
    await active
      .waitForFunction(
        (id) => document.querySelector(`#nodes tr[data-node="${id}"]`)?.textContent?.includes('timed out'),
        killed,
        { timeout: NODE_TIMEOUT_MS + 5000, polling: 100 },
      )
      .catch(async (error: unknown) => {
        throw new Error(
          `${String(error)}\nrow: ${await rowText(active, killed)}\nrole: ${await active.evaluate(() => document.body.dataset.role)}\nevents: ${await active.textContent('#events')}\n${logs()}`,
        );
      });
    const shownAfterMs = Date.now() - killedAt;
    // The coordinator removes it once silent for the timeout, or sooner while its peers keep
    // reporting their ledgers (traffic runs); the page learns it within a second.
    expect(shownAfterMs).toBeLessThanOrEqual(NODE_TIMEOUT_MS + 750 + 1000 + 500);
    expect(await rowText(active, killed)).not.toContain('capturing');
    expect(await active.textContent('#events')).toMatch(
      new RegExp(`capture ${killed} silent for \\d+ ms( while its peers kept reporting)?: removed`),
    );
    expect(await active.textContent('#cluster')).toContain('2 capturing of 2');
    // The standby learns the membership from the active's SYNC.
    await standby.waitForFunction(
      (id) => !document.querySelector(`#nodes tr[data-node="${id}"]`)?.textContent?.includes('capturing'),
      killed,
      { timeout: 3000, polling: 100 },
    );
    await active.waitForTimeout(1500);
    await active.screenshot({ path: path.join(ARTIFACTS, 'dashboard-timeout.png'), fullPage: true });
  });
});
