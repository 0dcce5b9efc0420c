// The lab of a describe block of tests that need root: brought up, with a scratch directory
// beside it, before the block's tests, and taken down, the directory removed, after them.
// Both are made in beforeAll, so that a block skipped for want of root makes nothing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { labUp, type Lab, type LabUpOptions } from '../../lab/lab.js';

/** Set when the block's tests run (its beforeAll has run). */
export interface LabSuite {
  lab: Lab;
  dir: string;
}

/** The lab `options` for the enclosing describe block, with a directory `dicap-<name>-XXXXXX`. */
export function labSuite(name: string, options: LabUpOptions): LabSuite {
  const suite = {} as LabSuite;
  beforeAll(async () => {
    suite.dir = fs.mkdtempSync(path.join(os.tmpdir(), `dicap-${name}-`));
    suite.lab = await labUp(options);
  });
  afterAll(async () => {
    await suite.lab?.down();
    if (suite.dir) fs.rmSync(suite.dir, { recursive: true, force: true });
  });
  return suite;
}
