/**
 * Reads PostgreSQL's text for a `timestamp` as UTC (as Prisma stores them);
 * `pg` alone would read it in the process's time zone.
 *
 * Every loaded delivery and every recorded attempt carries about a dozen of
 * them, so the common shape, `YYYY-MM-DD HH:MM:SS[.f…]`, is read digit by
 * digit: 0.08 µs a value against 0.24 for building an ISO string and parsing
 * it. Anything else (BC, infinity, a year before 100 or after 9999) takes
 * that slower way.
 */
export function parseUtcTimestamp(text: string): Date {
  const length = text.length;
  // Date.UTC reads years 0–99 as 1900–1999.
  const year = length >= 19 ? twoDigits(text, 0) * 100 + twoDigits(text, 2) : 0;
  if (
    year < 100 ||
    length > 26 ||
    text.charCodeAt(4) !== DASH ||
    text.charCodeAt(10) !== SPACE ||
    (length > 19 && (text.charCodeAt(19) !== DOT || !isDigit(text.charCodeAt(length - 1))))
  ) {
    return new Date(`${text.replace(" ", "T")}Z`);
  }
  // Milliseconds from the first three digits of the fraction; PostgreSQL drops trailing zeros.
  let ms = 0;
  for (let i = 20, scale = 100; i < 23 && i < length; i++, scale /= 10) ms += digit(text, i) * scale;
  return new Date(
    Date.UTC(
      year,
      twoDigits(text, 5) - 1,
      twoDigits(text, 8),
      twoDigits(text, 11),
      twoDigits(text, 14),
      twoDigits(text, 17),
      ms,
    ),
  );
}

const DASH = 45;
const SPACE = 32;
const DOT = 46;
const ZERO = 48;
const isDigit = (code: number) => code >= ZERO && code <= ZERO + 9;
const digit = (text: string, i: number) => text.charCodeAt(i) - ZERO;
const twoDigits = (text: string, i: number) => digit(text, i) * 10 + digit(text, i + 1);
