// Where the selection runs when a --filter is given: the filter runs in user space before the
// selection, so auto stays there and an explicit kernel stage is refused in one line, before
// any program is loaded (no root needed).
import { describe, expect, it } from 'vitest';
import { chooseSelectionStage, type SelectionStageRequest } from '../../node-agent/selection-stage.js';
import { thrownBy } from '../helpers/thrown.js';

const request = (over: Partial<SelectionStageRequest>): SelectionStageRequest => ({
  choice: 'auto',
  distribute: false,
  interface: 'lo',
  nodeId: 11,
  snaplen: 128,
  filter: true,
  ...over,
});

describe('the selection stage with --filter', () => {
  it('auto selects in user space and says why', () => {
    const chosen = chooseSelectionStage(request({}));
    expect(chosen).toMatchObject({ stage: 'user', report: { stage: 'user', reason: 'filter' } });
    expect(chosen.kernel).toBeUndefined();
    expect(chosen.reason).toMatch(/--filter/);
  });

  it('refuses a kernel stage or --distribute, naming both flags and the fix', () => {
    for (const [over, flag] of [
      [{ choice: 'xdp' }, '--selection xdp'],
      [{ choice: 'socket' }, '--selection socket'],
      [{ distribute: true }, '--distribute'],
    ] as const) {
      const error = thrownBy(() => chooseSelectionStage(request(over))) as Error;
      expect(error).toMatchObject({ code: 'DICAP_ERR_BAD_CONFIG' });
      expect(error.message).toContain(`--filter runs in user space before the selection`);
      expect(error.message).toContain(flag);
      expect(error.message).toMatch(/drop one of them/);
      expect(error.message.split('\n')).toHaveLength(1);
    }
  });

  it('keeps --selection user as asked', () => {
    expect(chooseSelectionStage(request({ choice: 'user' })).report).toEqual({
      stage: 'user',
      reason: 'asked',
    });
  });
});
