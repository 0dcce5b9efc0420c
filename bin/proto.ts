// `dicap proto decode HEX [--key HEX | --insecure]`: show what a control message says
// and whether its MAC verifies. Exit 0 when it decodes, 1 when the decoder rejects it,
// 2 on a usage error.
import { parseArgs } from 'node:util';
import { decodeControlMessage, formatControlMessage } from '../protocol/index.js';

const USAGE = `usage: dicap proto decode HEX [--key HEX | --insecure]

Decodes one control message (the bytes of a UDP datagram, as hex) and prints it as JSON:
type, AVPs by name, named fields, and macValid (null unless a key is given).

  --key HEX     cluster key (hex) to verify the HMAC with
  --insecure    verify with insecure mode's all-zero key
  -h, --help    show this help`;

/** Hex digits (spaces, colons and a leading 0x allowed) to bytes, or undefined if not hex. */
function parseHex(text: string): Buffer | undefined {
  const digits = text.replace(/^0x/i, '').replace(/[\s:]/g, '');
  return digits.length > 0 && digits.length % 2 === 0 && /^[0-9a-f]*$/i.test(digits)
    ? Buffer.from(digits, 'hex')
    : undefined;
}

function usageError(message: string): number {
  console.error(`dicap proto: ${message}; run \`dicap proto --help\``);
  return 2;
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        key: { type: 'string' },
        insecure: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return usageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [command, hex, ...extra] = positionals;
  if (command !== 'decode')
    return usageError(command ? `unknown subcommand "${command}"` : 'missing subcommand "decode"');
  if (hex === undefined || extra.length > 0) return usageError('decode takes exactly one HEX argument');
  if (values.key !== undefined && values.insecure)
    return usageError('give either --key or --insecure, not both');
  const bytes = parseHex(hex);
  if (!bytes) return usageError('HEX must be an even number of hex digits');
  const key = values.key === undefined ? null : parseHex(values.key);
  if (key === undefined) return usageError('--key must be an even number of hex digits');

  const verifying = key !== null || values.insecure === true;
  const result = decodeControlMessage(bytes, key);
  if (!result.ok) {
    console.error(`${result.error.code}: ${result.error.reason}`);
    return 1;
  }
  console.log(formatControlMessage(result.message, verifying ? result.macValid : null));
  return 0;
}
