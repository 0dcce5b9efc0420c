// The rules a control-message body (the AVPs before the authentication trailer) must
// follow, per message type: required and single-valued AVPs, value ranges, and grouped
// AVPs (analyzer pairs, SYNC member groups). The decoder rejects a body that breaks
// them and the encoder refuses to write one, so both sides apply the same rules.
import {
  AvpCode,
  IPID_HISTOGRAM_BINS,
  MESSAGE_SCHEMAS,
  OPTIONAL_AVP_SETS,
  ROLE,
  SELECTION_REASON,
  SELECTION_STAGE,
  SELECTION_TYPE,
  avpName,
  isAuthAvp,
  isKnownAvp,
  messageTypeName,
  reportedStageOf,
  roleOf,
  selectionModeOf,
  selectionReasonOf,
  type MessageTypeName,
} from './avp.js';
import type { ControlError } from './control-errors.js';
import type { Avp, ControlBody } from './control-message.js';

const C = AvpCode;

/** An enumerated AVP's values for an error message: "1 (a), 2 (b) or 3 (c)". */
function valueList(values: Readonly<Record<string, number>>): string {
  const named = Object.entries(values).map(([name, value]) => `${value} (${name})`);
  return named.length > 1 ? `${named.slice(0, -1).join(', ')} or ${named.at(-1)}` : named.join('');
}
const ANALYZER_PAIR = [C.ANALYZER_IP, C.ANALYZER_PORT] as const;
const SYNC_MEMBER = [C.NODE_ID, C.ROLE, C.NODE_IP, C.NODE_PORT] as const;
const PORT_CODES: ReadonlySet<number> = new Set([
  C.COORDINATOR_PORT,
  C.ANALYZER_PORT,
  C.NODE_PORT,
  C.DASHBOARD_PORT,
]);

function fail(code: ControlError['code'], reason: string): ControlError {
  return { code, reason };
}

/** The first rule the body breaks, or null when it is well-formed. */
export function checkControlBody(body: ControlBody): ControlError | null {
  const name = messageTypeName(body.type);
  if (!name) return fail('UNKNOWN_TYPE', `message type ${body.type} is not defined in protocol version 1`);
  return (
    checkPlacementAndCounts(name, body.avps) ??
    checkValues(body.avps) ??
    checkOptionalSets(name, body.avps) ??
    checkTypeRules(name, body.avps)
  );
}

function checkPlacementAndCounts(name: MessageTypeName, avps: readonly Avp[]): ControlError | null {
  const schema = MESSAGE_SCHEMAS[name];
  const counts = new Map<number, number>();
  for (const avp of avps) {
    if (isAuthAvp(avp.code)) {
      return fail(
        'REPEATED_AVP',
        `${avpName(avp.code)} appears before the authentication trailer; it belongs only there`,
      );
    }
    counts.set(avp.code, (counts.get(avp.code) ?? 0) + 1);
  }
  for (const [code, count] of counts) {
    if (count > 1 && isKnownAvp(code) && !schema.repeatable.includes(code)) {
      return fail('REPEATED_AVP', `${name} carries ${avpName(code)} ${count} times; it is single-valued`);
    }
  }
  for (const code of schema.required) {
    if (!counts.has(code)) return fail('MISSING_AVP', `${name} lacks its required ${avpName(code)}`);
  }
  return null;
}

function checkValues(avps: readonly Avp[]): ControlError | null {
  for (const { code, value } of avps) {
    const bad = (range: string) => fail('BAD_VALUE', `${avpName(code)} is ${value}; it must be ${range}`);
    if (PORT_CODES.has(code) && (value < 1 || value > 0xffff)) return bad('a UDP port 1-65535');
    if (code === C.SELECTION_TYPE && !selectionModeOf(value)) return bad(valueList(SELECTION_TYPE));
    if (code === C.ROLE && !roleOf(value)) return bad(valueList(ROLE));
    if (code === C.VALIDITY_START_MS && value > 999) return bad('0-999 (milliseconds within the second)');
    if (code === C.SNAPLEN && (value < 1 || value > 0xffff)) return bad('1-65535 bytes');
    if (code === C.SELECTION_STAGE && !reportedStageOf(value)) return bad(valueList(SELECTION_STAGE));
    if (code === C.SELECTION_REASON && !selectionReasonOf(value)) return bad(valueList(SELECTION_REASON));
  }
  return null;
}

/** Each of the type's optional AVP sets (SPEC.md §6.9) is there whole or not at all. */
function checkOptionalSets(name: MessageTypeName, avps: readonly Avp[]): ControlError | null {
  for (const set of OPTIONAL_AVP_SETS[name] ?? []) {
    const lacking = set.filter((code) => !avps.some((avp) => avp.code === code));
    if (lacking.length === 0 || lacking.length === set.length) continue;
    return fail(
      'MISSING_AVP',
      `${name} carries part of the optional set ${set.map(avpName).join(', ')} but lacks ${lacking.map(avpName).join(', ')}`,
    );
  }
  return null;
}

function checkTypeRules(name: MessageTypeName, avps: readonly Avp[]): ControlError | null {
  switch (name) {
    case 'JOIN':
    case 'HEARTBEAT': {
      // NODE_IP and NODE_PORT come together; an analyzer must send them (where it receives batches).
      // In a HEARTBEAT, ROLE is optional (SPEC.md §6): without it the sender is a capture node.
      const analyzer = avps.some((avp) => avp.code === C.ROLE && avp.value === ROLE.analyzer);
      const present = [C.NODE_IP, C.NODE_PORT].filter((code) => avps.some((avp) => avp.code === code));
      if (present.length === 2 || (present.length === 0 && !analyzer)) return null;
      const lacking =
        present.length === 0 ? 'NODE_IP and NODE_PORT' : present[0] === C.NODE_IP ? 'NODE_PORT' : 'NODE_IP';
      return fail('MISSING_AVP', `${name} ${analyzer ? 'of an analyzer ' : ''}lacks ${lacking}`);
    }
    case 'ACCEPT':
      return checkGroups(name, avps, ANALYZER_PAIR);
    case 'TOPOLOGY_UPDATE':
      return checkGroups(name, avps, ANALYZER_PAIR) ?? checkDistinctNodeIds(name, avps);
    case 'SYNC':
      return checkGroups(name, avps, SYNC_MEMBER) ?? checkDistinctNodeIds(name, avps);
    case 'IPID_HISTOGRAM': {
      const bins = avps.filter((avp) => avp.code === C.IPID_BIN).length;
      return bins === IPID_HISTOGRAM_BINS
        ? null
        : fail('BAD_VALUE', `${name} has ${bins} IPID_BIN AVPs; it must have exactly ${IPID_HISTOGRAM_BINS}`);
    }
    default:
      return null;
  }
}

/**
 * Every AVP of `group` appears only inside a complete, consecutive run of the group, in
 * order; a broken group lacks one of its members, so it counts as MISSING_AVP.
 */
function checkGroups(
  name: MessageTypeName,
  avps: readonly Avp[],
  group: readonly number[],
): ControlError | null {
  const spelled = group.map(avpName).join(', ');
  for (let i = 0; i < avps.length; i++) {
    const code = avps[i]!.code;
    if (code === group[0]) {
      const complete = group.every((expected, k) => avps[i + k]?.code === expected);
      if (!complete)
        return fail('MISSING_AVP', `${name} has an incomplete group at AVP ${i}; expected ${spelled}`);
      i += group.length - 1;
    } else if (group.includes(code)) {
      return fail('MISSING_AVP', `${name} has ${avpName(code)} at AVP ${i} outside a group of ${spelled}`);
    }
  }
  return null;
}

function checkDistinctNodeIds(name: MessageTypeName, avps: readonly Avp[]): ControlError | null {
  const seen = new Set<number>();
  for (const avp of avps) {
    if (avp.code !== C.NODE_ID) continue;
    if (seen.has(avp.value)) return fail('BAD_VALUE', `${name} lists NODE_ID ${avp.value} twice`);
    seen.add(avp.value);
  }
  return null;
}
