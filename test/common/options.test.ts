import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, writeIn } from '../helpers/temp-dir.js';
import { errorCode } from '../../common/errors.js';
import { defineOptions, formatHelp, parseOptions, type OptionsSpec } from '../../common/options.js';

const DEFAULT_SNAPLEN = 128;
const DEFAULT_MODE = 'flow';

const SPEC = defineOptions({
  component: 'agent',
  summary: 'A test component.',
  usage: 'dicap agent --listen HOST:PORT [options]',
  options: {
    listen: { type: 'host-port', required: true, help: 'where to listen' },
    snaplen: {
      type: 'integer',
      default: DEFAULT_SNAPLEN,
      min: 14,
      max: 65535,
      placeholder: 'BYTES',
      hint: 'a number of bytes such as 128',
      help: 'bytes kept per frame',
    },
    analyzer: { type: 'host-port', repeatable: true, help: 'an analyzer to send to' },
    interfaces: { type: 'list', default: ['eth0'], help: 'capture interfaces' },
    mode: {
      type: 'enum',
      values: ['round-robin', 'ipid', 'flow'],
      default: DEFAULT_MODE,
      help: 'selection mode',
    },
    insecure: { type: 'boolean', help: 'run without a cluster key' },
    'block-size': {
      type: 'integer',
      default: 4096,
      help: 'ring block size',
      validate: (n) => (n % 4096 === 0 ? undefined : 'must be a multiple of the page size 4096'),
    },
    name: { type: 'string', help: 'a label' },
  },
});

const tmp = tempDir('options');

const configFile = (name: string, content: string): string => writeIn(tmp, name, content);

function values(argv: string[], env: Record<string, string> = {}) {
  const result = parseOptions(SPEC, argv, env);
  if (result.help) throw new Error('unexpected help');
  return result.values;
}

/** The one-line message of the DICAP_ERR_BAD_CONFIG error that parsing throws. */
function failure(argv: string[], env: Record<string, string> = {}): string {
  try {
    parseOptions(SPEC, argv, env);
  } catch (error) {
    expect(errorCode(error)).toBe('DICAP_ERR_BAD_CONFIG');
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error(`parsing ${argv.join(' ')} did not fail`);
}

describe('parseOptions', () => {
  it('applies defaults and types every value', () => {
    const v = values(['--listen', '0.0.0.0:9999']);
    expect(v.listen).toEqual({ host: '0.0.0.0', port: 9999 });
    expect(v.snaplen).toBe(128);
    expect(v.analyzer).toEqual([]);
    expect(v.interfaces).toEqual(['eth0']);
    expect(v.mode).toBe('flow');
    expect(v.insecure).toBe(false);
    expect(v.blockSize).toBe(4096);
    expect(v.name).toBeUndefined();
    expect(Object.isFrozen(v)).toBe(true);
  });

  it('reads --name=value, --name value, boolean and --no- forms', () => {
    const v = values([
      '--listen=h:1',
      '--snaplen=200',
      '--mode',
      'ipid',
      '--insecure',
      '--interfaces',
      'eth1, eth2',
      '--name',
      '-',
    ]);
    expect(v).toMatchObject({
      snaplen: 200,
      mode: 'ipid',
      insecure: true,
      interfaces: ['eth1', 'eth2'],
      name: '-',
    });
    expect(values(['--listen=h:1', '--no-insecure']).insecure).toBe(false);
    expect(values(['--listen=h:1', '--insecure=false']).insecure).toBe(false);
  });

  it('collects a repeatable option from repeated flags and comma lists', () => {
    const v = values(['--listen', 'h:1', '--analyzer', 'a:1', '--analyzer', 'b:2,c:3']);
    expect(v.analyzer).toEqual([
      { host: 'a', port: 1 },
      { host: 'b', port: 2 },
      { host: 'c', port: 3 },
    ]);
  });

  it('merges defaults < config file < environment < flags', () => {
    const file = configFile(
      'merge.json',
      JSON.stringify({ listen: 'f:1', snaplen: 300, mode: 'ipid', analyzer: ['x:1', 'y:2'], insecure: true }),
    );
    const env = { DICAP_AGENT_SNAPLEN: '400', DICAP_AGENT_MODE: 'round-robin' };
    const v = values(['--config', file, '--mode', 'flow'], env);
    expect(v.listen).toEqual({ host: 'f', port: 1 }); // file only
    expect(v.snaplen).toBe(400); // env beats file
    expect(v.mode).toBe('flow'); // flag beats env and file
    expect(v.analyzer).toEqual([
      { host: 'x', port: 1 },
      { host: 'y', port: 2 },
    ]);
    expect(v.insecure).toBe(true);
    expect(v.blockSize).toBe(4096); // default
    // A higher source replaces a repeatable option's list rather than appending to it.
    expect(values(['--config', file, '--analyzer', 'z:3']).analyzer).toEqual([{ host: 'z', port: 3 }]);
  });

  it('takes the config file from the environment and treats empty variables as unset', () => {
    const file = configFile('env-config.json', '{"listen": "e:5"}');
    expect(values([], { DICAP_AGENT_CONFIG: file, DICAP_AGENT_NAME: '' }).listen).toEqual({
      host: 'e',
      port: 5,
    });
  });

  it('returns help when asked, whatever else is on the line', () => {
    expect(parseOptions(SPEC, ['--snaplen', 'abc', '--help'], {})).toEqual({ help: true });
    expect(parseOptions(SPEC, ['-h'], {})).toEqual({ help: true });
  });

  // Each beside a valid --listen, so that the value is the one thing wrong.
  it.each([
    [['--snaplen', 'abc'], '--snaplen "abc" is not an integer; give a number of bytes such as 128'],
    [['--snaplen', '10'], '--snaplen "10" is below the minimum 14; give a number of bytes such as 128'],
    [
      ['--snaplen', '70000'],
      '--snaplen "70000" is above the maximum 65535; give a number of bytes such as 128',
    ],
    [
      ['--snaplen', '99999999999999999999'],
      '--snaplen "99999999999999999999" is too large; give a number of bytes such as 128',
    ],
    [['--snaplen', '1.5'], '--snaplen "1.5" is not an integer; give a number of bytes such as 128'],
    [['--block-size', '5000'], '--block-size "5000" must be a multiple of the page size 4096'],
    [['--mode', 'random'], '--mode "random" is not one of round-robin, ipid, flow; give one of them'],
    [['--insecure=maybe'], '--insecure "maybe" is not a boolean; give true or false'],
    [
      ['--analyzer', 'a:1,b:0'],
      '--analyzer "b:0" has port 0, outside 1..65535; give a port 1..65535, such as 127.0.0.1:9999',
    ],
    [['--interfaces', 'a,,b'], '--interfaces "a,,b" has an empty item; separate items by single commas'],
    [['--name', ''], '--name "" is empty; give a non-empty value'],
    [['extra'], 'unexpected argument "extra"; options are given as --name VALUE (see dicap agent --help)'],
    [['--listen', 'h:2'], '--listen is given twice; give it once'],
  ])('rejects --listen h:1 %j with a one-line message', (argv, message) => {
    expect(failure(['--listen', 'h:1', ...argv])).toBe(message);
  });

  it.each([
    [['--listen', 'nohost'], '--listen "nohost" has no port; give HOST:PORT such as 127.0.0.1:9999'],
    [['--lisen', 'h:1'], 'unknown option --lisen; did you mean --listen? (see dicap agent --help)'],
    [['--listen'], '--listen needs a value; give HOST:PORT such as 127.0.0.1:9999'],
    [['--snaplen', '--listen', 'h:1'], '--snaplen needs a value; give a number of bytes such as 128'],
    [
      ['--snaplen', '100'],
      'missing --listen; give HOST:PORT such as 127.0.0.1:9999 (as --listen, DICAP_AGENT_LISTEN or "listen" in the config file)',
    ],
  ])('rejects %j with a one-line message', (argv, message) => {
    expect(failure(argv)).toBe(message);
  });

  it('names the environment variable of a bad value, and warns about unknown ones (a mixed-version rollout shares its environment file)', () => {
    expect(failure(['--listen', 'h:1'], { DICAP_AGENT_SNAPLEN: 'abc' })).toBe(
      'DICAP_AGENT_SNAPLEN="abc" is not an integer; give a number of bytes such as 128',
    );
    const warnings: string[] = [];
    const parsed = parseOptions(SPEC, ['--listen', 'h:1'], { DICAP_AGENT_SNAPLN: '1' }, (w) =>
      warnings.push(w),
    );
    expect(parsed.help === false && parsed.values.snaplen).toBe(128);
    expect(warnings).toEqual([
      'unknown environment variable DICAP_AGENT_SNAPLN is ignored; did you mean DICAP_AGENT_SNAPLEN?',
    ]);
    // Other components' variables are none of this component's business.
    expect(values(['--listen', 'h:1'], { DICAP_ANALYZER_WHATEVER: 'x' }).snaplen).toBe(128);
  });

  it('names the config file and key of a bad value', () => {
    const file = configFile('bad-value.json', '{"listen": "h:1", "snaplen": "abc"}');
    expect(failure(['--config', file])).toBe(
      `config file ${file}: snaplen "abc" is not an integer; give a number of bytes such as 128`,
    );
    const fraction = configFile('fraction.json', '{"listen": "h:1", "snaplen": 12.5}');
    expect(failure(['--config', fraction])).toBe(
      `config file ${fraction}: snaplen 12.5 is not an integer; give a number of bytes such as 128`,
    );
    const wrongType = configFile('wrong-type.json', '{"listen": 9999}');
    expect(failure(['--config', wrongType])).toBe(
      `config file ${wrongType}: listen 9999 is not a string; give HOST:PORT such as 127.0.0.1:9999`,
    );
  });

  it('rejects unknown keys, unreadable files, bad JSON and non-objects', () => {
    const unknown = configFile('unknown.json', '{"snaplenn": 5}');
    expect(failure(['--config', unknown])).toBe(
      `config file ${unknown}: unknown key "snaplenn"; did you mean "snaplen"?`,
    );
    const unrelated = configFile('unrelated.json', '{"zzzzzzzzzzzz": 5}');
    expect(failure(['--config', unrelated])).toMatch(
      /unknown key "zzzzzzzzzzzz"; known: "listen", "snaplen", "analyzer", .*"name"$/,
    );
    const missing = path.join(tmp, 'missing.json');
    expect(failure(['--config', missing])).toBe(
      `config file ${missing}: cannot read (ENOENT); check the path and its permissions`,
    );
    const broken = configFile('broken.json', '{"listen": ');
    expect(failure(['--config', broken])).toMatch(
      new RegExp(`^config file ${broken}: not valid JSON \\(.*\\); fix the syntax$`),
    );
    const array = configFile('array.json', '[1, 2]');
    expect(failure(['--config', array])).toBe(
      `config file ${array}: must hold a JSON object whose keys are option names, such as {"listen": …}`,
    );
  });
});

describe('defineOptions', () => {
  const base = { component: 'x', summary: 's', usage: 'u' };
  it.each([
    [{ Bad_Name: { type: 'string', help: 'h' } }, 'option name "Bad_Name" must be kebab-case'],
    [{ config: { type: 'string', help: 'h' } }, 'option name "config" is built in'],
    [
      { n: { type: 'integer', default: 3, min: 5, help: 'h' } },
      'option "n": default "3" is below the minimum 5; give a whole number such as 3',
    ],
    [{ n: { type: 'integer', default: [1], help: 'h' } }, 'option "n": the default must not be an array'],
    [
      { n: { type: 'string', required: true, default: 'a', help: 'h' } },
      'option "n": required options have no default',
    ],
  ])('rejects a mistaken table %j', (options, message) => {
    expect(() => defineOptions({ ...base, options } as OptionsSpec)).toThrow(`options of x: ${message}`);
  });

  it('freezes the table', () => {
    expect(Object.isFrozen(SPEC)).toBe(true);
    expect(Object.isFrozen(SPEC.options.snaplen)).toBe(true);
  });
});

describe('formatHelp', () => {
  const help = formatHelp(SPEC);
  it('explains every option with its type, default, range and environment variable', () => {
    expect(help.startsWith('usage: dicap agent --listen HOST:PORT [options]\n')).toBe(true);
    for (const name of Object.keys(SPEC.options)) expect(help).toContain(`--${name}`);
    expect(help).toContain('--snaplen BYTES\n      Bytes kept per frame.');
    expect(help).toContain('Range: 14..65535. Default: 128. Env: DICAP_AGENT_SNAPLEN.');
    expect(help).toContain('One of: round-robin, ipid, flow.');
    expect(help).toContain('--insecure, --no-insecure');
    expect(help).toContain('Repeatable: repeat the flag or separate values by commas.');
    expect(help).toContain('--config FILE');
    expect(help).toContain('Env: DICAP_AGENT_CONFIG');
    expect(help).toMatch(/flags win over the\s+environment, which wins over the file/);
    for (const line of help.split('\n')) expect(line.length).toBeLessThanOrEqual(100);
  });
});
