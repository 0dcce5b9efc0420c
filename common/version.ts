// dicap's version: the "version" of the package.json at the repository root (next to
// binding.gyp; the Docker image copies both), read once.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function readVersion(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file) && fs.existsSync(path.join(dir, 'binding.gyp')))
      return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
    if (path.dirname(dir) === dir) return 'unknown';
  }
}

export const DICAP_VERSION = readVersion();
