/**
 * Command lines for berth-shim, for fuzzing: a seeded fast-check generator of
 * argument vectors (byte strings: argv carries bytes, not text), and a model
 * of how shim/PROTOCOL.md's "Command line" reads one, written from the
 * document, so that the shim and the model can be compared.
 *
 * Every vector ends with the runtime the caller chooses or with nothing that
 * can be executed: positionals the generator makes start with `pos-`, so the
 * shim can never be made to run an arbitrary program.
 */
import fc from 'fast-check';

export const FLAGS = ['--terminal', '--no-pivot', '--oom', '--version'] as const;
export const VALUED = [
  '--mode',
  '--stdin',
  '--stdout',
  '--stderr',
  '--runtime-arg',
  '--restore-arg',
  '--checkpoint',
  '--stdio-timeout',
  '--drain-timeout',
  '--ready-fd',
] as const;
/** --runtime-arg and --restore-arg each (shim/src/args.h MAX_EXTRA_ARGS). */
export const MAX_EXTRA_ARGS = 32;
const MAX_MS = 86_400_000n;
const MAX_FD = 0x7fffffffn;

/** How the shim refuses a command line: the message on the ready fd, by kind. */
export const USAGE_ERRORS = {
  unexpected: /^unexpected argument "/,
  noValue: /^--(terminal|no-pivot|oom|version) takes no value$/,
  unknown: /^unknown option /,
  needsValue: /^--[a-z-]+ needs a value$/,
  mode: /^--mode must be create, run, exec or restore, not "/,
  tooMany: /^more than \d+ --(runtime|restore)-arg$/,
  stdioTimeout: /^--stdio-timeout must be a number of milliseconds, not "/,
  drainTimeout: /^--drain-timeout must be a number of milliseconds, not "/,
  readyFd: /^--ready-fd must be a descriptor number, not "/,
  usage: /^usage: berth-shim \[OPTIONS\] CONTAINER_ID BUNDLE RUNTIME$/,
  empty: /^container id and runtime must not be empty$/,
  restore: /^--mode restore needs --checkpoint$/,
} as const;
export type UsageError = keyof typeof USAGE_ERRORS;

export interface ModelResult {
  version: boolean;
  /** The first error, as the shim reports only that one. */
  error: UsageError | undefined;
  /** The descriptor the report goes to (the last valid --ready-fd), or -1. */
  readyFd: number;
}

const text = (arg: Buffer): string => arg.toString('latin1');

/** strtol(s, &end, 10) with `*end == '\0'` and no ERANGE, as shim/src/util.c parse_long. */
function parseLong(value: Buffer): bigint | undefined {
  const match = /^[ \t\n\v\f\r]*([+-]?[0-9]+)$/.exec(text(value));
  if (!match) return undefined;
  const parsed = BigInt(match[1]!);
  return parsed >= -(2n ** 63n) && parsed < 2n ** 63n ? parsed : undefined;
}

/** The shim's reading of `args` (argv without argv[0]). */
export function model(args: readonly Buffer[]): ModelResult {
  let error: UsageError | undefined;
  const fail = (kind: UsageError) => (error ??= kind);
  const positionals: Buffer[] = [];
  let version = false;
  let readyFd = -1;
  let mode = 'create';
  let checkpoint: Buffer | undefined;
  let runtimeArgs = 0;
  let restoreArgs = 0;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const word = text(arg);
    if (!word.startsWith('--') || word === '--') {
      if (positionals.length === 3) fail('unexpected');
      else positionals.push(arg);
      continue;
    }
    const eq = word.indexOf('=');
    const name = eq < 0 ? word : word.slice(0, eq);
    let value: Buffer | undefined = eq < 0 ? undefined : arg.subarray(eq + 1);
    if ((FLAGS as readonly string[]).includes(name)) {
      if (value !== undefined) {
        fail('noValue');
        continue;
      }
      if (name === '--version') version = true;
      continue;
    }
    if (!(VALUED as readonly string[]).includes(name)) {
      fail('unknown');
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= args.length) {
        fail('needsValue');
        break;
      }
      value = args[++i]!;
    }
    const number = parseLong(value);
    switch (name) {
      case '--mode':
        if (['create', 'run', 'exec', 'restore'].includes(text(value))) mode = text(value);
        else fail('mode');
        break;
      case '--runtime-arg':
        if (runtimeArgs === MAX_EXTRA_ARGS) fail('tooMany');
        else runtimeArgs++;
        break;
      case '--restore-arg':
        if (restoreArgs === MAX_EXTRA_ARGS) fail('tooMany');
        else restoreArgs++;
        break;
      case '--checkpoint':
        checkpoint = value;
        break;
      case '--stdio-timeout':
        if (number === undefined || number < 0n || number > MAX_MS) fail('stdioTimeout');
        break;
      case '--drain-timeout':
        if (number === undefined || number < 0n || number > MAX_MS) fail('drainTimeout');
        break;
      case '--ready-fd':
        if (number === undefined || number < 0n || number > MAX_FD) fail('readyFd');
        else readyFd = Number(number);
        break;
    }
  }
  if (version) return { version, error: undefined, readyFd };
  if (positionals.length !== 3) fail('usage');
  else if (positionals[0]!.length === 0 || positionals[2]!.length === 0) fail('empty');
  else if (mode === 'restore' && !checkpoint?.length) fail('restore');
  return { version, error, readyFd };
}

// The generator.

const b = (value: string): Buffer => Buffer.from(value, 'latin1');

/** Random bytes but NUL (argv strings end at a NUL). */
const bytes = (maxLength: number) =>
  fc
    .uint8Array({ minLength: 1, maxLength })
    .map((raw) => Buffer.from(raw.map((byte) => byte || 1)));

/** Long values, up to what one argument may be (MAX_ARG_STRLEN, 128 kB). */
const huge = fc
  .tuple(fc.constantFrom(300, 4096, 70_000, 120_000), fc.constantFrom('a', '/', '%s', '\\', '"'))
  .map(([length, unit]) => b(unit.repeat(Math.ceil(length / unit.length))));

const anyValue = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 20 }).map(b) },
  { weight: 3, arbitrary: bytes(40) },
  { weight: 1, arbitrary: huge },
);

const numbers = fc.oneof(
  fc.constantFrom(
    '0',
    '1',
    '100',
    '86400000',
    '86400001',
    '-1',
    '-0',
    '+5',
    ' 5',
    '\t7',
    '5 ',
    '',
    ' ',
    '+',
    '1e3',
    '0x10',
    '3.0',
    '9223372036854775807',
    '9223372036854775808',
    '-9223372036854775809',
    '99999999999999999999999',
  ),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
  fc.string({ unit: fc.constantFrom('0', '1', '9', ' ', '-', '+', 'x'), maxLength: 12 }),
);

const readyFds = fc.oneof(
  { weight: 6, arbitrary: fc.constant('3') },
  {
    weight: 3,
    arbitrary: fc.constantFrom('0', '1', '2', '4', '1023', '2147483647', '2147483648', ' 3', '03'),
  },
  { weight: 2, arbitrary: numbers },
);

/**
 * Paths the shim may open or create: all relative to its working directory
 * (a fresh folder per run), /dev/null, or nowhere at all. Random bytes get no
 * '/', so nothing outside the folder can be named ('..' is a folder: the shim
 * cannot create a file there).
 */
const paths = fc.oneof(
  fc
    .constantFrom(
      '',
      '/dev/null',
      'out',
      'exit',
      'control',
      '.',
      '..',
      '/nonexistent-berth-fuzz/x',
      'no-such-dir/x',
    )
    .map(b),
  bytes(30).map((raw) => Buffer.from(raw.map((byte) => (byte === 0x2f ? 0x5f : byte)))),
  fc.constantFrom(b('p'.repeat(300)), b(`${'d/'.repeat(3000)}x`)),
);

const modes = fc.oneof(
  fc.constantFrom('create', 'run', 'exec', 'restore', '', 'CREATE', 'delete', 'run '),
  fc.string({ maxLength: 10 }),
);

const valueOf: Record<string, fc.Arbitrary<Buffer>> = {
  '--mode': modes.map(b),
  '--stdin': paths,
  '--stdout': paths,
  '--stderr': paths,
  '--runtime-arg': anyValue,
  '--restore-arg': anyValue,
  '--checkpoint': fc.oneof(paths, anyValue),
  '--stdio-timeout': numbers.map(b),
  '--drain-timeout': numbers.map(b),
  '--ready-fd': readyFds.map(b),
};

/** One option as it may appear: `--opt value`, `--opt=value`, a bare flag, or a name alone. */
const option: fc.Arbitrary<Buffer[]> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .constantFrom(...VALUED)
      .chain((name) =>
        fc
          .tuple(valueOf[name]!, fc.constantFrom('separate', 'equals', 'alone'))
          .map(([value, form]) =>
            form === 'separate'
              ? [b(name), value]
              : form === 'equals'
                ? [Buffer.concat([b(`${name}=`), value])]
                : [b(name)],
          ),
      ),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...FLAGS), fc.option(anyValue, { freq: 4 }))
      .map(([name, value]) => (value ? [Buffer.concat([b(`${name}=`), value])] : [b(name)])),
  },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        fc
          .constantFrom('--', '-x', '---mode', '--Mode', '--ready', '--modes', '--=', '--stdin-')
          .map(b),
        bytes(20).map((raw) => Buffer.concat([b('--'), raw])),
      )
      .map((name) => [name]),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('--runtime-arg', '--restore-arg'), fc.constantFrom(31, 32, 33, 2000))
      .map(([name, count]) =>
        Array.from({ length: count }, (_, i) => [b(name), b(`x${i}`)]).flat(),
      ),
  },
  { weight: 1, arbitrary: bytes(20).map((raw) => [Buffer.concat([b('pos-'), raw])]) },
);

export interface ArgvCase {
  /** The arguments, without argv[0]. */
  args: Buffer[];
}

/**
 * Argument vectors: usually `--ready-fd 3` first, then options, then the
 * three positionals `ID BUNDLE RUNTIME` (the runtime given: the only program
 * the shim can be made to run), sometimes with one of them missing or empty.
 */
export function argvCases(runtime: string): fc.Arbitrary<ArgvCase> {
  const tail = fc.oneof(
    { weight: 8, arbitrary: fc.constant([b('c1'), b('/nonexistent-bundle'), b(runtime)]) },
    { weight: 1, arbitrary: fc.constant([b(''), b('/nonexistent-bundle'), b(runtime)]) },
    { weight: 1, arbitrary: fc.constant([b('c1'), b(''), b('')]) },
    { weight: 1, arbitrary: fc.constant([b('c1'), b(runtime)]) },
    // Nothing after the options: a last option may miss its value.
    { weight: 1, arbitrary: fc.constant([]) },
    {
      weight: 1,
      arbitrary: fc.tuple(anyValue, anyValue).map(([id, bundle]) => [
        // Never an empty id here (it would be refused before the bundle is looked at).
        Buffer.concat([b('id-'), id]),
        bundle,
        b(runtime),
      ]),
    },
  );
  return fc
    .tuple(
      fc.oneof({ weight: 6, arbitrary: fc.constant(true) }, fc.constant(false)),
      fc.array(option, { maxLength: 10 }),
      tail,
    )
    .map(([readyFirst, options, positionals]) => ({
      args: [...(readyFirst ? [b('--ready-fd'), b('3')] : []), ...options.flat(), ...positionals],
    }))
    .filter(({ args }) => args.reduce((sum, arg) => sum + arg.length + 1, 0) < 1_500_000);
}
