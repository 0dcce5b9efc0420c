// Why the tests of the selection in the kernel cannot run here, or undefined: they need
// root and a kernel that loads the program (native/bpf/selection.bpf.c). Tests skip with
// this one line.
import { KernelSelection } from '../../native/kernel-selection.js';

export function kernelSelectionProblem(): string | undefined {
  if (process.getuid?.() !== 0) return 'the selection in the kernel needs root (BPF, XDP)';
  try {
    new KernelSelection({ nodeId: 1, snaplen: 128, guardNs: 0n }).close();
    return undefined;
  } catch (error) {
    return `the kernel refuses the selection program: ${(error as Error).message}`;
  }
}

const problem = kernelSelectionProblem();
if (problem) console.log(`skipped: ${problem}`);
