/**
 * Garbage for the shim's spawner mode (shim/src/spawner.c): requests of
 * random fields, with the verbs it knows (`run`, `kill`) and digits often
 * enough to reach its deeper paths, empty fields in the middle, and some
 * requests larger than its 64 kB buffer. Each ends with the empty field that
 * closes a request, so that the well-formed run sent after it starts clean.
 */
import fc from 'fast-check';

const field = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('run', 'kill', '-', '=', '=x', '/', '/nonexistent') },
  { weight: 3, arbitrary: fc.stringMatching(/^[0-9]{1,25}$/) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  // Arbitrary bytes, NUL excluded (NUL separates fields): what a corrupted stream would carry.
  {
    weight: 2,
    arbitrary: fc
      .uint8Array({ minLength: 1, maxLength: 60 })
      .map((bytes) => Buffer.from(bytes.map((b) => b || 1)).toString('latin1')),
  },
  { weight: 1, arbitrary: fc.constant('') },
);

/** One garbage request as bytes, ended by an empty field. */
export function spawnerGarbage(): fc.Arbitrary<Buffer> {
  return fc
    .oneof(
      { weight: 20, arbitrary: fc.array(field, { minLength: 1, maxLength: 12 }) },
      // Longer than the spawner's request buffer.
      {
        weight: 1,
        arbitrary: fc.constant(['run', '1', '/', `=${'z'.repeat(70_000)}`, '/bin/true']),
      },
      // More arguments than it passes on (it keeps 256).
      {
        weight: 1,
        arbitrary: fc.constant([
          'run',
          '7',
          '/',
          '-',
          '/bin/echo',
          ...Array.from({ length: 400 }, () => 'arg'),
        ]),
      },
    )
    .map((fields) => Buffer.from(`${fields.join('\0')}\0\0`, 'latin1'));
}
