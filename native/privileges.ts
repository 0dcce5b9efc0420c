// Dropping root after start (native/src/privileges.cc): a component opens its sockets as
// root, then runs as --user NAME with only the capabilities it still needs.
import { native } from './addon.js';

/** Capability numbers of linux/capability.h that a component may keep. */
export const CAPABILITY = { NET_ADMIN: 12, NET_RAW: 13 } as const;
export type CapabilityName = keyof typeof CAPABILITY;

/**
 * Becomes `user` (its uid, its primary group only), keeping `keep` effective and permitted on
 * the JavaScript thread and nothing anywhere else; no exec can regain privileges afterwards.
 * Throws one line: not root, no such user, user is root, or a failed system call.
 */
export function dropPrivileges(user: string, keep: readonly CapabilityName[]): { uid: number; gid: number } {
  return native.dropPrivileges(
    user,
    keep.map((name) => CAPABILITY[name]),
  ) as { uid: number; gid: number };
}
