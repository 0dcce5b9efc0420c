// A decoded control message as readable JSON, for `dicap proto decode` and logs: the
// type by name, every AVP by name in wire order, the typed view, and the MAC verdict.
import { avpName, messageTypeName } from './avp.js';
import type { ControlMessage } from './control-message.js';
import { readControlMessage } from './control-views.js';

/**
 * Pretty JSON (2-space indent) describing `message`. `macValid` is the verdict against
 * the key the caller used, or null when no key was given. 64-bit counters print as
 * decimal strings (JSON numbers lose precision above 2^53).
 */
export function formatControlMessage(message: ControlMessage, macValid: boolean | null): string {
  const { type: _type, ...fields } = readControlMessage(message);
  const description = {
    type: messageTypeName(message.type),
    timestamp: message.timestamp,
    senderSeq: message.senderSeq,
    macValid,
    avps: message.avps.map(({ code, value }) => ({ name: avpName(code), value })),
    fields,
  };
  return JSON.stringify(
    description,
    (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value),
    2,
  );
}
