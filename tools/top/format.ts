/**
 * How `npm run top` writes figures into columns: counts that fit their
 * width (compact when they would not), paths cut from the left (their end
 * tells the actor), names cut from the right, and sparklines.
 */

const ELLIPSIS = '…';
const BARS = '▁▂▃▄▅▆▇█';
const UNITS = ['', 'k', 'M', 'G', 'T', 'P'];

/** `text` in at most `width` characters: its end, after an ellipsis, when longer. */
export function keepEnd(text: string, width: number): string {
  if (text.length <= width) return text;
  return width <= 1 ? ELLIPSIS.slice(0, width) : `${ELLIPSIS}${text.slice(text.length - width + 1)}`;
}

/** `text` in at most `width` characters: its start, then an ellipsis, when longer. */
export function keepStart(text: string, width: number): string {
  if (text.length <= width) return text;
  return width <= 1 ? ELLIPSIS.slice(0, width) : `${text.slice(0, width - 1)}${ELLIPSIS}`;
}

/** `n` (with `decimals`) when it fits `width`, else in k, M, G... (12.3M); '-' for a figure missing. */
export function fitNumber(n: number | undefined, width: number, decimals = 0): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  const plain = n.toFixed(decimals);
  if (plain.length <= width) return plain;
  let unit = 0;
  let scaled = n;
  while (Math.abs(scaled) >= 1000 && unit < UNITS.length - 1) {
    scaled /= 1000;
    unit++;
  }
  return `${scaled.toFixed(Math.abs(scaled) < 100 ? 1 : 0)}${UNITS[unit]}`;
}

/** 10,000 */
export function grouped(n: number | undefined): string {
  return n === undefined ? '-' : Math.round(n).toLocaleString('en-US');
}

/** A rate: its decimal while it is small (0.5/s is not 1/s), grouped above. */
export function perSecond(n: number | undefined): string {
  return n !== undefined && n < 100 ? n.toFixed(1) : grouped(n);
}

export function mebibytes(bytes: number | undefined): string {
  return bytes === undefined ? '-' : `${(bytes / 1_048_576).toFixed(1)} MiB`;
}

export function milliseconds(ms: number | undefined): string {
  return ms === undefined ? '-' : `${ms.toFixed(1)} ms`;
}

/**
 * The last `width` values as bars, scaled from their least to their
 * greatest (a flat line sits on the lowest bar), right-aligned in `width`.
 */
export function sparkline(values: readonly number[], width: number): string {
  const shown = values.slice(-width);
  const finite = shown.filter(Number.isFinite);
  const low = Math.min(...finite);
  const span = Math.max(...finite) - low;
  const bar = (value: number) => (Number.isFinite(value) ? BARS[span === 0 ? 0 : Math.round(((value - low) / span) * (BARS.length - 1))]! : ' ');
  return shown.map(bar).join('').padStart(width);
}

/** HH:MM:SS of an epoch ms or a Date, as the tools' lines say the time (UTC, as the daemon's log). */
export function clock(at: number | Date): string {
  return new Date(at).toISOString().slice(11, 19);
}
