// Declarative command-line options shared by every dicap component.
//
// A component declares its options once, as a frozen table (`defineOptions`), and gets
// from it: parsing of flags, environment and a JSON config file with one precedence rule
// (defaults < config file < environment < flags), typed values, one-line errors that name
// the key, where it came from and how to fix it, and the `--help` text (`formatHelp`).
//
// Sources, for an option named `status-interval` of component `analyzer`:
//   flag      --status-interval 5   or   --status-interval=5   (booleans: --name / --no-name)
//   env       DICAP_ANALYZER_STATUS_INTERVAL=5   (empty means unset)
//   file      {"status-interval": 5}   in the file given by --config FILE or DICAP_ANALYZER_CONFIG
// A repeatable option takes several values: repeat the flag, or separate values by commas
// (in a flag, the environment or a config string); a config file may also give an array.
// The highest source that sets an option supplies all of its values (no merging of lists).
import { badConfig, DicapError, errorMessage } from './errors.js';
import { formatHostPort, tryParseHostPort, tryParseListenAddress, type HostPort } from './host-port.js';
import { readSmallFile } from './small-file.js';

/** What the validator of an option returns: undefined when fine, else the problem and fix ("must be a power of two such as 4096"). */
export type OptionValidator<V> = (value: V) => string | undefined;

interface OptionCommon {
  /** What the option does, for --help (one or two sentences; units included). */
  readonly help: string;
  /** Shown after the flag in --help and usage, e.g. `HOST:PORT`, `BYTES`; a per-type default otherwise. */
  readonly placeholder?: string;
  /** What a good value looks like, ending error messages: "a number of bytes such as 128". */
  readonly hint?: string;
  /** May be given several times; the value is then an array (empty when never given). */
  readonly repeatable?: boolean;
  /** Must be set by some source; an option with a default is never missing. */
  readonly required?: boolean;
}

interface TypedOption<T extends string, V> extends OptionCommon {
  readonly type: T;
  /** The component's DEFAULT_* constant; an array when repeatable. */
  readonly default?: V | readonly V[];
  readonly validate?: OptionValidator<V>;
}

export type StringOption = TypedOption<'string', string>;
export type BooleanOption = TypedOption<'boolean', boolean>;
export interface HostPortOption extends TypedOption<'host-port', HostPort> {
  /** Also `[IPv6]:PORT` (TCP listeners: `[::]:PORT` is dual-stack). */
  readonly ipv6?: boolean;
}
/** A comma-separated list of non-empty strings (`a,b,c`), or a JSON array in the config file. */
export type ListOption = TypedOption<'list', readonly string[]>;
export interface IntegerOption extends TypedOption<'integer', number> {
  readonly min?: number;
  readonly max?: number;
}
export interface EnumOption extends TypedOption<'enum', string> {
  readonly values: readonly string[];
}

export type OptionDeclaration =
  StringOption | IntegerOption | BooleanOption | HostPortOption | ListOption | EnumOption;

export interface OptionsSpec {
  /** Component name as in `dicap <component>`; also the environment prefix DICAP_<COMPONENT>_. */
  readonly component: string;
  /** One line under the usage line of --help. */
  readonly summary: string;
  /** The usage line without "usage: ", e.g. `dicap analyzer --listen HOST:PORT --write FILE|- [options]`. */
  readonly usage: string;
  /** Option table keyed by the kebab-case flag name (`status-interval` is `--status-interval`). */
  readonly options: Readonly<Record<string, OptionDeclaration>>;
}

type CamelCase<S extends string> = S extends `${infer Head}-${infer Tail}`
  ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : S;

type BaseValue<D> = D extends { type: 'enum'; values: readonly (infer E)[] }
  ? E
  : D extends { type: 'string' }
    ? string
    : D extends { type: 'integer' }
      ? number
      : D extends { type: 'boolean' }
        ? boolean
        : D extends { type: 'host-port' }
          ? HostPort
          : D extends { type: 'list' }
            ? readonly string[]
            : never;
type FullValue<D> = D extends { repeatable: true } ? readonly BaseValue<D>[] : BaseValue<D>;
type PresentValue<D> = D extends
  { repeatable: true } | { type: 'boolean' } | { required: true } | { default: unknown }
  ? FullValue<D>
  : FullValue<D> | undefined;

/** The parsed values, keyed by the camelCase option name (`status-interval` → `statusInterval`). */
export type OptionValues<S extends OptionsSpec> = {
  readonly [K in keyof S['options'] & string as CamelCase<K>]: PresentValue<S['options'][K]>;
};

export type ParseResult<S extends OptionsSpec> =
  { readonly help: true } | { readonly help: false; readonly values: OptionValues<S> };

/** A config file is a page of JSON: anything larger is not one (or is /dev/zero). */
export const MAX_CONFIG_FILE_BYTES = 1 << 20;

/** Built-in flags every component has; no option may use these names. */
const RESERVED_NAMES = ['config', 'help'];
const OPTION_NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const TRUE_WORDS = ['true', '1', 'yes', 'on'];
const FALSE_WORDS = ['false', '0', 'no', 'off'];

export function camelCase(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export function environmentName(component: string, name: string): string {
  return `DICAP_${component}_${name}`.toUpperCase().replace(/-/g, '_');
}

function quote(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

function placeholderOf(d: OptionDeclaration): string {
  if (d.placeholder) return d.placeholder;
  switch (d.type) {
    case 'string':
      return 'VALUE';
    case 'integer':
      return 'N';
    case 'boolean':
      return '';
    case 'host-port':
      return 'HOST:PORT';
    case 'list':
      return 'A,B,…';
    case 'enum':
      return d.values.join('|');
  }
}

function formatValue(d: OptionDeclaration, value: unknown): string {
  if (Array.isArray(value)) return value.map((v) => formatValue(d, v)).join(',');
  if (d.type === 'host-port') return formatHostPort(value as HostPort);
  return String(value);
}

function hintOf(d: OptionDeclaration): string {
  if (d.hint) return d.hint;
  const example =
    d.default !== undefined && !(Array.isArray(d.default) && d.default.length === 0)
      ? ` such as ${formatValue(d, Array.isArray(d.default) && d.type !== 'list' ? d.default[0] : d.default)}`
      : '';
  switch (d.type) {
    case 'string':
      return `a non-empty value${example}`;
    case 'integer':
      return `a whole number${example}`;
    case 'boolean':
      return 'true or false';
    case 'host-port':
      return d.ipv6
        ? 'HOST:PORT such as 127.0.0.1:9999, or [IPv6]:PORT such as [::]:9999'
        : 'HOST:PORT such as 127.0.0.1:9999';
    case 'list':
      return `comma-separated values${example}`;
    case 'enum':
      return `one of ${d.values.join(', ')}`;
  }
}

// ---- converting one raw value -------------------------------------------------------------

type Converted = { ok: true; value: unknown } | { ok: false; problem: string };
const bad = (problem: string): Converted => ({ ok: false, problem });

/** Converts one value (text from a flag or the environment, or any JSON value from a file) to the option's type. */
function convertOne(d: OptionDeclaration, raw: unknown): Converted {
  const fix = `; give ${hintOf(d)}`;
  let value: unknown;
  switch (d.type) {
    case 'string':
      if (typeof raw !== 'string') return bad(`is not a string${fix}`);
      if (raw === '') return bad(`is empty${fix}`);
      value = raw;
      break;
    case 'integer': {
      let n: number;
      if (typeof raw === 'number') n = raw;
      else if (typeof raw === 'string' && /^\s*-?[0-9]+\s*$/.test(raw)) n = Number(raw);
      else return bad(`is not an integer${fix}`);
      if (!Number.isInteger(n)) return bad(`is not an integer${fix}`);
      if (!Number.isSafeInteger(n)) return bad(`is too large${fix}`);
      if (d.min !== undefined && n < d.min) return bad(`is below the minimum ${d.min}${fix}`);
      if (d.max !== undefined && n > d.max) return bad(`is above the maximum ${d.max}${fix}`);
      value = n;
      break;
    }
    case 'boolean':
      if (typeof raw === 'boolean') value = raw;
      else if (typeof raw === 'string' && TRUE_WORDS.includes(raw.toLowerCase())) value = true;
      else if (typeof raw === 'string' && FALSE_WORDS.includes(raw.toLowerCase())) value = false;
      else return bad(`is not a boolean; give true or false`);
      break;
    case 'host-port': {
      if (typeof raw !== 'string') return bad(`is not a string; give ${hintOf(d)}`);
      const parsed = d.ipv6 ? tryParseListenAddress(raw) : tryParseHostPort(raw);
      if (!parsed.ok) return bad(parsed.problem);
      value = parsed.value;
      break;
    }
    case 'list': {
      const items = typeof raw === 'string' ? (raw === '' ? [] : raw.split(',').map((s) => s.trim())) : raw;
      if (!Array.isArray(items) || !items.every((item) => typeof item === 'string'))
        return bad(`is not a list of strings${fix}`);
      if (items.some((item) => item === '')) return bad(`has an empty item; separate items by single commas`);
      value = Object.freeze([...items]);
      break;
    }
    case 'enum':
      if (typeof raw !== 'string' || !d.values.includes(raw))
        return bad(`is not one of ${d.values.join(', ')}; give one of them`);
      value = raw;
      break;
  }
  const problem = (d.validate as OptionValidator<unknown> | undefined)?.(value);
  return problem ? bad(problem) : { ok: true, value };
}

/**
 * Converts what one source gave for an option: a single value, or for a repeatable option
 * one or more values (an array from a file, or comma-separated text).
 */
function convert(d: OptionDeclaration, raw: unknown, describe: (raw: unknown) => string): unknown {
  const one = (item: unknown): unknown => {
    const converted = convertOne(d, item);
    if (!converted.ok) throw badConfig(`${describe(item)} ${converted.problem}`);
    return converted.value;
  };
  if (!d.repeatable) return one(raw);
  const items = (Array.isArray(raw) ? raw : [raw]).flatMap((item) =>
    typeof item === 'string' ? item.split(',').map((s) => s.trim()) : [item],
  );
  return Object.freeze(items.map(one));
}

// ---- the spec -----------------------------------------------------------------------------

function specError(spec: { component: string }, message: string): DicapError {
  return new DicapError('DICAP_ERR_OPTIONS_SPEC', `options of ${spec.component}: ${message}`);
}

/**
 * Checks and deep-freezes a component's option table. Mistakes in the table (a bad name,
 * a default that fails its own type or validator) throw at module load, not at a user.
 * The `const` type parameter keeps literal types, so `parseOptions` returns exact types.
 */
export function defineOptions<const S extends OptionsSpec>(spec: S): S {
  if (!OPTION_NAME.test(spec.component)) throw specError(spec, 'component name must be kebab-case');
  for (const [name, d] of Object.entries(spec.options)) {
    if (!OPTION_NAME.test(name)) throw specError(spec, `option name "${name}" must be kebab-case`);
    if (RESERVED_NAMES.includes(name)) throw specError(spec, `option name "${name}" is built in`);
    if (d.repeatable && d.type === 'list')
      throw specError(spec, `option "${name}": a list cannot also be repeatable`);
    if (d.required && d.default !== undefined)
      throw specError(spec, `option "${name}": required options have no default`);
    if (d.default !== undefined) {
      const wantsArray = !!d.repeatable || d.type === 'list';
      if (wantsArray !== Array.isArray(d.default)) {
        throw specError(spec, `option "${name}": the default must ${wantsArray ? '' : 'not '}be an array`);
      }
      const defaults = d.repeatable ? (d.default as readonly unknown[]) : [d.default];
      for (const value of defaults) {
        const checked = convertOne(d, d.type === 'host-port' ? formatHostPort(value as HostPort) : value);
        if (!checked.ok)
          throw specError(
            spec,
            `option "${name}": default ${quote(formatValue(d, value))} ${checked.problem}`,
          );
      }
    }
    Object.freeze(d);
    if (Array.isArray(d.default)) Object.freeze(d.default);
  }
  Object.freeze(spec.options);
  return Object.freeze(spec);
}

// ---- parsing ------------------------------------------------------------------------------

/** Levenshtein distance, for "did you mean" suggestions. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

function suggestion(unknown: string, known: readonly string[], format: (name: string) => string): string {
  const close = known.filter(
    (name) => editDistance(unknown, name) <= 2 || name.startsWith(unknown) || unknown.startsWith(name),
  );
  return close.length > 0
    ? `did you mean ${close.map(format).join(' or ')}?`
    : `known: ${known.map(format).join(', ')}`;
}

interface RawFlags {
  readonly values: Map<string, unknown[]>; // option name → raw values in argv order
  readonly config?: string;
  readonly help: boolean;
}

function readFlags(spec: OptionsSpec, argv: readonly string[]): RawFlags {
  const values = new Map<string, unknown[]>();
  let config: string | undefined;
  const helpHint = `see dicap ${spec.component} --help`;
  const known = Object.keys(spec.options);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return { values, help: true };
    if (!arg.startsWith('--') || arg === '--') {
      throw new DicapError(
        'DICAP_ERR_BAD_CONFIG',
        `unexpected argument ${quote(arg)}; options are given as --name VALUE (${helpHint})`,
      );
    }
    const equals = arg.indexOf('=');
    let name = arg.slice(2, equals < 0 ? undefined : equals);
    let inline: string | undefined = equals < 0 ? undefined : arg.slice(equals + 1);
    let d = spec.options[name];
    if (
      !d &&
      name.startsWith('no-') &&
      spec.options[name.slice(3)]?.type === 'boolean' &&
      inline === undefined
    ) {
      name = name.slice(3);
      d = spec.options[name];
      inline = 'false';
    }
    if (name !== 'config' && !d) {
      const hint = suggestion(name, [...known, 'config'], (n) => `--${n}`);
      throw badConfig(`unknown option --${name}; ${hint} (${helpHint})`);
    }
    let raw = inline;
    if (raw === undefined && d?.type === 'boolean') raw = 'true';
    if (raw === undefined) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        const what = d ? hintOf(d) : 'the path of a JSON file';
        throw badConfig(`--${name} needs a value; give ${what}`);
      }
      raw = next;
      i++;
    }
    if (name === 'config') {
      if (config !== undefined) throw badConfig('--config is given twice; give one config file');
      config = raw;
      continue;
    }
    const list = values.get(name) ?? [];
    if (list.length > 0 && !d!.repeatable) {
      throw badConfig(`--${name} is given twice; give it once`);
    }
    list.push(raw);
    values.set(name, list);
  }
  return { values, ...(config !== undefined ? { config } : {}), help: false };
}

/** Environment variables of this component: option name → raw text, plus the config path. */
function readEnvironment(
  spec: OptionsSpec,
  env: Readonly<Record<string, string | undefined>>,
  warn: (line: string) => void,
): { values: Map<string, string>; config?: string } {
  const prefix = environmentName(spec.component, '');
  const values = new Map<string, string>();
  let config: string | undefined;
  const known = [...Object.keys(spec.options), 'config'];
  for (const [variable, text] of Object.entries(env)) {
    if (!variable.startsWith(prefix) || text === undefined || text === '') continue;
    const name = known.find((n) => environmentName(spec.component, n) === variable);
    if (!name) {
      const hint = suggestion(
        variable,
        known.map((n) => environmentName(spec.component, n)),
        (v) => v,
      );
      // A warning, not an error: an environment file shared by a mixed-version rollout may
      // name options this version does not have (yet, or any more).
      warn(`unknown environment variable ${variable} is ignored; ${hint}`);
      continue;
    }
    if (name === 'config') config = text;
    else values.set(name, text);
  }
  return { values, ...(config !== undefined ? { config } : {}) };
}

function readConfigFile(spec: OptionsSpec, file: string): Map<string, unknown> {
  const where = `config file ${file}`;
  const text = readSmallFile(file, { what: where, maxBytes: MAX_CONFIG_FILE_BYTES }).toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new DicapError(
      'DICAP_ERR_BAD_CONFIG',
      `${where}: not valid JSON (${(error as Error).message}); fix the syntax`,
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new DicapError(
      'DICAP_ERR_BAD_CONFIG',
      `${where}: must hold a JSON object whose keys are option names, such as {"${Object.keys(spec.options)[0] ?? 'name'}": …}`,
    );
  }
  const known = Object.keys(spec.options);
  const values = new Map<string, unknown>();
  for (const [key, value] of Object.entries(parsed)) {
    if (!known.includes(key)) {
      throw new DicapError(
        'DICAP_ERR_BAD_CONFIG',
        `${where}: unknown key ${quote(key)}; ${suggestion(key, known, quote)}`,
      );
    }
    if (value !== null) values.set(key, value);
  }
  return values;
}

/**
 * Parses a component's options. `argv` holds the arguments after the command name;
 * `env` is usually `process.env`. Returns `{ help: true }` when --help/-h is present
 * (nothing else is checked then). Throws DicapError('DICAP_ERR_BAD_CONFIG') with a
 * one-line message for any bad, unknown, repeated or missing value, except unknown
 * environment variables, which are warned about and ignored.
 */
export function parseOptions<const S extends OptionsSpec>(
  spec: S,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  /** Receives one line per warning (an unknown DICAP_<COMPONENT>_ variable); default: stderr. */
  warn: (line: string) => void = (line) => console.error(`dicap ${spec.component}: warning: ${line}`),
): ParseResult<S> {
  const flags = readFlags(spec, argv);
  if (flags.help) return { help: true };
  const environment = readEnvironment(spec, env, warn);
  const configPath = flags.config ?? environment.config;
  const file = configPath !== undefined ? readConfigFile(spec, configPath) : new Map<string, unknown>();
  const envName = (name: string): string => environmentName(spec.component, name);

  const values: Record<string, unknown> = {};
  for (const [name, d] of Object.entries(spec.options)) {
    let value: unknown;
    const flagValues = flags.values.get(name);
    const envText = environment.values.get(name);
    if (flagValues !== undefined) {
      value = d.repeatable
        ? Object.freeze(
            flagValues.flatMap((raw) => convert(d, raw, (item) => `--${name} ${quote(item)}`) as unknown[]),
          )
        : convert(d, flagValues[0], (item) => `--${name} ${quote(item)}`);
    } else if (envText !== undefined) {
      value = convert(d, envText, (item) => `${envName(name)}=${quote(item)}`);
    } else if (file.has(name)) {
      value = convert(d, file.get(name), (item) => `config file ${configPath}: ${name} ${quote(item)}`);
    } else if (d.default !== undefined) {
      value = d.default;
    } else if (d.required) {
      throw new DicapError(
        'DICAP_ERR_BAD_CONFIG',
        `missing --${name}; give ${hintOf(d)} (as --${name}, ${envName(name)} or "${name}" in the config file)`,
      );
    } else {
      value = d.repeatable ? Object.freeze([]) : d.type === 'boolean' ? false : undefined;
    }
    values[camelCase(name)] = value;
  }
  return { help: false, values: Object.freeze(values) as OptionValues<S> };
}

// ---- help ---------------------------------------------------------------------------------

const HELP_WIDTH = 100;
const HELP_INDENT = '      ';

function wrap(text: string, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && indent.length + line.length + 1 + word.length > HELP_WIDTH) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(indent + line);
  return lines;
}

function describeOption(spec: OptionsSpec, name: string, d: OptionDeclaration): string[] {
  const placeholder = placeholderOf(d);
  const flag = d.type === 'boolean' ? `--${name}, --no-${name}` : `--${name} ${placeholder}`;
  const help = d.help.trim();
  const notes = [`${help.charAt(0).toUpperCase()}${help.slice(1)}`.replace(/([^.])$/, '$1.')];
  if (d.type === 'enum') notes.push(`One of: ${d.values.join(', ')}.`);
  if (d.type === 'integer') {
    if (d.min !== undefined && d.max !== undefined) notes.push(`Range: ${d.min}..${d.max}.`);
    else if (d.min !== undefined) notes.push(`At least ${d.min}.`);
    else if (d.max !== undefined) notes.push(`At most ${d.max}.`);
  }
  if (d.repeatable) notes.push('Repeatable: repeat the flag or separate values by commas.');
  if (d.required) notes.push('Required.');
  else if (d.default !== undefined && !(Array.isArray(d.default) && d.default.length === 0)) {
    notes.push(`Default: ${formatValue(d, d.default)}.`);
  }
  notes.push(`Env: ${environmentName(spec.component, name)}.`);
  return [`  ${flag}`, ...wrap(notes.join(' '), HELP_INDENT)];
}

/** The `--help` text: usage, summary, every option with its type, default and environment variable, and the precedence rule. */
export function formatHelp(spec: OptionsSpec): string {
  const lines = [`usage: ${spec.usage}`, '', ...wrap(spec.summary, ''), '', 'options:'];
  for (const [name, d] of Object.entries(spec.options)) lines.push(...describeOption(spec, name, d));
  lines.push('  --config FILE');
  lines.push(
    ...wrap(
      `Read options from a JSON object whose keys are the option names above, such as {"${Object.keys(spec.options)[0] ?? 'name'}": …}. Env: ${environmentName(spec.component, 'config')}.`,
      HELP_INDENT,
    ),
  );
  lines.push('  -h, --help', `${HELP_INDENT}Print this help and exit.`, '');
  lines.push(
    ...wrap(
      'Each option can be set by a flag, an environment variable or the config file; flags win over the environment, which wins over the file, which wins over the defaults.',
      '',
    ),
  );
  return lines.join('\n');
}

/**
 * A command's options from its arguments, the environment and its config file, as
 * `parseOptions` reads them; undefined when --help asked for the help, which is printed on
 * stdout then. Throws as `parseOptions` does.
 */
export function commandOptions<const S extends OptionsSpec>(
  spec: S,
  argv: readonly string[],
): OptionValues<S> | undefined {
  const parsed = parseOptions(spec, argv, process.env);
  if (parsed.help) {
    console.log(formatHelp(spec));
    return undefined;
  }
  return parsed.values;
}

/**
 * A command's start: its options read, then `check`ed (a bad combination throws DicapError;
 * `check` returns what `run` needs), then `run`. --help prints the help and gives 0; a bad
 * option or combination gives one line `dicap <component>: <problem>` on stderr and exit
 * code 2 before anything starts.
 */
export async function runCommand<const S extends OptionsSpec, T>(
  spec: S,
  argv: readonly string[],
  check: (values: OptionValues<S>) => T | Promise<T>,
  run: (checked: T) => Promise<number>,
): Promise<number> {
  let checked: T;
  try {
    const values = commandOptions(spec, argv);
    if (!values) return 0;
    checked = await check(values);
  } catch (error) {
    console.error(`dicap ${spec.component}: ${errorMessage(error)}`);
    return 2;
  }
  return run(checked);
}
