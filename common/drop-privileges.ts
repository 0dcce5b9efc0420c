// `--user NAME` for every component: once its sockets are open, a component started as root
// becomes NAME with only the capabilities it names (native/privileges.ts does the system
// calls), and says so in one line.
import { dropPrivileges, type CapabilityName } from '../native/privileges.js';
import { DicapError, errorMessage } from './errors.js';

/** Drops to `user` (when given) keeping `keep`; the line to log, or undefined without --user. */
export function runAsUser(user: string | undefined, keep: readonly CapabilityName[]): string | undefined {
  if (user === undefined) return undefined;
  let ids: { uid: number; gid: number };
  try {
    ids = dropPrivileges(user, keep);
  } catch (error) {
    throw new DicapError('DICAP_ERR_PRIVILEGES', errorMessage(error));
  }
  const kept = keep.length > 0 ? keep.map((c) => `CAP_${c}`).join(', ') : 'no capabilities';
  return `running as ${user} (uid ${ids.uid}, gid ${ids.gid}), keeping ${kept}`;
}
