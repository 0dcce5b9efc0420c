// KernelSelection: the TypeScript face of the selection in the kernel (native/bpf/
// selection.bpf.c, loaded by native/src/kernel_selection.cc with libbpf). The agent stages
// topologies into it, attaches it at XDP (--distribute, --selection xdp) or hands it to the
// engine as the ring's socket filter (--selection socket), and reads its counters.
import { buildOutput, native } from './addon.js';
import type { EngineTopology } from './engine.js';

/** Where the program runs on an interface: the driver's own XDP hook, or the generic one every driver has. */
export type XdpAttachMode = 'native' | 'generic';

export interface KernelSelectionOptions {
  nodeId: number;
  /** Selection reads the first `snaplen` bytes (SPEC §6.6); the socket filter keeps them. */
  snaplen: number;
  /**
   * Around a timed validity start the program passes frames up undecided for this long on
   * either side (user space decides by their time stamps); 0n: decide by the kernel's clock.
   */
  guardNs: bigint;
}

export interface KernelEpochCounters {
  epoch: number;
  /** Traffic frames the program classified under this epoch's topology. */
  seen: number;
  /** Of those, this node's (passed up). */
  owned: number;
  /** Of those, another node's (dropped in the kernel). */
  notOwned: number;
}

export interface KernelSelectionCounters {
  epochs: KernelEpochCounters[];
  /** Passed up without a verdict: a timed switch's guard window, or no topology in force. */
  undecided: number;
  /** EtherType 0x88B5 frames, always passed up. */
  inband: number;
  /** In-band switch frames that brought a staged topology into force (SPEC §6.10). */
  switches: number;
}

interface NativeKernelSelection {
  stage(topology: EngineTopology, token: bigint): void;
  attachXdp(iface: string, mode?: XdpAttachMode): XdpAttachMode;
  detachXdp(): void;
  testRunXdp(frames: Buffer[]): Uint8Array;
  counters(): KernelSelectionCounters;
  close(): void;
}

/** The compiled program, built by `npm install` (binding.gyp) beside the addon. */
export const SELECTION_PROGRAM = buildOutput('selection.bpf.o');

export class KernelSelection {
  /** The native object; the engine bindings take it as `kernelSelection`. */
  readonly handle: NativeKernelSelection;

  /** Loads the program; throws a one-line error (code DICAP_ERR_BPF) when the kernel refuses it. */
  constructor(options: KernelSelectionOptions) {
    this.handle = new native.KernelSelection({
      objectPath: SELECTION_PROGRAM,
      ...options,
    }) as NativeKernelSelection;
  }

  /**
   * Stages `topology`: with token 0n it comes into force at its validity start (by the
   * kernel's clock), else at the in-band switch frame carrying `token` (SPEC §6.10).
   */
  stage(topology: EngineTopology, token = 0n): void {
    this.handle.stage(topology, token);
  }

  /** Attaches at XDP on `iface` (native if the driver has it, else generic); replaces a dicap program an earlier run left. */
  attachXdp(iface: string, mode?: XdpAttachMode): XdpAttachMode {
    return this.handle.attachXdp(iface, mode);
  }

  detachXdp(): void {
    this.handle.detachXdp();
  }

  /** Runs the XDP program on each frame (BPF_PROG_TEST_RUN): true where it passed the frame. */
  testRunXdp(frames: Buffer[]): boolean[] {
    return Array.from(this.handle.testRunXdp(frames), (v) => v === 1);
  }

  counters(): KernelSelectionCounters {
    return this.handle.counters();
  }

  /** Detaches from XDP and unloads (an engine using its socket filter keeps it until it stops). Idempotent. */
  close(): void {
    this.handle.close();
  }

  /** Removes an XDP program named dicap_xdp that an earlier run left on `iface` (kill -9); true if there was one. */
  static removeStaleXdp(iface: string): boolean {
    return native.KernelSelection.removeStaleXdp(iface) as boolean;
  }
}
