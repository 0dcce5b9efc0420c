// FrameInjector: puts single frames onto a link (the coordinator's in-band topology frames).
import { native } from './addon.js';

interface NativeInjector {
  send(frame: Buffer): boolean;
  close(): void;
}

export class FrameInjector {
  private readonly handle: NativeInjector;

  /** Opens an AF_PACKET socket on `interfaceName`; throws one line (DICAP_ERR_INJECTOR) naming the problem. */
  constructor(readonly interfaceName: string) {
    this.handle = new native.FrameInjector(interfaceName) as NativeInjector;
  }

  /** True when the kernel took the frame (14..1514 bytes, from the Ethernet header on). */
  send(frame: Buffer): boolean {
    return this.handle.send(frame);
  }

  close(): void {
    this.handle.close();
  }
}
