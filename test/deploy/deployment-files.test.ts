// The deployment files in docker/ checked as far as a machine without a Docker engine allows:
// compose.yaml is valid YAML whose every file exists and whose addresses agree with the
// example configs; the Dockerfile's runtime stage, rebuilt as a directory from what it copies,
// runs dicap; the systemd units say what the README promises (and pass systemd-analyze verify
// where it exists); Prometheus and Grafana provisioning point at the right places.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { dicapOptions } from '../../lab/dicap-command.js';
import { freePort } from '../helpers/free-port.js';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir.js';
import { testCapture } from '../helpers/captures.js';

const ROOT = path.resolve('.');
const DOCKER = path.join(ROOT, 'docker');
const CAPTURE_FILE = testCapture('zeek__dns-edns-tcp-keepalive.pcap');
const tmp = tempDir('deploy-files');

const YAML_READER = 'import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)';
const hasYaml = spawnSync('python3', ['-c', 'import yaml']).status === 0;
if (!hasYaml)
  console.warn(
    'docker/compose.yaml tests skipped: they read YAML with python3 and PyYAML (Debian: apt-get install python3-yaml)',
  );
/** YAML through PyYAML (Debian: python3-yaml): the repository has no YAML parser of its own. */
function readYaml(file: string): any {
  return JSON.parse(execFileSync('python3', ['-c', YAML_READER, file], { encoding: 'utf8' }));
}

/** Retries `attempt` until it resolves (a process that is starting), for at most 10 s. */
async function poll<T>(attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const example = (name: string): Record<string, any> =>
  JSON.parse(fs.readFileSync(path.join(ROOT, 'docs', 'examples', `${name}.json`), 'utf8'));
const hostOf = (hostPort: string): string => hostPort.split(':')[0]!;
const portOf = (hostPort: string): number => Number(hostPort.split(':')[1]);

function readEnvFile(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

describe.skipIf(!hasYaml)('docker/compose.yaml', () => {
  const compose = hasYaml ? readYaml(path.join(DOCKER, 'compose.yaml')) : {};
  const services: Record<string, any> = compose.services ?? {};
  const dicap = Object.entries(services).filter(([, s]) => s.build?.dockerfile === 'docker/Dockerfile');
  const env = readEnvFile(path.join(DOCKER, '.env'));

  it('runs three coordinators, an analyzer and agents from the one image built by docker/Dockerfile', () => {
    const roles = dicap.map(([, s]) => s.command[0]);
    expect(roles.filter((r) => r === 'coordinator')).toHaveLength(3);
    expect(roles.filter((r) => r === 'analyzer')).toHaveLength(1);
    expect(roles.filter((r) => r === 'agent').length).toBeGreaterThanOrEqual(1);
    for (const [name, s] of dicap) {
      expect(fs.existsSync(path.resolve(DOCKER, s.build.context, s.build.dockerfile)), name).toBe(true);
      expect(s.command.slice(1, 2), name).toEqual(['--config']);
      expect(s.cap_drop, name).toEqual(['ALL']);
    }
  });

  it('gives the agents the host network and exactly CAP_NET_RAW and CAP_NET_ADMIN, on the passive interface from .env', () => {
    for (const [name, s] of dicap.filter(([, s]) => s.command[0] === 'agent')) {
      expect(s.network_mode, name).toBe('host');
      expect([...s.cap_add].sort(), name).toEqual(['NET_ADMIN', 'NET_RAW']);
      expect(s.environment.DICAP_AGENT_INTERFACE, name).toMatch(/^\$\{DICAP_PASSIVE_INTERFACE[:?}]/);
      expect(Number(s.environment.DICAP_AGENT_NODE_ID), name).toBeGreaterThan(0);
    }
    const ids = dicap
      .filter(([, s]) => s.command[0] === 'agent')
      .map(([, s]) => s.environment.DICAP_AGENT_NODE_ID);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("gives every dicap service a HEALTHZ_URL at its own /healthz, which the image's HEALTHCHECK polls", () => {
    const dockerfile = fs.readFileSync(path.join(DOCKER, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\\\n +CMD \["node", "-e", .*process\.env\.HEALTHZ_URL/m);
    const examples = path.resolve('docs', 'examples');
    for (const [name, s] of dicap) {
      const role = s.command[0] as string;
      const config = JSON.parse(fs.readFileSync(path.join(examples, `${role}.json`), 'utf8')) as Record<
        string,
        string
      >;
      const listen =
        role === 'coordinator'
          ? (s.environment?.DICAP_COORDINATOR_HTTP ?? config.http)
          : (s.environment?.[`DICAP_${role.toUpperCase()}_METRICS`] ?? config.metrics);
      const port = listen!.split(':').at(-1);
      expect(s.environment?.HEALTHZ_URL, name).toMatch(new RegExp(`^http://[\\d.]+:${port}/healthz$`));
    }
  });

  /** SOURCE:TARGET[:MODE], where SOURCE may be ${VARIABLE:?message with colons}. */
  const splitVolume = (volume: string): [string, string] => {
    const source = volume.startsWith('${') ? volume.slice(0, volume.indexOf('}') + 1) : volume.split(':')[0]!;
    return [source, volume.slice(source.length + 1).split(':')[0]!];
  };

  it('mounts files that exist, and every config where the command reads it', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const volume of s.volumes ?? []) {
        const [source] = splitVolume(String(volume));
        if (source!.startsWith('${')) {
          const variable = /^\$\{([A-Z_]+)/.exec(source!)![1]!;
          expect(env, `${name}: ${variable} in docker/.env`).toHaveProperty(variable);
        } else if (source!.startsWith('.') || source!.startsWith('/')) {
          expect(fs.existsSync(path.resolve(DOCKER, source!)), `${name}: ${source}`).toBe(true);
        } else {
          expect(compose.volumes, `${name}: named volume ${source}`).toHaveProperty(source!);
        }
      }
    }
    for (const [name, s] of dicap) {
      const config = s.command[2];
      const targets = (s.volumes as string[]).map((v) => splitVolume(v)[1]);
      expect(targets, `${name} mounts its config`).toContain(config);
      expect(targets, `${name} mounts the key`).toContain('/etc/dicap/cluster.key');
    }
  });

  it('uses only variables that docker/.env sets or that have a default', () => {
    const text = fs.readFileSync(path.join(DOCKER, 'compose.yaml'), 'utf8');
    for (const [, variable, operator] of text.matchAll(/\$\{([A-Z_][A-Z0-9_]*)(:?[-?])?/g)) {
      if (operator !== ':-' && operator !== '-') expect(env, variable).toHaveProperty(variable!);
    }
    expect(env.DICAP_PASSIVE_INTERFACE).toMatch(/^[\w.-]{1,15}$/);
    expect(env.DICAP_CLUSTER_KEY_FILE).toMatch(/^\//);
  });

  it('puts every process at the address the example configs name', () => {
    const coordinator = example('coordinator');
    const coordinators = dicap.filter(([, s]) => s.command[0] === 'coordinator');
    const addressOf = (s: any): string => s.networks.mgmt.ipv4_address;
    const endpoints = coordinators.map(
      ([, s]) => `${addressOf(s)}:${portOf(s.environment?.DICAP_COORDINATOR_LISTEN ?? coordinator.listen)}`,
    );
    // coordinator1 is the file as it is; the others override listen, ID, peers and http.
    expect(endpoints).toContain(coordinator.listen);
    for (const [name, s] of coordinators) {
      const listen = s.environment?.DICAP_COORDINATOR_LISTEN ?? coordinator.listen;
      expect(hostOf(listen), name).toBe(addressOf(s));
      expect(hostOf(s.environment?.DICAP_COORDINATOR_HTTP ?? coordinator.http), name).toBe(addressOf(s));
      const peers = (s.environment?.DICAP_COORDINATOR_PEER?.split(',') ?? coordinator.peer) as string[];
      expect(peers.map((p) => p.split('@')[1]).sort(), name).toEqual(
        endpoints.filter((e) => e !== listen).sort(),
      );
    }
    expect(example('agent').coordinator.sort()).toEqual([...endpoints].sort());
    expect(example('analyzer').coordinator.sort()).toEqual([...endpoints].sort());
    const [, analyzer] = dicap.find(([, s]) => s.command[0] === 'analyzer')!;
    expect(addressOf(analyzer)).toBe(hostOf(example('analyzer').listen));
    const subnet = compose.networks.mgmt.ipam.config[0].subnet as string;
    expect(subnet).toBe('198.18.0.0/24');
    for (const [, s] of Object.entries(services))
      if (s.networks?.mgmt) expect(s.networks.mgmt.ipv4_address).toMatch(/^198\.18\.0\.\d+$/);
  });

  it('has Prometheus scrape every dicap process where it serves metrics, and Grafana load the dashboard', () => {
    const prometheus = readYaml(path.join(DOCKER, 'prometheus', 'prometheus.yml'));
    const targets = (prometheus.scrape_configs as any[]).flatMap((job) =>
      job.static_configs.flatMap((c: any) => c.targets as string[]),
    );
    const coordinator = example('coordinator');
    for (const [, s] of dicap) {
      const role = s.command[0];
      if (role === 'coordinator')
        expect(targets).toContain(s.environment?.DICAP_COORDINATOR_HTTP ?? coordinator.http);
      if (role === 'analyzer')
        expect(targets).toContain(`${s.networks.mgmt.ipv4_address}:${portOf(example('analyzer').metrics)}`);
      if (role === 'agent')
        expect(targets).toContain(
          `${compose.networks.mgmt.ipam.config[0].gateway}:${portOf(s.environment.DICAP_AGENT_METRICS)}`,
        );
    }
    const datasource = readYaml(
      path.join(DOCKER, 'grafana', 'provisioning', 'datasources', 'prometheus.yaml'),
    );
    expect(datasource.datasources[0].url).toBe(
      `http://${services.prometheus.networks.mgmt.ipv4_address}:9090`,
    );
    const dashboards = readYaml(path.join(DOCKER, 'grafana', 'provisioning', 'dashboards', 'dicap.yaml'));
    const folder = dashboards.providers[0].options.path;
    expect(services.grafana.volumes).toContain(`./grafana/dicap.json:${folder}/dicap.json:ro`);
  });
});

// ---- the Dockerfile -------------------------------------------------------------------------

interface Stage {
  name: string;
  from: string;
  lines: string[];
}

function readStages(): Stage[] {
  const text = fs.readFileSync(path.join(DOCKER, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const stages: Stage[] = [];
  for (const line of text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))) {
    const from = /^FROM (\S+) AS (\S+)$/i.exec(line);
    if (from) stages.push({ name: from[2]!, from: from[1]!, lines: [] });
    else stages.at(-1)?.lines.push(line);
  }
  return stages;
}

describe('docker/Dockerfile', () => {
  const stages = readStages();
  const stage = (name: string): Stage => stages.find((s) => s.name === name)!;

  it('builds in node:20 with python3, make, g++ and libpcap-dev, and runs in a slim node:20 with production modules and libpcap only', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'deps', 'runtime']);
    expect(stage('build').from).toMatch(/^node:20(-|$)/);
    expect(stage('build').lines.join('\n')).toMatch(/apt-get install .*python3 make g\+\+ libpcap-dev/);
    expect(stage('build').lines).toContain('RUN npm run build');
    expect(stage('deps').lines.join('\n')).toContain('npm ci --omit=dev');
    expect(stage('runtime').from).toMatch(/^node:20-.*slim$/);
    const runtime = stage('runtime').lines.join('\n');
    expect(runtime).not.toMatch(/npm (ci|install)|g\+\+|-dev\b/);
    // The one system package: the shared libpcap the addon links (its filter compiler).
    expect([...runtime.matchAll(/apt-get install (.*?)(&&|$)/gm)].map((m) => m[1]!.trim())).toEqual([
      '-y --no-install-recommends libpcap0.8',
    ]);
  });

  it('copies from the build context only what exists and what the ignore file lets through', () => {
    const ignored = fs
      .readFileSync(path.join(DOCKER, 'Dockerfile.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const needed of [
      'package.json',
      'package-lock.json',
      'binding.gyp',
      'tsconfig.json',
      'native',
      'coordinator',
    ])
      expect(ignored).not.toContain(needed);
    const tsconfig = JSON.parse(fs.readFileSync(path.join(ROOT, 'tsconfig.json'), 'utf8')) as {
      include: string[];
    };
    for (const folder of tsconfig.include) expect(ignored, `tsc needs ${folder}`).not.toContain(folder);
    for (const s of stages) {
      for (const line of s.lines.filter((l) => /^COPY /.test(l) && !l.includes('--from='))) {
        const sources = line.split(/\s+/).slice(1, -1);
        for (const source of sources)
          if (source !== '.') expect(fs.existsSync(path.join(ROOT, source)), `${s.name}: ${line}`).toBe(true);
      }
    }
  });

  it('has a runtime stage whose copied files run dicap: help, an offline capture through the addon, the dashboard', async () => {
    // Rebuild the runtime image's /opt/dicap as a directory from its COPY --from lines.
    const image = path.join(tmp, 'opt-dicap');
    fs.mkdirSync(image);
    const production = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], {
      cwd: ROOT,
      encoding: 'utf8',
    })
      .split('\n')
      .filter((p) => p.includes(`${path.sep}node_modules${path.sep}`));
    const copies = stage('runtime').lines.filter((l) => l.startsWith('COPY --from='));
    expect(copies.length).toBeGreaterThan(0);
    for (const line of copies) {
      const [, from, ...rest] = /^COPY --from=(\S+) (.+)$/.exec(line)!.slice(0);
      const words = rest.join(' ').split(/\s+/);
      const destination = path.join(image, words.at(-1)!);
      for (const source of words.slice(0, -1)) {
        const relative = path.relative('/src', source);
        if (from === 'deps' && relative === 'node_modules') {
          for (const pkg of production)
            fs.cpSync(pkg, path.join(destination, path.relative(path.join(ROOT, 'node_modules'), pkg)), {
              recursive: true,
            });
          continue;
        }
        const matches = relative.includes('*')
          ? fs
              .readdirSync(path.join(ROOT, path.dirname(relative)))
              .filter((f) =>
                new RegExp(`^${path.basename(relative).replace('.', '\\.').replace('*', '.*')}$`).test(f),
              )
              .map((f) => path.join(path.dirname(relative), f))
          : [relative];
        expect(matches.length, line).toBeGreaterThan(0);
        for (const match of matches) {
          expect(fs.existsSync(path.join(ROOT, match)), `${line}: ${match} (built by npm run build)`).toBe(
            true,
          );
          const into =
            words.at(-1)!.endsWith('/') || words.length > 2
              ? path.join(destination, path.basename(match))
              : destination;
          fs.cpSync(path.join(ROOT, match), into, { recursive: true });
        }
      }
    }
    const dicap = path.join(image, 'dist', 'bin', 'dicap.js');
    for (const command of ['agent', 'analyzer', 'coordinator']) {
      expect(
        execFileSync(process.execPath, [dicap, command, '--help'], { cwd: tmp, encoding: 'utf8' }),
      ).toMatch(new RegExp(`^usage: dicap ${command}`));
    }
    // The native addon loads from the copied tree (dicap owner runs the engine's Selector on a file).
    const owners = execFileSync(process.execPath, [dicap, 'owner', '--nodes', '1,2', CAPTURE_FILE], {
      cwd: tmp,
      encoding: 'utf8',
    });
    expect(owners.trim().split('\n')).toHaveLength(20);
    // The coordinator serves its dashboard page and metrics from the copied tree.
    const [control, http] = [await freePort('udp'), await freePort('tcp')];
    const coordinator = spawn(
      process.execPath,
      [
        dicap,
        'coordinator',
        ...dicapOptions({
          insecure: true,
          listen: `127.0.0.1:${control}`,
          http: `127.0.0.1:${http}`,
          'status-interval': 0,
        }),
      ],
      { cwd: tmp, stdio: 'ignore' },
    );
    try {
      const page = await poll(() => fetch(`http://127.0.0.1:${http}/`));
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<html/i);
      expect(await (await fetch(`http://127.0.0.1:${http}/metrics`)).text()).toContain(
        'dicap_coordinator_active',
      );
    } finally {
      coordinator.kill('SIGKILL');
    }
  }, 30_000);
});

// ---- systemd units --------------------------------------------------------------------------

function readUnit(name: string): Map<string, string[]> {
  const entries = new Map<string, string[]>();
  let section = '';
  for (const line of fs.readFileSync(path.join(DOCKER, 'systemd', name), 'utf8').split('\n')) {
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) section = header[1]!;
    const entry = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (entry)
      entries.set(`${section}.${entry[1]}`, [...(entries.get(`${section}.${entry[1]}`) ?? []), entry[2]!]);
  }
  return entries;
}

describe('docker/systemd', () => {
  const units = ['dicap-agent@.service', 'dicap-analyzer.service', 'dicap-coordinator.service'];

  it.each(units)(
    '%s runs dicap as the dicap user from its config file, restarts always, and gets the key as a credential',
    (name) => {
      const unit = readUnit(name);
      const component = /^dicap-(\w+)/.exec(name)![1]!;
      expect(unit.get('Service.User')).toEqual(['dicap']);
      expect(unit.get('Service.Restart')).toEqual(['always']);
      expect(unit.get('Service.NoNewPrivileges')).toEqual(['yes']);
      const [execStart] = unit.get('Service.ExecStart')!;
      expect(execStart).toMatch(
        new RegExp(
          `^/usr/bin/node /opt/dicap/dist/bin/dicap.js ${component} --config /etc/dicap/${component}(-%i)?\\.json$`,
        ),
      );
      expect(unit.get('Service.LoadCredential')).toEqual(['cluster.key:/etc/dicap/cluster.key']);
      expect(unit.get('Service.Environment')).toContain(
        `DICAP_${component.toUpperCase()}_CLUSTER_KEY_FILE=%d/cluster.key`,
      );
      expect(unit.get('Install.WantedBy')).toEqual(['multi-user.target']);
    },
  );

  it('gives the agent exactly CAP_NET_RAW and CAP_NET_ADMIN, and the others none', () => {
    const agent = readUnit('dicap-agent@.service');
    expect(agent.get('Service.CapabilityBoundingSet')).toEqual(['CAP_NET_RAW CAP_NET_ADMIN']);
    expect(agent.get('Service.AmbientCapabilities')).toEqual(['CAP_NET_RAW CAP_NET_ADMIN']);
    expect(agent.get('Unit.BindsTo')).toEqual(['sys-subsystem-net-devices-%i.device']);
    for (const name of ['dicap-analyzer.service', 'dicap-coordinator.service']) {
      expect(readUnit(name).get('Service.CapabilityBoundingSet'), name).toEqual(['']);
      expect(readUnit(name).get('Service.AmbientCapabilities'), name).toBeUndefined();
    }
  });

  it("prepares the passive interface with the README's commands", () => {
    const pre = readUnit('dicap-agent@.service').get('Service.ExecStartPre')!.join('\n');
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(pre).toContain('/usr/sbin/ip link set dev %i up promisc on');
    const ethtool = /ethtool -K %i (.+)$/m.exec(pre)![1]!;
    expect(readme).toContain(`ethtool -K eth1 ${ethtool}`);
  });

  const verify = spawnSync('systemd-analyze', ['--version']).status === 0 && fs.existsSync('/usr/bin/node');
  it.skipIf(!verify)('pass systemd-analyze verify (the agent as instance eth1)', () => {
    const dir = path.join(tmp, 'units');
    fs.mkdirSync(dir);
    for (const name of units)
      fs.copyFileSync(path.join(DOCKER, 'systemd', name), path.join(dir, name.replace('@.', '@eth1.')));
    const result = spawnSync(
      'systemd-analyze',
      ['verify', ...units.map((n) => path.join(dir, n.replace('@.', '@eth1.')))],
      { encoding: 'utf8' },
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
