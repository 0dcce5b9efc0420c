import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../bin/proto.js';
import {
  encodeControlMessage,
  formatControlMessage,
  ledger,
  verifyControlMessage,
} from '../../protocol/index.js';
import { CLUSTER_KEY, TOPOLOGY_UPDATE_FIELDS, TOPOLOGY_UPDATE_HEX } from './vectors.js';

describe('formatControlMessage', () => {
  it('shows the type, AVPs by name, the typed view and the MAC verdict as JSON', () => {
    const result = verifyControlMessage(Buffer.from(TOPOLOGY_UPDATE_HEX, 'hex'), CLUSTER_KEY);
    if (!result.ok) throw new Error(result.error.reason);
    const shown = JSON.parse(formatControlMessage(result.message, true));
    expect(shown).toMatchObject({
      type: 'TOPOLOGY_UPDATE',
      timestamp: 1795000000,
      senderSeq: 1,
      macValid: true,
    });
    expect(shown.avps.slice(0, 2)).toEqual([
      { name: 'TERM', value: 7 },
      { name: 'EPOCH', value: 42 },
    ]);
    expect(shown.avps.filter((a: { name: string }) => a.name === 'NODE_ID')).toHaveLength(3);
    expect(shown.fields).toEqual(TOPOLOGY_UPDATE_FIELDS);
  });

  it('prints 64-bit counters as decimal strings and an unchecked MAC as null', () => {
    const body = ledger({ nodeId: 1, epoch: 2, seen: 2n ** 60n, owned: 1n, exported: 0n, dropped: 0n });
    const shown = JSON.parse(formatControlMessage({ ...body, timestamp: 0, senderSeq: 0 }, null));
    expect(shown).toMatchObject({
      type: 'LEDGER',
      macValid: null,
      fields: { seen: '1152921504606846976', owned: '1' },
    });
  });
});

describe('dicap proto decode', () => {
  afterEach(() => vi.restoreAllMocks());

  function run(argv: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    vi.spyOn(console, 'error').mockImplementation((line: string) => void err.push(line));
    return main(argv).then((code) => ({ code, out: out.join('\n'), err: err.join('\n') }));
  }

  it('prints macValid true with the right key, false with a wrong one, null without', async () => {
    const key = CLUSTER_KEY.toString('hex');
    expect(JSON.parse((await run(['decode', TOPOLOGY_UPDATE_HEX, '--key', key])).out).macValid).toBe(true);
    expect(JSON.parse((await run(['decode', TOPOLOGY_UPDATE_HEX, '--key', '00'])).out).macValid).toBe(false);
    expect(JSON.parse((await run(['decode', TOPOLOGY_UPDATE_HEX])).out).macValid).toBe(null);
    const insecure = encodeControlMessage(
      {
        ...ledger({ nodeId: 1, epoch: 1, seen: 0n, owned: 0n, exported: 0n, dropped: 0n }),
        timestamp: 1,
        senderSeq: 1,
      },
      null,
    );
    expect(JSON.parse((await run(['decode', insecure.toString('hex'), '--insecure'])).out).macValid).toBe(
      true,
    );
  });

  it("prints the decoder's one-line error and exits 1 on bad bytes", async () => {
    const result = await run(['decode', TOPOLOGY_UPDATE_HEX.slice(0, -2)]);
    expect(result).toMatchObject({ code: 1, out: '' });
    expect(result.err).toMatch(/^LENGTH_MISMATCH: .+$/);
  });

  it('exits 2 with a usage hint on bad arguments, 0 on --help', async () => {
    expect(await run(['decode', 'xyz'])).toMatchObject({ code: 2, err: expect.stringMatching(/hex digits/) });
    expect(await run(['encode', '00'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/unknown subcommand/),
    });
    expect(await run(['decode'])).toMatchObject({ code: 2 });
    expect(await run(['decode', '00', '--key', 'abc'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--key/),
    });
    expect(await run(['decode', '00', '--bogus'])).toMatchObject({ code: 2 });
    expect(await run(['--help'])).toMatchObject({
      code: 0,
      out: expect.stringMatching(/^usage: dicap proto decode/),
    });
  });
});
