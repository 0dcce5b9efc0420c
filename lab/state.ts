// What a lab made, on disk, and how to unmake it.
//
// /run/dicap-lab/<id>/state.json      written by the process that builds the lab: every
//                                      namespace (recorded *before* it is created, so a
//                                      crash right after creation still leaves a record),
//                                      the topology, and who built it.
// /run/dicap-lab/<id>/processes/<pid>.json   one file per process started in the lab, by
//                                      whichever process started it (so two processes
//                                      working in one lab never overwrite each other's
//                                      records); removed when the process ends.
//
// teardownLabSync() removes exactly what these files name: it stops the recorded
// processes (only when pid *and* start time match, so a recycled pid is never hit), then
// any process still inside one of the lab's namespaces (it would keep the namespace and
// its interfaces alive), deletes the namespaces (their veths and bridges go with them; the
// lab creates no interface outside its namespaces), and removes the state directory.
// It is synchronous so that exit and signal handlers can run it.
import fs from 'node:fs';
import path from 'node:path';
import { DicapError, errorMessage } from '../common/errors.js';
import { deleteNamespaceSync, namespacePids, processStartTime, sleepSync } from './netns.js';
import type { LabTopology } from './topology.js';

/** Where lab state lives; /run is a tmpfs, emptied at boot together with the namespaces. */
export const STATE_ROOT = '/run/dicap-lab';
/** How long teardown waits for a process to end after SIGTERM before it sends SIGKILL, in milliseconds. */
export const STOP_GRACE_MS = 2000;

/** A pid together with its start time: one process, never a later one that got the same pid. */
export interface ProcessIdentity {
  pid: number;
  startTime: string;
}

export interface LabRecord {
  format: 1;
  id: string;
  /** The process that built the lab. */
  owner: ProcessIdentity;
  /** false: the lab is removed when its owner exits; true: it stays (`dicap lab up`). */
  keepAfterExit: boolean;
  phase: 'building' | 'up';
  createdAt: string;
  /** Every namespace of the lab that was (or was about to be) created. */
  namespaces: string[];
  /** null while building. */
  topology: LabTopology | null;
}

/** A process started in the lab; it leads its own process group, which teardown signals. */
export interface ProcessRecord extends ProcessIdentity {
  namespace: string;
  host: string;
  command: string;
  spawnedBy: number;
}

export function labDirectory(id: string): string {
  return path.join(STATE_ROOT, id);
}
const statePath = (id: string): string => path.join(labDirectory(id), 'state.json');
const processDirectory = (id: string): string => path.join(labDirectory(id), 'processes');

function writeJsonAtomically(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(value, null, 2)}\n`);
  fs.renameSync(temporary, file);
}

/** Ids of all labs with state on this machine (built, being built, or left over). */
export function listLabIds(): string[] {
  try {
    return fs
      .readdirSync(STATE_ROOT, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

/** The record of lab `id`, or undefined when there is none. A damaged file is an error naming it. */
export function readLabRecord(id: string): LabRecord | undefined {
  let text: string;
  try {
    text = fs.readFileSync(statePath(id), 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as LabRecord;
  } catch (error) {
    throw new DicapError(
      'DICAP_ERR_LAB_STATE',
      `lab state file ${statePath(id)} is damaged (${errorMessage(error)}); remove the lab's namespaces (ip netns list | grep dcl${id}-) and the directory ${labDirectory(id)} by hand`,
    );
  }
}

export function writeLabRecord(record: LabRecord): void {
  writeJsonAtomically(statePath(record.id), record);
}

export function recordProcess(labId: string, record: ProcessRecord): void {
  writeJsonAtomically(path.join(processDirectory(labId), `${record.pid}.json`), record);
}

export function forgetProcess(labId: string, pid: number): void {
  fs.rmSync(path.join(processDirectory(labId), `${pid}.json`), { force: true });
}

export function listProcessRecords(labId: string): ProcessRecord[] {
  let files: string[];
  try {
    files = fs.readdirSync(processDirectory(labId)).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  const records: ProcessRecord[] = [];
  for (const file of files) {
    try {
      records.push(
        JSON.parse(fs.readFileSync(path.join(processDirectory(labId), file), 'utf8')) as ProcessRecord,
      );
    } catch {
      // Half-written by a process that died while writing it: the process it names (if
      // any) is still inside a lab namespace and is stopped there.
    }
  }
  return records;
}

export function identityOf(pid: number): ProcessIdentity | undefined {
  const startTime = processStartTime(pid);
  return startTime === undefined ? undefined : { pid, startTime };
}

/** True when this exact process (pid and start time) still runs. */
export function isRunning(identity: ProcessIdentity): boolean {
  return processStartTime(identity.pid) === identity.startTime;
}

/** Signals the process group led by `pid` (lab processes lead their own), or the process alone if it leads none. */
export function signalProcessGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/** Sends SIGTERM to each process (its group), waits up to graceMs, then SIGKILLs the ones left. Returns how many were running. */
export function stopProcessesSync(identities: readonly ProcessIdentity[], graceMs = STOP_GRACE_MS): number {
  const running = identities.filter(isRunning);
  for (const p of running) signalProcessGroup(p.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (running.some(isRunning) && Date.now() < deadline) sleepSync(20);
  for (const p of running.filter(isRunning)) signalProcessGroup(p.pid, 'SIGKILL');
  while (running.some(isRunning) && Date.now() < deadline + 1000) sleepSync(20);
  return running.length;
}

export interface TeardownReport {
  id: string;
  /** Recorded processes that were still running and were stopped. */
  processesStopped: number;
  /** Processes not started through the lab that were inside its namespaces and were stopped. */
  strayProcessesStopped: number;
  namespacesDeleted: string[];
  /** One line per thing that could not be removed; the state stays so that a later `down` can retry. */
  problems: string[];
}

/** Removes everything lab `id` made, as its state files record it. Safe to run twice. */
export function teardownLabSync(id: string): TeardownReport {
  const report: TeardownReport = {
    id,
    processesStopped: 0,
    strayProcessesStopped: 0,
    namespacesDeleted: [],
    problems: [],
  };
  const record = readLabRecord(id);
  report.processesStopped = stopProcessesSync(listProcessRecords(id));

  const namespaces = record?.namespaces ?? [];
  const strays = namespaces
    .flatMap(namespacePids)
    .filter((pid) => pid !== process.pid)
    .map(identityOf)
    .filter((p): p is ProcessIdentity => p !== undefined);
  report.strayProcessesStopped = stopProcessesSync(strays);

  for (const ns of [...namespaces].reverse()) {
    try {
      if (deleteNamespaceSync(ns)) report.namespacesDeleted.push(ns);
    } catch (error) {
      report.problems.push(errorMessage(error));
    }
  }
  if (report.problems.length === 0) fs.rmSync(labDirectory(id), { recursive: true, force: true });
  return report;
}
