// Who sent an authenticated control message (SPEC.md §6.4): replay state is kept per sender
// identity, never per source address and port, so a message replayed from another port is
// still recognised. Members (agents, analyzers) are named by their NODE_ID, coordinators by
// their COORDINATOR_ID; the two are separate name spaces.
import { AvpCode, type MessageTypeName, messageTypeName } from './avp.js';
import type { ControlMessage } from './control-message.js';

/** Message types a member sends, named by NODE_ID (required in each). */
const MEMBER_TYPES: ReadonlySet<MessageTypeName> = new Set([
  'JOIN',
  'HEARTBEAT',
  'LEDGER',
  'LEAVE',
  'IPID_HISTOGRAM',
  'ANALYZER_REPORT',
]);

/**
 * The replay-state name of the sender of `message`: `node N` or `coordinator N`, or undefined
 * for a coordinator's message without COORDINATOR_ID (a receiver rejects it as NO_SENDER_ID).
 */
export function senderIdentity(message: ControlMessage): string | undefined {
  const name = messageTypeName(message.type);
  const value = (code: number) => message.avps.find((avp) => avp.code === code)?.value;
  if (name && MEMBER_TYPES.has(name)) return `node ${value(AvpCode.NODE_ID)!}`;
  const coordinatorId = value(AvpCode.COORDINATOR_ID);
  return coordinatorId === undefined ? undefined : `coordinator ${coordinatorId}`;
}
