// Where tests find real captures. test/captures/ is in the repository (a curated few MB,
// each file's source and licence in its README), so a fresh clone has every file a test
// names. The full corpus (~900 files) lives beside the repository in ../shared/corpus, on
// the team's machines only: tests that walk all of it skip when it is absent.
import fs from 'node:fs';
import path from 'node:path';

export const CAPTURES = path.resolve(import.meta.dirname, '..', 'captures');

/** The path of `name` in test/captures/; throws naming the folder when it is not there. */
export function testCapture(name: string): string {
  const file = path.join(CAPTURES, name);
  if (!fs.existsSync(file))
    throw new Error(`${name} is not in ${CAPTURES}; add it there with its source in the README`);
  return file;
}

export const CORPUS = path.resolve(import.meta.dirname, '..', '..', '..', 'shared', 'corpus');

/** Whether the full corpus is there; describe.skipIf(!HAVE_CORPUS)('… (needs ../shared/corpus)'). */
export const HAVE_CORPUS = fs.existsSync(path.join(CORPUS, 'ether'));

/** Every file of a corpus folder (ether, other-linktypes, unusual-or-corrupt), sorted; empty without the corpus. */
export function corpusFiles(folder: string): string[] {
  const dir = path.join(CORPUS, folder);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .sort()
    .map((name) => path.join(dir, name));
}

/** The captures of test/captures/ that are not Ethernet (for the refusals). */
const NOT_ETHERNET = new Set(['tcpdump__802_15_4-data.pcap']);

/** Every Ethernet capture of test/captures/, sorted. */
export function ethernetCaptures(): string[] {
  return fs
    .readdirSync(CAPTURES)
    .filter((name) => /\.pcap(ng)?$/.test(name) && !NOT_ETHERNET.has(name))
    .sort()
    .map((name) => path.join(CAPTURES, name));
}
