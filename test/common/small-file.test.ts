// Issue 11 cases 8 (TS half) and 9: the config file and the cluster key file are regular
// files of bounded size, key files are the owner's alone, not links, and not all zeros;
// every refusal is one line naming the fix, and nothing blocks or grows without bound.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir.js';
import { MAX_CLUSTER_KEY_FILE_BYTES, readClusterKeyFile } from '../../common/cluster-key.js';
import { defineOptions, MAX_CONFIG_FILE_BYTES, parseOptions } from '../../common/options.js';

const directory = tempDir('small-file');

const SPEC = defineOptions({
  component: 'agent',
  summary: 'A test component.',
  usage: 'dicap agent [options]',
  options: { snaplen: { type: 'integer', default: 128, help: 'bytes kept per frame' } },
});

function fifo(name: string): string {
  const file = path.join(directory, name);
  execFileSync('mkfifo', [file]);
  return file;
}

function sparse(name: string, bytes: number): string {
  const file = path.join(directory, name);
  fs.writeFileSync(file, '');
  fs.truncateSync(file, bytes);
  return file;
}

function keyFile(name: string, text: string, mode = 0o600): string {
  const file = path.join(directory, name);
  fs.writeFileSync(file, text, { mode });
  fs.chmodSync(file, mode);
  return file;
}

function oneLineError(run: () => unknown): string {
  let message: string | undefined;
  try {
    run();
  } catch (error) {
    message = (error as Error).message;
  }
  expect(message, 'no error').toBeDefined();
  expect(message!.split('\n')).toHaveLength(1);
  return message!;
}

const config = (file: string) => () => parseOptions(SPEC, ['--config', file], {});

describe('--config FILE is a regular file of bounded size', () => {
  it('refuses /dev/zero as a device, without reading it', () => {
    expect(oneLineError(config('/dev/zero'))).toMatch(
      /config file \/dev\/zero: is a device; give a regular file/,
    );
  });
  it('refuses a FIFO without waiting for a writer', () => {
    expect(oneLineError(config(fifo('config.fifo')))).toMatch(/is a FIFO; give a regular file/);
  });
  it('refuses a directory', () => {
    expect(oneLineError(config(directory))).toMatch(/is a directory; give a regular file/);
  });
  it('refuses a file larger than the limit', () => {
    const huge = sparse('huge.json', MAX_CONFIG_FILE_BYTES + 1);
    expect(oneLineError(config(huge))).toMatch(new RegExp(`more than the ${MAX_CONFIG_FILE_BYTES} allowed`));
  });
  it('still reads a good file', () => {
    const file = path.join(directory, 'good.json');
    fs.writeFileSync(file, '{"snaplen": 96}');
    const parsed = parseOptions(SPEC, ['--config', file], {});
    expect(parsed.help === false && parsed.values.snaplen).toBe(96);
  });
});

describe('--cluster-key-file FILE', () => {
  const good = `${'5a'.repeat(32)}\n`;
  it('reads a private key file', () => {
    expect(readClusterKeyFile(keyFile('good.key', good)).toString('hex')).toBe('5a'.repeat(32));
  });
  it('refuses /dev/zero, a FIFO, a directory and a huge file', () => {
    expect(oneLineError(() => readClusterKeyFile('/dev/zero'))).toMatch(/is a device; give a regular file/);
    expect(oneLineError(() => readClusterKeyFile(fifo('key.fifo')))).toMatch(/is a FIFO/);
    expect(oneLineError(() => readClusterKeyFile(directory))).toMatch(/is a directory/);
    const huge = sparse('huge.key', MAX_CLUSTER_KEY_FILE_BYTES + 1);
    fs.chmodSync(huge, 0o600);
    expect(oneLineError(() => readClusterKeyFile(huge))).toMatch(/more than the 4096 allowed/);
  });
  it('refuses a key file readable by group or others, naming the chmod that fixes it', () => {
    for (const mode of [0o644, 0o640, 0o604]) {
      const file = keyFile(`mode-${mode.toString(8)}.key`, good, mode);
      expect(oneLineError(() => readClusterKeyFile(file))).toContain(`fix it with \`chmod 600 ${file}\``);
    }
  });
  it('refuses a symbolic link to a key file', () => {
    const link = path.join(directory, 'link.key');
    fs.symlinkSync(keyFile('target.key', good), link);
    expect(oneLineError(() => readClusterKeyFile(link))).toMatch(/is a symbolic link; give the file itself/);
  });
  it('refuses an all-zero key', () => {
    const file = keyFile('zero.key', `${'00'.repeat(32)}\n`);
    expect(oneLineError(() => readClusterKeyFile(file))).toMatch(/all zero bytes.*openssl rand -hex 32/);
  });
});
