import { describe, expect, it } from 'vitest';
import { errorCode } from '../../common/errors.js';
import {
  formatHostPort,
  parseHostPort,
  tryParseHostPort,
  tryParseListenAddress,
} from '../../common/host-port.js';

describe('host-port', () => {
  it.each([
    ['127.0.0.1:9999', '127.0.0.1', 9999],
    ['0.0.0.0:1', '0.0.0.0', 1],
    ['analyzer-7.example.net:65535', 'analyzer-7.example.net', 65535],
    ['localhost:80', 'localhost', 80],
    ['box.:80', 'box.', 80],
  ])('parses %s', (text, host, port) => {
    expect(parseHostPort(text)).toEqual({ host, port });
    expect(formatHostPort(parseHostPort(text))).toBe(text);
  });

  it.each([
    ['127.0.0.1', 'has no port; give HOST:PORT such as 127.0.0.1:9999'],
    [':9999', 'has no host; give an IPv4 address or host name before the colon, such as 127.0.0.1:9999'],
    ['h:', 'has port "", which is not a number; give a port 1..65535, such as 127.0.0.1:9999'],
    ['h:x1', 'has port "x1", which is not a number; give a port 1..65535, such as 127.0.0.1:9999'],
    ['h:0', 'has port 0, outside 1..65535; give a port 1..65535, such as 127.0.0.1:9999'],
    ['h:65536', 'has port 65536, outside 1..65535; give a port 1..65535, such as 127.0.0.1:9999'],
    [
      '256.1.1.1:5',
      'has host "256.1.1.1", which is not an IPv4 address (four numbers 0..255 joined by dots)',
    ],
    ['1.2.3:5', 'has host "1.2.3", which is not an IPv4 address (four numbers 0..255 joined by dots)'],
    [
      'bad_name:5',
      'has host "bad_name", which is not a valid host name (letters, digits and hyphens in dot-separated labels)',
    ],
    [
      '-x:5',
      'has host "-x", which is not a valid host name (letters, digits and hyphens in dot-separated labels)',
    ],
    [
      '[::1]:5',
      'looks like an IPv6 address, which only the HTTP listeners (--metrics, --http) take, as [ADDRESS]:PORT; give an IPv4 address or host name, such as 127.0.0.1:9999',
    ],
    [
      '::1:5',
      'looks like an IPv6 address, which only the HTTP listeners (--metrics, --http) take, as [ADDRESS]:PORT; give an IPv4 address or host name, such as 127.0.0.1:9999',
    ],
  ])('rejects %s: %s', (text, problem) => {
    expect(tryParseHostPort(text)).toEqual({ ok: false, problem });
    try {
      parseHostPort(text);
      throw new Error('did not throw');
    } catch (error) {
      expect(errorCode(error)).toBe('DICAP_ERR_BAD_ADDRESS');
      expect((error as Error).message).toBe(`"${text}" ${problem}`);
    }
  });

  it('takes [IPv6]:PORT for listeners only, and writes it back in brackets', () => {
    for (const [text, host, port] of [
      ['[::]:9401', '::', 9401],
      ['[::1]:80', '::1', 80],
      ['[2001:db8::7]:8400', '2001:db8::7', 8400],
    ] as const) {
      expect(tryParseListenAddress(text)).toEqual({ ok: true, value: { host, port } });
      expect(formatHostPort({ host, port })).toBe(text);
      expect(tryParseHostPort(text).ok).toBe(false);
    }
    expect(tryParseListenAddress('127.0.0.1:9')).toEqual({ ok: true, value: { host: '127.0.0.1', port: 9 } });
    expect(tryParseListenAddress('[1.2.3.4]:9')).toEqual({
      ok: false,
      problem: 'has host "[1.2.3.4]", which is not an IPv6 address; give one such as [::]:9401',
    });
    expect(tryParseListenAddress('[::]:0')).toEqual({
      ok: false,
      problem: 'has port 0, outside 1..65535; give a port 1..65535, such as 127.0.0.1:9999',
    });
  });
});
