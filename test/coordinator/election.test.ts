// The election state machine, three coordinators on a simulated network with a simulated
// clock: who becomes active, when, in which term — and never two in one term.
import { describe, expect, it } from 'vitest';
import { Election, nextTerm, type ElectionAction } from '../../coordinator/election.js';

const TIMEOUT = 1000;

type Message =
  | { type: 'sync' | 'sync-ack'; term: number; from: number }
  | { type: 'vote-request'; term: number; from: number; epoch: number; preVote: boolean }
  | { type: 'vote'; term: number; from: number; preVote: boolean };

class Net {
  now = 0;
  readonly nodes = new Map<number, Election>();
  readonly up = new Set<number>();
  /** Pairs that cannot talk (both directions). */
  readonly cut = new Set<string>();
  witnesses = new Set<number>();
  activeTerms: Array<[number, number]> = [];
  private queue: Array<{ to: number; m: Message }> = [];

  constructor(ids: number[], seed = 1) {
    let x = seed;
    const random = () => (x = (x * 48271) % 2147483647) / 2147483647;
    for (const id of ids) {
      this.nodes.set(
        id,
        new Election(
          {
            selfId: id,
            peerIds: ids.filter((p) => p !== id),
            electionTimeoutMs: TIMEOUT,
            firstWaitMs: 500,
            solitudeMs: 3 * TIMEOUT,
            random,
          },
          0,
        ),
      );
      this.up.add(id);
    }
  }
  reachable(a: number, b: number): boolean {
    return this.up.has(a) && this.up.has(b) && !this.cut.has(`${Math.min(a, b)}-${Math.max(a, b)}`);
  }
  send(from: number, m: Message): void {
    for (const to of this.nodes.keys())
      if (to !== from && this.reachable(from, to)) this.queue.push({ to, m });
  }
  act(id: number, a: ElectionAction | undefined): void {
    if (!a) return;
    if (a.kind === 'request-votes')
      this.send(id, { type: 'vote-request', term: a.term, from: id, epoch: 5, preVote: a.preVote });
    if (a.kind === 'become-active') this.activeTerms.push([id, a.term]);
  }
  deliver(): void {
    while (this.queue.length > 0) {
      const { to, m } = this.queue.shift()!;
      const e = this.nodes.get(to)!;
      if (!this.up.has(to)) continue;
      switch (m.type) {
        case 'sync': {
          const r = e.onSync(m.term, m.from, this.now);
          this.act(to, r.action);
          if (this.reachable(to, m.from))
            this.queue.push({ to: m.from, m: { type: 'sync-ack', term: e.term, from: to } });
          break;
        }
        case 'sync-ack':
          this.act(to, e.onSyncAck(m.term, m.from, this.now));
          break;
        case 'vote-request': {
          const r = e.onVoteRequest(m.term, m.from, m.epoch, 5, m.preVote, this.now);
          this.act(to, r.action);
          if (r.grant && this.reachable(to, m.from))
            this.queue.push({ to: m.from, m: { type: 'vote', term: m.term, from: to, preVote: m.preVote } });
          break;
        }
        case 'vote':
          this.act(to, e.onVote(m.term, m.from, m.preVote, this.now));
          break;
      }
    }
  }
  /** Runs the clock for `ms` in 50 ms steps; the active sends SYNC every 200 ms. */
  run(ms: number): void {
    for (const end = this.now + ms; this.now < end; this.now += 50) {
      for (const [id, e] of this.nodes) {
        if (!this.up.has(id)) continue;
        this.act(id, e.tick(this.now, 0, this.witnesses.has(id)));
        if (e.role === 'active' && this.now % 200 === 0)
          this.send(id, { type: 'sync', term: e.term, from: id });
      }
      this.deliver();
    }
  }
  actives(): number[] {
    return [...this.nodes].filter(([id, e]) => this.up.has(id) && e.role === 'active').map(([id]) => id);
  }
}

describe('the coordinator election', () => {
  it('elects exactly one active, in a term that carries its ID', () => {
    const net = new Net([1, 2, 3]);
    net.run(5000);
    expect(net.actives()).toHaveLength(1);
    const [id] = net.actives();
    expect(net.nodes.get(id!)!.term % 256).toBe(id);
    expect([...net.nodes.values()].every((e) => e.term === net.nodes.get(id!)!.term)).toBe(true);
  });

  it('replaces a dead active within the timeout plus an election round, with a higher term', () => {
    const net = new Net([1, 2, 3]);
    net.run(5000);
    const [old] = net.actives();
    const oldTerm = net.nodes.get(old!)!.term;
    net.up.delete(old!);
    const died = net.now;
    while (net.actives().length === 0 && net.now < died + 10_000) net.run(50);
    expect(net.now - died).toBeLessThanOrEqual(2 * TIMEOUT + 1000);
    const [next] = net.actives();
    expect(next).not.toBe(old);
    expect(net.nodes.get(next!)!.term).toBeGreaterThan(oldTerm);
  });

  it('a partitioned active steps down before another is elected, and follows it on return without deposing it', () => {
    const net = new Net([1, 2, 3]);
    net.run(5000);
    const [old] = net.actives();
    const others = [1, 2, 3].filter((id) => id !== old);
    for (const o of others) net.cut.add(`${Math.min(o, old!)}-${Math.max(o, old!)}`);
    const overlap: number[] = [];
    for (let t = 0; t < 8000; t += 50) {
      net.run(50);
      if (net.actives().length > 1) overlap.push(net.now);
    }
    expect(overlap).toEqual([]);
    const [next] = net.actives();
    expect(others).toContain(next);
    const nextTerm = net.nodes.get(next!)!.term;
    expect(net.nodes.get(old!)!.term).toBeLessThan(nextTerm); // the pre-vote kept it from inflating its term
    net.cut.clear();
    net.run(3000);
    expect(net.actives()).toEqual([next]);
    expect(net.nodes.get(old!)!.role).toBe('standby');
    expect(net.nodes.get(old!)!.term).toBe(nextTerm);
  });

  it('a partitioned active steps down by its lease even while its capture nodes still count as witnesses', () => {
    // The coordinator counts capture nodes heard within a node timeout as witnesses, and a
    // node timeout can outlast an election: such witnesses of a cut-off active (here for two
    // election timeouts after the cut) must not keep its lease.
    const net = new Net([1, 2, 3]);
    net.run(5000);
    const [old] = net.actives();
    net.witnesses.add(old!);
    for (const o of [1, 2, 3].filter((id) => id !== old))
      net.cut.add(`${Math.min(o, old!)}-${Math.max(o, old!)}`);
    const cutAt = net.now;
    const overlap: number[] = [];
    let steppedDownAfter: number | undefined;
    for (let t = 0; t < 6000; t += 50) {
      if (t === 2 * TIMEOUT) net.witnesses.delete(old!);
      net.run(50);
      if (steppedDownAfter === undefined && net.nodes.get(old!)!.role !== 'active')
        steppedDownAfter = net.now - cutAt;
      if (net.actives().length > 1) overlap.push(net.now);
    }
    expect(steppedDownAfter).toBeLessThanOrEqual(TIMEOUT / 2 + 250);
    expect(overlap).toEqual([]);
    expect(net.actives()).toHaveLength(1);
    expect(net.actives()).not.toContain(old);
  });

  it('lets the last of three steer when the capture nodes witness it (solitude rule), not without', () => {
    const net = new Net([1, 2, 3]);
    net.run(5000);
    const order = [...net.actives(), ...[1, 2, 3].filter((id) => !net.actives().includes(id))];
    net.up.delete(order[0]!);
    net.run(5000);
    const second = net.actives()[0]!;
    net.up.delete(second);
    const last = [1, 2, 3].find((id) => net.up.has(id))!;
    net.run(10_000);
    expect(net.actives()).toEqual([]); // no majority, no witnesses: it waits
    net.witnesses.add(last);
    net.run(5000);
    expect(net.actives()).toEqual([last]);
  });

  it('never has two actives in one term, over many random histories', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const net = new Net([1, 2, 3], seed);
      for (let step = 0; step < 40; step++) {
        const id = 1 + ((seed * 7 + step * 13) % 3);
        if (step % 5 === 0) net.up.has(id) ? net.up.delete(id) : net.up.add(id);
        if (step % 7 === 0) net.cut.has('1-2') ? net.cut.delete('1-2') : net.cut.add('1-2');
        net.run(700);
      }
      const byTerm = new Map<number, Set<number>>();
      for (const [id, term] of net.activeTerms) byTerm.set(term, (byTerm.get(term) ?? new Set()).add(id));
      for (const ids of byTerm.values()) expect(ids.size).toBe(1);
    }
  });

  it('numbers terms by round and ID', () => {
    expect(nextTerm(0, 3)).toBe(259);
    expect(nextTerm(259, 1)).toBe(513);
    expect(nextTerm(513, 2)).toBe(770);
  });
});
