// Bad configuration of `dicap coordinator`: one line each, naming the problem, non-zero exit.
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir.js';
import { runDicap } from '../../lab/dicap-command.js';

const keyFile = path.join(tempDir('coord'), 'cluster.key');
fs.writeFileSync(keyFile, '00112233445566778899aabbccddeeff\n', { mode: 0o600 });

async function expectOneLineError(args: string[], pattern: RegExp): Promise<void> {
  const result = await runDicap(['coordinator', ...args]);
  expect(result.code).not.toBe(0);
  const lines = result.stderr.trim().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
}

describe('dicap coordinator refuses bad configuration in one line', () => {
  it('an unknown mode', () =>
    expectOneLineError(
      ['--insecure', '--mode', 'bogus'],
      /--mode "bogus" is not one of round-robin, ipid, flow/,
    ));
  it('an unreadable key file', () =>
    expectOneLineError(
      ['--cluster-key-file', '/nonexistent/key', '--listen', '127.0.0.1:7499'],
      /cluster key file \/nonexistent\/key: cannot read \(ENOENT\)/,
    ));
  it('no key and no --insecure', () =>
    expectOneLineError(['--listen', '127.0.0.1:7499'], /needs --cluster-key-file FILE \(or --insecure/));
  it('round-robin without an injection interface', () =>
    expectOneLineError(
      ['--cluster-key-file', keyFile, '--listen', '127.0.0.1:7499', '--mode', 'round-robin'],
      /round-robin needs --inject-interface IF/,
    ));
  it('an injection interface that does not exist', () =>
    expectOneLineError(
      [
        '--cluster-key-file',
        keyFile,
        '--listen',
        '127.0.0.1:7499',
        '--mode',
        'round-robin',
        '--inject-interface',
        'nosuch0',
      ],
      /interface "nosuch0" does not exist/,
    ));
  it('a control port in use', async () => {
    const holder = dgram.createSocket('udp4');
    holder.bind(0, '127.0.0.1');
    await once(holder, 'listening');
    try {
      await expectOneLineError(
        ['--cluster-key-file', keyFile, '--listen', `127.0.0.1:${holder.address().port}`],
        /control port 127\.0\.0\.1:\d+ is already in use/,
      );
    } finally {
      holder.close();
    }
  });
  it('a listen address of 0.0.0.0 without --advertise', () =>
    expectOneLineError(
      ['--insecure', '--listen', '0.0.0.0:7499'],
      /--advertise 0\.0\.0\.0: agents need a concrete IPv4 address/,
    ));
});
