/**
 * App-id globs as Sygnal matches them: `*` is any run of characters (also none), `?` exactly one, everything else
 * literal; the whole app id must match, case-sensitively. (WebPush's `allowed_endpoints` are the same globs, matched
 * ignoring case.) Sygnal turns them into Python regular expressions whose `.` matches any character but a line feed,
 * so neither `*` nor `?` matches one.
 */
export function globToRegExp(glob: string, options: { ignoreCase?: boolean } = {}): RegExp {
  let source = "";
  for (const char of glob) {
    if (char === "*") source += "[^\\n]*";
    else if (char === "?") source += "[^\\n]";
    // Only syntax characters are escaped: under the `u` flag, escaping anything else ("\\-") is an error.
    else source += char.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`, options.ignoreCase ? "iu" : "u");
}

export function isGlob(key: string): boolean {
  return key.includes("*") || key.includes("?");
}
