import { describe, expect, it } from 'vitest';
import { errorCode } from '../../common/errors.js';
import { formatHostPort, parseHostPort, tryParseHostPort } from '../../common/host-port.js';

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
      'looks like an IPv6 address, which is not supported; give an IPv4 address or host name, such as 127.0.0.1:9999',
    ],
    [
      '::1:5',
      'looks like an IPv6 address, which is not supported; give an IPv4 address or host name, such as 127.0.0.1:9999',
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
});
