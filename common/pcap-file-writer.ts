// Writes classic nanosecond pcap files (LINKTYPE_ETHERNET) from JavaScript: test inputs,
// benchmark inputs and the lab's injected frames. Setup-time only; the packet path writes
// pcap in native/ (pcap_writer.cc).
import fs from 'node:fs';

const PCAP_NS_MAGIC = 0xa1b23c4d;
const LINKTYPE_ETHERNET = 1;
const PCAP_END_NS = 2n ** 32n * 1_000_000_000n;

/** Writes a classic nanosecond pcap (LINKTYPE_ETHERNET), buffered. */
export class PcapFileWriter {
  private readonly fd: number;
  private chunk = Buffer.alloc(1 << 22);
  private used = 0;

  constructor(file: string) {
    this.fd = fs.openSync(file, 'w');
    const header = Buffer.alloc(24);
    header.writeUInt32LE(PCAP_NS_MAGIC, 0);
    header.writeUInt16LE(2, 4);
    header.writeUInt16LE(4, 6);
    header.writeUInt32LE(65535, 16);
    header.writeUInt32LE(LINKTYPE_ETHERNET, 20);
    fs.writeSync(this.fd, header);
  }

  /** Classic pcap keeps u32 seconds: frames stamped after 2106-02-07 cannot be written. */
  static fits(tsNs: bigint): boolean {
    return tsNs >= 0n && tsNs < PCAP_END_NS;
  }

  write(tsNs: bigint, frame: Buffer): void {
    if (!PcapFileWriter.fits(tsNs))
      throw new RangeError(
        `timestamp ${tsNs} ns does not fit classic pcap's 32-bit seconds; leave the frame out`,
      );
    if (this.used + 16 + frame.length > this.chunk.length) this.flush();
    const c = this.chunk;
    c.writeUInt32LE(Number(tsNs / 1_000_000_000n), this.used);
    c.writeUInt32LE(Number(tsNs % 1_000_000_000n), this.used + 4);
    c.writeUInt32LE(frame.length, this.used + 8);
    c.writeUInt32LE(frame.length, this.used + 12);
    frame.copy(c, this.used + 16);
    this.used += 16 + frame.length;
  }

  close(): void {
    this.flush();
    fs.closeSync(this.fd);
  }

  private flush(): void {
    fs.writeSync(this.fd, this.chunk, 0, this.used);
    this.used = 0;
  }
}
