// The warning an agent or analyzer gives when its coordinator's topology has another SNAPLEN.
import { describe, expect, it } from 'vitest';
import { snaplenMismatchWarning } from '../../common/cluster-options.js';

describe('snaplenMismatchWarning', () => {
  it('names both snaplens, the consequence and the fix, once however many topologies follow', () => {
    const lines: string[] = [];
    const onTopology = snaplenMismatchWarning('analyzer', 128, 'records are cut', (l) => lines.push(l));
    onTopology({ snaplen: 128 });
    expect(lines).toEqual([]);
    onTopology({ snaplen: 0 });
    onTopology({ snaplen: 1500 });
    expect(lines).toEqual([
      "the topology's SNAPLEN 0 differs from this analyzer's --snaplen 128: records are cut; give --snaplen 0 as the coordinator has it",
    ]);
  });

  it('takes 0 and 65535 as the same: whole frames', () => {
    const lines: string[] = [];
    snaplenMismatchWarning('agent', 0, 'owners can differ', (l) => lines.push(l))({ snaplen: 65535 });
    snaplenMismatchWarning('agent', 65535, 'owners can differ', (l) => lines.push(l))({ snaplen: 0 });
    expect(lines).toEqual([]);
  });
});
