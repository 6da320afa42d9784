/**
 * YAML 1.1 scalars as PyYAML's `safe_load` reads them, which is how Sygnal reads sygnal.yaml.
 *
 * A plain (unquoted) scalar is matched against PyYAML's implicit resolvers, in its order: bool, float, int, merge,
 * null, timestamp, value; what matches none is a string. An explicit tag (`!!int "12"`) is built by that type's
 * constructor, which is more lenient than the resolver. Quoted and block scalars are strings.
 *
 * What PyYAML gives and YAML 1.2 (or the `yaml` package's own 1.1 schema) would not: `y`/`n` are strings; `1e5` is a
 * string (a float needs a dot, and its exponent a sign); `0123456789` is a string (a leading 0 is octal, and 8 and 9
 * are not octal digits); `0:20` is a string (sexagesimal integers start with 1-9); `-.5` is a string; a date needs a
 * two-digit month and day.
 */

/** A value as PyYAML builds it, before it becomes Herald's data: integers and floats stay apart, for mapping keys. */
export type YamlScalar =
  | { type: "null" }
  | { type: "bool"; value: boolean }
  | { type: "int"; value: bigint }
  | { type: "float"; value: number }
  | { type: "str"; value: string }
  | { type: "timestamp"; value: Timestamp }
  /** `<<`: a merge key in a mapping's key; anywhere else an error. */
  | { type: "merge" }
  /** `=`: YAML 1.1's "value" key, a string as a mapping key; anywhere else an error. */
  | { type: "value" };

/** A date, or a date and time with an optional UTC offset, as PyYAML's `datetime.date` / `datetime.datetime`. */
export interface Timestamp {
  /** Python's `isoformat()`: `2001-12-14`, `2001-12-14T21:59:43.100000-05:00`. */
  iso: string;
  /** For equality of mapping keys: times with an offset are equal when they are the same instant. */
  identity: string;
}

export class ScalarError extends Error {
  override readonly name = "ScalarError";
}

const BOOL = /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/;
const FLOAT =
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const INT =
  /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
const MERGE = /^(?:<<)$/;
const NULL = /^(?:~|null|Null|NULL|)$/;
const TIMESTAMP =
  /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$/;
const VALUE = /^(?:=)$/;

const TAG = "tag:yaml.org,2002:";

/**
 * A plain scalar's value, as PyYAML's implicit resolvers and constructors give it. (Also a scalar tagged `!` alone,
 * quoted or not, which may end with a line feed.)
 */
export function resolvePlain(text: string): YamlScalar {
  if (matches(BOOL, text)) return constructBool(text);
  if (matches(FLOAT, text)) return constructFloat(text);
  if (matches(INT, text)) return constructInt(text);
  if (matches(MERGE, text)) return { type: "merge" };
  if (matches(NULL, text)) return { type: "null" };
  if (matches(TIMESTAMP, text)) return constructTimestamp(text);
  if (matches(VALUE, text)) return { type: "value" };
  return { type: "str", value: text };
}

/** Python's `$` also matches before a final line feed. */
function matches(pattern: RegExp, text: string): boolean {
  return pattern.test(text) || (text.endsWith("\n") && pattern.test(text.slice(0, -1)));
}

/** A scalar with an explicit tag of YAML's own (`tag:yaml.org,2002:…`); undefined for any other tag. */
export function constructTagged(tag: string, text: string): YamlScalar | undefined {
  switch (tag) {
    case `${TAG}str`:
      return { type: "str", value: text };
    case `${TAG}null`:
      return { type: "null" };
    case `${TAG}bool`:
      return constructBool(text);
    case `${TAG}int`:
      return constructInt(text);
    case `${TAG}float`:
      return constructFloat(text);
    case `${TAG}timestamp`:
      return constructTimestamp(text);
    case `${TAG}merge`:
      return { type: "merge" };
    case `${TAG}value`:
      return { type: "value" };
    default:
      return undefined;
  }
}

const BOOLEANS = new Map([
  ["yes", true],
  ["true", true],
  ["on", true],
  ["no", false],
  ["false", false],
  ["off", false],
]);

function constructBool(text: string): YamlScalar {
  const value = BOOLEANS.get(text.toLowerCase());
  if (value === undefined) throw new ScalarError(`'${text}' is not a boolean: write true or false`);
  return { type: "bool", value };
}

/** PyYAML: `_` is dropped; then `0` is zero, `0b…` binary, `0x…` hexadecimal, `0…` octal, `a:b:c` base 60. */
function constructInt(text: string): YamlScalar {
  let digits = text.replace(/_/g, "");
  const negative = digits.startsWith("-");
  if (digits.startsWith("-") || digits.startsWith("+")) digits = digits.slice(1);
  let magnitude: bigint;
  if (digits === "0") magnitude = 0n;
  else if (digits.startsWith("0b")) magnitude = pythonInt(digits.slice(2), 2, text);
  else if (digits.startsWith("0x")) magnitude = pythonInt(digits.slice(2), 16, text);
  else if (digits.startsWith("0")) magnitude = pythonInt(digits, 8, text);
  else if (digits.includes(":")) magnitude = sexagesimal(digits.split(":").map((part) => pythonInt(part, 10, text)));
  else magnitude = pythonInt(digits, 10, text);
  return { type: "int", value: negative ? -magnitude : magnitude };
}

/** Python's `int(text, base)`: surrounding whitespace, a sign, and the base's own prefix (`0x` for 16) are allowed. */
const PYTHON_INT: Record<2 | 8 | 10 | 16, RegExp> = {
  2: /^\s*([-+]?)(?:0[bB])?([01]+)\s*$/,
  8: /^\s*([-+]?)(?:0[oO])?([0-7]+)\s*$/,
  10: /^\s*([-+]?)([0-9]+)\s*$/,
  16: /^\s*([-+]?)(?:0[xX])?([0-9a-fA-F]+)\s*$/,
};
const RADIX_PREFIX = { 2: "0b", 8: "0o", 10: "", 16: "0x" } as const;

function pythonInt(text: string, base: 2 | 8 | 10 | 16, original: string): bigint {
  const match = PYTHON_INT[base].exec(text);
  if (!match) throw new ScalarError(`'${original}' is not an integer: quote it to keep it a string`);
  const magnitude = BigInt(`${RADIX_PREFIX[base]}${match[2]}`);
  return match[1] === "-" ? -magnitude : magnitude;
}

/** `[1, 20, 30]` → 1·60² + 20·60 + 30, added from the last part as PyYAML does (which matters for floats). */
function sexagesimal(parts: bigint[]): bigint {
  let value = 0n;
  let base = 1n;
  for (const part of parts.reverse()) {
    value += part * base;
    base *= 60n;
  }
  return value;
}

/** PyYAML: `_` is dropped and case ignored; `.inf`, `.nan`, `a:b.c` base 60, else Python's `float()`. */
function constructFloat(text: string): YamlScalar {
  let body = text.replace(/_/g, "").toLowerCase();
  const sign = body.startsWith("-") ? -1 : 1;
  if (body.startsWith("-") || body.startsWith("+")) body = body.slice(1);
  if (body === ".inf") return { type: "float", value: sign * Infinity };
  if (body === ".nan") return { type: "float", value: NaN };
  if (body.includes(":")) {
    let value = 0;
    let base = 1;
    for (const part of body.split(":").reverse()) {
      value += pythonFloat(part, text) * base;
      base *= 60;
    }
    return { type: "float", value: sign * value };
  }
  return { type: "float", value: sign * pythonFloat(body, text) };
}

/** Python's `float(text)`: decimal with optional exponent, `inf`, `infinity`, `nan`; surrounding whitespace allowed. */
function pythonFloat(text: string, original: string): number {
  const trimmed = text.trim().toLowerCase();
  const match = /^([-+]?)(?:(inf|infinity)|(nan)|((?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[-+]?[0-9]+)?))$/.exec(trimmed);
  if (!match) throw new ScalarError(`'${original}' is not a number: quote it to keep it a string`);
  const sign = match[1] === "-" ? -1 : 1;
  if (match[2]) return sign * Infinity;
  if (match[3]) return NaN;
  return sign * Number.parseFloat(match[4]!);
}

const TIMESTAMP_PARTS =
  /^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:(?:[Tt]|[ \t]+)([0-9]{1,2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]*))?(?:[ \t]*(Z|([-+])([0-9]{1,2})(?::([0-9]{2}))?))?)?$/;

/** PyYAML: a `datetime.date` without a time, else a `datetime.datetime`, with a fixed offset when one is given. */
function constructTimestamp(text: string): YamlScalar {
  const match = TIMESTAMP_PARTS.exec(text.endsWith("\n") ? text.slice(0, -1) : text);
  if (!match) throw new ScalarError(`'${text}' is not a date`);
  const [, year, month, day, hour, minute, second, fraction, zone, offsetSign, offsetHours, offsetMinutes] = match;
  const [y, mo, d] = [Number(year), Number(month), Number(day)];
  const invalid = (what: string) =>
    new ScalarError(`'${text}' is read as a date (YAML 1.1), but ${what}: quote it to keep it a string`);
  if (y < 1) throw invalid("the year is 0");
  if (mo < 1 || mo > 12) throw invalid("the month is not 1 to 12");
  if (d < 1 || d > daysInMonth(y, mo)) throw invalid("the day is not in that month");
  const date = `${year}-${pad(mo)}-${pad(d)}`;
  if (hour === undefined) return { type: "timestamp", value: { iso: date, identity: `date ${date}` } };

  const [h, mi, s] = [Number(hour), Number(minute), Number(second)];
  if (h > 23 || mi > 59 || s > 59) throw invalid("the time is not a time of day");
  const micro = fraction ? Number(fraction.slice(0, 6).padEnd(6, "0")) : 0;
  const local = `${date}T${pad(h)}:${pad(mi)}:${pad(s)}${micro ? `.${String(micro).padStart(6, "0")}` : ""}`;
  if (zone === undefined) return { type: "timestamp", value: { iso: local, identity: `naive ${local}` } };

  const offset = offsetSign
    ? (offsetSign === "-" ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes ?? 0))
    : 0;
  if (Math.abs(offset) >= 24 * 60) throw invalid("its UTC offset is not less than 24 hours");
  const instant =
    (BigInt(daysSinceEpoch(y, mo, d)) * 86400n + BigInt(h * 3600 + mi * 60 + s - offset * 60)) * 1_000_000n +
    BigInt(micro);
  const zoneText = `${offset < 0 ? "-" : "+"}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  return { type: "timestamp", value: { iso: `${local}${zoneText}`, identity: `instant ${instant}` } };
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function daysInMonth(year: number, month: number): number {
  return [31, isLeapYear(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
}

/** Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Python's), negative before. */
function daysSinceEpoch(year: number, month: number, day: number): number {
  let days = day - 1;
  for (let m = 1; m < month; m++) days += daysInMonth(year, m);
  const y = year - 1;
  days += 365 * y + Math.floor(y / 4) - Math.floor(y / 100) + Math.floor(y / 400);
  return days - 719162; // days from 0001-01-01 to 1970-01-01
}

/** Python's `repr()` of a float, which is how its json module writes a float mapping key: `1.0`, `1e+16`, `1e-05`. */
export function pythonFloatRepr(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "Infinity" : "-Infinity";
  const sign = value < 0 || Object.is(value, -0) ? "-" : "";
  const [mantissa, exponentText] = Math.abs(value).toExponential().split("e") as [string, string];
  const digits = mantissa.replace(".", "");
  const exponent = Number(exponentText);
  const point = exponent + 1; // digits before the decimal point
  if (point > 16 || point < -3) {
    const fractionDigits = digits.length > 1 ? `.${digits.slice(1)}` : "";
    const e = `${exponent < 0 ? "-" : "+"}${String(Math.abs(exponent)).padStart(2, "0")}`;
    return `${sign}${digits[0]}${fractionDigits}e${e}`;
  }
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${"0".repeat(point - digits.length)}.0`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}
