// Text generators for the protocol's property tests. fast-check's own
// `unit: 'binary'` is about 50 times slower than these.
import fc from 'fast-check';

/** Any code point but a surrogate half: ASCII, controls, the BMP and astral characters, with ASCII as likely as the rest. */
const codePoint = fc
  .oneof(fc.integer({ min: 0, max: 0x7f }), fc.integer({ min: 0x80, max: 0xd7ff }), fc.integer({ min: 0xe000, max: 0x10ffff }))
  .map((c) => String.fromCodePoint(c));

/** Well-formed Unicode text. */
export function unicodeText(constraints: { minLength?: number; maxLength?: number } = {}): fc.Arbitrary<string> {
  return fc.string({ unit: codePoint, ...constraints });
}

/** Any sequence of UTF-16 units: lone surrogates too, which JSON escapes such as "\ud800" produce. */
export function utf16Text(constraints: { maxLength?: number } = {}): fc.Arbitrary<string> {
  const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit));
  return fc.string({ unit: fc.oneof(codePoint, loneSurrogate), ...constraints });
}
