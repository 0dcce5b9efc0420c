#!/usr/bin/env node
// Checks, before anything is built or started, that the programs a step needs are installed,
// and stops with one line naming every missing one and the apt-get line that installs them.
// Plain JavaScript with no imports of ours: it runs before `npm install` has built anything
// (package.json: preinstall runs `build`, start runs `demo`).
//
//   node bin/prerequisites.mjs build   # python3, make, g++, clang, libpcap's and libbpf's headers for node-gyp
//   node bin/prerequisites.mjs demo    # what `dicap lab demo` runs: ip, tc, sysctl, taskset
import fs from 'node:fs';
import path from 'node:path';

/** Program → the Debian/Ubuntu package that installs it. */
const PACKAGE = {
  python3: 'python3',
  make: 'make',
  'g++': 'g++',
  ip: 'iproute2',
  tc: 'iproute2',
  sysctl: 'procps',
  taskset: 'util-linux',
  'pcap/pcap.h': 'libpcap-dev',
  clang: 'clang',
  'bpf/libbpf.h': 'libbpf-dev',
};

/** What each step runs. The lab sets offloads through the ethtool ioctl and sends its
 * traffic with `dicap gen`: neither ethtool nor tcpreplay is needed for the demo. */
const STEPS = {
  // Headers, not programs: the addon links libpcap's filter compiler and libbpf; clang
  // compiles the selection's BPF program (binding.gyp).
  build: ['python3', 'make', 'g++', 'pcap/pcap.h', 'clang', 'bpf/libbpf.h'],
  demo: ['ip', 'tc', 'sysctl', 'taskset'],
};

const MINIMUM_NODE_MAJOR = 20;

// sbin holds ip, tc and sysctl; a user's PATH may lack it even where root's has it.
const SEARCH = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/sbin'].filter(Boolean);

function installed(program) {
  if (program.endsWith('.h')) return fs.existsSync(path.join('/usr/include', program));
  return SEARCH.some((dir) => {
    try {
      fs.accessSync(path.join(dir, program), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

const step = process.argv[2];
if (!(step in STEPS)) {
  console.error(`usage: node bin/prerequisites.mjs ${Object.keys(STEPS).join('|')}`);
  process.exit(2);
}
const major = Number(process.versions.node.split('.')[0]);
if (major < MINIMUM_NODE_MAJOR) {
  console.error(
    `dicap needs Node.js ${MINIMUM_NODE_MAJOR} or newer, this is ${process.version}: install it as the README's "Requirements" says`,
  );
  process.exit(1);
}
const missing = STEPS[step].filter((program) => !installed(program));
if (missing.length > 0) {
  const packages = [...new Set(missing.map((program) => PACKAGE[program]))];
  console.error(
    `dicap ${step} needs ${missing.join(', ')}, not installed here: sudo apt-get install -y ${packages.join(' ')}`,
  );
  process.exit(1);
}
