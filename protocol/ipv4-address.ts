// IPv4 addresses travel in AVPs as one u32 (network order); views show them dotted.

const DOTTED_QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** `198.18.0.100` → 0xC6120064. Throws RangeError on anything but a dotted quad. */
export function ipv4ToU32(address: string): number {
  const match = DOTTED_QUAD.exec(address);
  const octets = match ? match.slice(1).map(Number) : [];
  if (octets.length !== 4 || octets.some((octet) => octet > 255)) {
    throw new RangeError(
      `"${address}" is not an IPv4 address; write it as four numbers 0-255, like 198.18.0.100`,
    );
  }
  return octets.reduce((word, octet) => ((word << 8) | octet) >>> 0, 0);
}

/** 0xC6120064 → `198.18.0.100`. */
export function u32ToIpv4(word: number): string {
  return [word >>> 24, (word >>> 16) & 0xff, (word >>> 8) & 0xff, word & 0xff].join('.');
}
