// Where an agent's selection runs (--selection, --distribute): at XDP on the passive
// interface, as the capture ring's socket filter, or in user space. The kernel stages drop
// another node's frames before they are copied anywhere; user space stays the last
// fallback. `auto` takes the first that works, in that order, and says why in one line.
// A --filter runs in user space before the selection, so it keeps the selection there: a
// kernel stage would drop frames before the filter saw them, and the nodes' seen counts (the
// ledger) and round-robin counters would then include frames the filter rejects.
import { DicapError, errorMessage } from '../common/errors.js';
import { KernelSelection, type XdpAttachMode } from '../native/kernel-selection.js';
import type { SelectionReason, SelectionStageReport } from '../protocol/index.js';

export const SELECTION_STAGES = ['auto', 'xdp', 'socket', 'user'] as const;
export type SelectionChoice = (typeof SELECTION_STAGES)[number];
/** The stage in use: the values of dicap_agent_selection_stage{stage} and of the dashboard. */
export type SelectionStage = Exclude<SelectionChoice, 'auto'>;
export const STAGES_IN_USE: readonly SelectionStage[] = ['xdp', 'socket', 'user'];

/**
 * Around a timed topology switch the kernel stages pass frames up undecided for this long
 * on either side, and user space decides by their time stamps (SPEC §6.10). Far above the
 * time between a frame's capture stamp and the program's clock reading (microseconds).
 */
export const GUARD_NS = 2_000_000n;

export interface SelectionStageRequest {
  choice: SelectionChoice;
  /** Distribution mode: the program at XDP decides what every local consumer sees. */
  distribute: boolean;
  /** The passive interface; absent for a capture file (user space only). */
  interface?: string;
  nodeId: number;
  snaplen: number;
  /** A --filter is given (it runs in user space, before the selection). */
  filter: boolean;
}

export interface ChosenStage {
  stage: SelectionStage;
  /** The loaded program (xdp, socket); the caller closes it on exit. */
  kernel?: KernelSelection;
  xdpMode?: XdpAttachMode;
  /** One line: the stage and why. */
  reason: string;
  /** The same for the coordinator (JOIN, HEARTBEAT: SPEC.md §6.10). */
  report: SelectionStageReport;
}

/** Loads (and for xdp attaches) the program as asked; throws a one-line DicapError when a stage that was asked for explicitly cannot run. */
export function chooseSelectionStage(request: SelectionStageRequest): ChosenStage {
  const { choice, distribute } = request;
  const iface = request.interface;
  if (iface === undefined) {
    if (distribute || choice === 'xdp' || choice === 'socket')
      throw new DicapError(
        'DICAP_ERR_BAD_CONFIG',
        '--distribute and --selection xdp|socket need a live --interface',
      );
    return {
      stage: 'user',
      reason: 'selection in user space (a capture file has no kernel stage)',
      report: { stage: 'user', reason: 'capture-file' },
    };
  }
  if (request.filter) {
    if (distribute || choice === 'xdp' || choice === 'socket')
      throw new DicapError(
        'DICAP_ERR_BAD_CONFIG',
        `--filter runs in user space before the selection, so it cannot be combined with ${distribute ? '--distribute' : `--selection ${choice}`}; drop one of them (filter in the local consumers instead)`,
      );
    if (choice === 'auto')
      return {
        stage: 'user',
        reason:
          'selection in user space (--selection auto with --filter: the filter runs there, before the selection)',
        report: { stage: 'user', reason: 'filter' },
      };
  }
  if (choice === 'user' && !distribute)
    return {
      stage: 'user',
      reason: 'selection in user space (--selection user)',
      report: { stage: 'user', reason: 'asked' },
    };

  const load = (guardNs: bigint): KernelSelection =>
    new KernelSelection({ nodeId: request.nodeId, snaplen: request.snaplen, guardNs });
  const atXdp = (why: string, because: SelectionReason): ChosenStage => {
    // Distribution: local consumers get the program's verdict and nothing else, so no guard.
    const kernel = load(distribute ? 0n : GUARD_NS);
    try {
      const xdpMode = kernel.attachXdp(iface);
      return {
        stage: 'xdp',
        kernel,
        xdpMode,
        reason: `selection in the kernel at XDP on ${iface} (${xdpMode}${xdpMode === 'generic' ? ': the driver has no native XDP' : ''}; ${why})`,
        report: { stage: `xdp-${xdpMode}`, reason: because },
      };
    } catch (error) {
      kernel.close();
      throw error;
    }
  };
  const asSocketFilter = (why: string, because: SelectionReason): ChosenStage => ({
    stage: 'socket',
    kernel: load(GUARD_NS),
    reason: `selection in the kernel as the capture socket's filter (${why})`,
    report: { stage: 'socket', reason: because },
  });

  if (distribute) {
    if (choice === 'socket' || choice === 'user')
      throw new DicapError(
        'DICAP_ERR_BAD_CONFIG',
        `--distribute runs the selection at XDP; drop --selection ${choice}`,
      );
    return atXdp('--distribute: every local consumer sees exactly this node’s frames', 'distribute');
  }
  if (choice === 'xdp') return atXdp('--selection xdp', 'asked');
  if (choice === 'socket') return asSocketFilter('--selection socket', 'asked');
  let xdpProblem: string;
  try {
    return atXdp('--selection auto: the best that works', 'auto');
  } catch (error) {
    xdpProblem = errorMessage(error);
  }
  try {
    return asSocketFilter(`--selection auto: XDP did not work: ${xdpProblem}`, 'auto-no-xdp');
  } catch (error) {
    return {
      stage: 'user',
      reason: `selection in user space (--selection auto: the kernel refused the program: ${errorMessage(error)})`,
      report: { stage: 'user', reason: 'auto-no-kernel' },
    };
  }
}
