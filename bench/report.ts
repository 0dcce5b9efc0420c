// Benchmark reports: markdown tables written to bench/reports/, one file per benchmark,
// with the machine and date so numbers are read in context.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ReportTable {
  title: string;
  note: string;
  columns: string[];
  rows: string[][];
}

function reportsDir(): string {
  // bench/ in the repository, from either the sources or dist/bench.
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return path.join(dir, 'bench', 'reports');
}

export function writeReport(name: string, tables: ReportTable[]): string {
  const lines = [
    `# dicap benchmark: ${name}`,
    '',
    `${new Date().toISOString()} on ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, Linux ${os.release()}, Node ${process.version}`,
    '',
  ];
  for (const table of tables) {
    lines.push(
      `## ${table.title}`,
      '',
      table.note,
      '',
      `| ${table.columns.join(' | ')} |`,
      `|${table.columns.map(() => '---').join('|')}|`,
    );
    for (const row of table.rows) lines.push(`| ${row.join(' | ')} |`);
    lines.push('');
  }
  const dir = reportsDir();
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.md`);
  fs.writeFileSync(file, lines.join('\n'));
  return file;
}
