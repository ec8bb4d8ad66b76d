/** The parts of hpack.js (spdy-transport's HPACK codec) that authority.ts uses. */
declare module 'hpack.js' {
  interface Decoder {
    push(chunk: Buffer): void;
    isEmpty(): boolean;
    decodeBit(): number;
    decodeInt(): number;
    decodeStr(): number[];
  }
  interface Encoder {
    encodeBit(bit: number): void;
    encodeInt(value: number): void;
    encodeStr(value: number[], huffman: boolean): void;
    render(): Buffer[];
  }
  interface TableEntry {
    name: string;
    value: string;
    nameSize: number;
  }
  interface Table {
    lookup(index: number): TableEntry;
    add(name: string, value: string, nameSize: number, valueSize: number): void;
    updateSize(size: number): void;
  }
  const hpack: {
    decoder: { create(): Decoder };
    encoder: { create(): Encoder };
    table: { create(options: { maxSize: number }): Table };
    utils: { stringify(bytes: number[]): string; toArray(text: string): number[] };
  };
  export default hpack;
}
