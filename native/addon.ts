// Loads the compiled addon once. Only the TypeScript wrappers in native/ touch it;
// everything else in dicap uses those wrappers.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';

const require = createRequire(import.meta.url);

function findRepositoryRoot(): string {
  // Works both from the sources (native/) and from the compiled tree (dist/native/).
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, 'binding.gyp'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir)
      throw new Error('dicap: cannot find binding.gyp above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type NativeModule = Record<string, any>;

/** A file the native build puts beside the addon (build/Release/), e.g. the BPF program selection.bpf.o. */
export function buildOutput(name: string): string {
  return path.join(findRepositoryRoot(), 'build', 'Release', name);
}

// DICAP_NATIVE_ADDON names another build of the addon to load instead, e.g. the ASan and
// UBSan build that test/native/sanitizers.test.ts runs the native unit tests against.
export const native: NativeModule = (() => {
  const file = process.env.DICAP_NATIVE_ADDON || buildOutput('dicap_native.node');
  if (!fs.existsSync(file)) {
    throw new Error(
      `dicap: native addon ${file} is missing; run \`npm install\` (or \`npm run build\`) in the repository`,
    );
  }
  return require(file) as NativeModule;
})();
