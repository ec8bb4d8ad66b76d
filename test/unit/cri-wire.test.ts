/**
 * The CRI wire contract (k8s.io/cri-api v0.26, package runtime.v1) checked on
 * the generated code. test/fixtures/cri-wire.json holds the contract's facts
 * (every service and RPC, every message field's name, number and type, every
 * enum value), copied from the public api.proto; proto/cri/api.proto is
 * written by hand and must agree with it:
 * - every RPC has its path, request and response types, and stream flag;
 * - every message has exactly the listed fields, each encodes under its number
 *   with the wire type of its type, and the extreme value of its type survives
 *   a round trip (an int64 keeps its sign, a uint64 stays exact);
 * - every enum has exactly the listed values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as cri from '../../src/cri/generated/api.js';

interface Contract {
  /** service → [rpc, request, response, server streaming] */
  services: Record<string, [string, string, string, boolean][]>;
  /** message → [field (snake_case), number, type, deprecated] */
  messages: Record<string, [string, number, string, boolean][]>;
  /** enum (Parent.Name when nested) → [value name, number] */
  enums: Record<string, [string, number][]>;
}

const contract = JSON.parse(
  readFileSync(
    fileURLToPath(new URL('../../../test/fixtures/cri-wire.json', import.meta.url)),
    'utf8',
  ),
) as Contract;

interface MessageCodec {
  encode(message: unknown): { finish(): Uint8Array };
  decode(input: Uint8Array): Record<string, unknown>;
  fromPartial(object: unknown): Record<string, unknown>;
}

interface MethodDefinition {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize(value: unknown): Buffer;
  responseSerialize(value: unknown): Buffer;
}

const generated = cri as unknown as Record<string, unknown>;

function codec(name: string): MessageCodec {
  const found = generated[name] as MessageCodec | undefined;
  assert.ok(found && typeof found.encode === 'function', `message ${name} is generated`);
  return found;
}

/** ts-proto's field names: snake_case → camelCase. */
function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** ts-proto's name for an enum: nested ones are Parent_Name. */
function enumExport(name: string): string {
  return name.replace('.', '_');
}

function enumOf(type: string): string | undefined {
  if (type in contract.enums) return type;
  return Object.keys(contract.enums).find((e) => e.endsWith(`.${type}`));
}

const VARINT = 0;
const LEN = 2;

/** The extreme value of a scalar or enum type, and the wire type it encodes with. */
function sample(type: string): { value: unknown; wire: number } {
  switch (type) {
    case 'string':
      return { value: 'x\u00e9', wire: LEN };
    case 'bytes':
      return { value: Buffer.from([0, 1, 255]), wire: LEN };
    case 'bool':
      return { value: true, wire: VARINT };
    case 'int32':
      return { value: -(2 ** 31), wire: VARINT };
    case 'uint32':
      return { value: 2 ** 32 - 1, wire: VARINT };
    case 'int64':
      return { value: -(1n << 63n), wire: VARINT };
    case 'uint64':
      return { value: (1n << 64n) - 1n, wire: VARINT };
  }
  if (type === 'map<string,string>') return { value: { k: 'v' }, wire: LEN };
  const enumName = enumOf(type);
  if (enumName) {
    const values = contract.enums[enumName]!;
    return { value: Math.max(...values.map(([, n]) => n)), wire: VARINT };
  }
  assert.ok(type in contract.messages, `type ${type} is a listed message`);
  return { value: codec(type).fromPartial({}), wire: LEN };
}

function fieldSample(type: string): { value: unknown; wire: number } {
  if (!type.startsWith('repeated ')) return sample(type);
  // Repeated scalars are packed in proto3, repeated strings and messages are
  // one LEN record each: either way the first record is length-delimited.
  const item = sample(type.slice('repeated '.length));
  return { value: [item.value], wire: LEN };
}

/** The first tag of an encoding: [field number, wire type]. */
function firstTag(bytes: Uint8Array): [number, number] {
  let tag = 0;
  let shift = 0;
  for (const byte of bytes) {
    tag += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [Math.floor(tag / 8), tag % 8];
    shift += 7;
  }
  throw new Error('no tag in the encoding');
}

/** A message with every listed field set to its type's extreme value. */
function fullSample(name: string): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [field, , type] of contract.messages[name]!)
    object[camel(field)] = fieldSample(type).value;
  return codec(name).fromPartial(object);
}

test('the contract fixture lists both services and every message and enum', () => {
  assert.deepEqual(Object.keys(contract.services).sort(), ['ImageService', 'RuntimeService']);
  assert.equal(contract.services.RuntimeService!.length, 28);
  assert.equal(contract.services.ImageService!.length, 5);
  assert.ok(Object.keys(contract.messages).length >= 140);
  assert.ok(Object.keys(contract.enums).length >= 8);
});

for (const [service, rpcs] of Object.entries(contract.services)) {
  test(`service runtime.v1.${service}: every RPC, its types and streaming`, () => {
    const definition = generated[`${service}Service`] as Record<string, MethodDefinition>;
    assert.ok(definition, `${service}Service is generated`);
    assert.deepEqual(
      Object.values(definition)
        .map((m) => m.path)
        .sort(),
      rpcs.map(([rpc]) => `/runtime.v1.${service}/${rpc}`).sort(),
    );
    for (const [rpc, request, response, streaming] of rpcs) {
      const method = Object.values(definition).find(
        (m) => m.path === `/runtime.v1.${service}/${rpc}`,
      )!;
      assert.equal(method.requestStream, false, `${rpc} takes one request`);
      assert.equal(method.responseStream, streaming, `${rpc} streaming`);
      const requestValue = fullSample(request);
      assert.deepEqual(
        method.requestSerialize(requestValue),
        Buffer.from(codec(request).encode(requestValue).finish()),
        `${rpc} takes a ${request}`,
      );
      const responseValue = fullSample(response);
      assert.deepEqual(
        method.responseSerialize(responseValue),
        Buffer.from(codec(response).encode(responseValue).finish()),
        `${rpc} answers a ${response}`,
      );
    }
  });
}

for (const [name, fields] of Object.entries(contract.messages)) {
  test(`message ${name}: exactly the listed fields, each under its number and wire type`, () => {
    const messageCodec = codec(name);
    assert.deepEqual(
      Object.keys(messageCodec.fromPartial({})).sort(),
      fields.map(([field]) => camel(field)).sort(),
      `${name}'s fields`,
    );
    for (const [field, number, type] of fields) {
      const key = camel(field);
      const { value, wire } = fieldSample(type);
      const bytes = messageCodec.encode(messageCodec.fromPartial({ [key]: value })).finish();
      assert.deepEqual(firstTag(bytes), [number, wire], `${name}.${field} is field ${number}`);
      assert.deepEqual(
        messageCodec.decode(bytes)[key],
        value,
        `${name}.${field} (${type}) round-trips its extreme value`,
      );
    }
  });
}

for (const [name, values] of Object.entries(contract.enums)) {
  test(`enum ${name}: exactly the listed values`, () => {
    const generatedEnum = generated[enumExport(name)] as Record<string, unknown> | undefined;
    assert.ok(generatedEnum, `enum ${name} is generated`);
    // ts-proto adds UNRECOGNIZED = -1 for values from newer peers.
    const members = Object.entries(generatedEnum).filter(
      ([key, n]) => typeof n === 'number' && key !== 'UNRECOGNIZED',
    );
    assert.deepEqual(
      members.sort(([, a], [, b]) => (a as number) - (b as number)),
      [...values].sort(([, a], [, b]) => a - b),
      `${name}'s values`,
    );
  });
}
