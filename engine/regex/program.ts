// Compiled Pike VM program: parallel instruction arrays plus character-class tables.

export const enum Inst {
  Rune, // arg = code point
  Class, // arg = class index
  Any,
  AnyNotNL,
  Split, // out preferred, arg alternative
  Empty, // arg = required EMPTY_* flags (0 = no-op)
  Save, // arg = capture slot
  Match,
  Fail,
}

export const EMPTY_BEGIN_LINE: i32 = 1;
export const EMPTY_END_LINE: i32 = 2;
export const EMPTY_BEGIN_TEXT: i32 = 4;
export const EMPTY_END_TEXT: i32 = 8;
export const EMPTY_WORD_BOUNDARY: i32 = 16;
export const EMPTY_NO_WORD_BOUNDARY: i32 = 32;

export class Program {
  constructor(
    public ops: StaticArray<i32>,
    public outs: StaticArray<i32>,
    public args: StaticArray<i32>,
    /** All class ranges, flat; class k occupies classData[classFrom[k], classFrom[k] + 2*classCount[k]). */
    public classData: StaticArray<i32>,
    public classFrom: StaticArray<i32>,
    public classCount: StaticArray<i32>,
    /** 128-bit ASCII membership bitmap per class (two u64 words each), a fast path for common input. */
    public classAscii: StaticArray<u64>,
    public start: i32,
    /** Capture slots the program writes: 2 * (groupCount + 1). */
    public slots: i32,
  ) {}

  get size(): i32 {
    return this.ops.length;
  }
}
