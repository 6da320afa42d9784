/**
 * A connection URL fit to be printed: its password and any secret query parameter replaced by `***`.
 *
 * Parsed by hand rather than with `URL`: a password may hold characters a URL parser takes for the end of the
 * authority (`/`, `?`, `#`), and then either fails or reads part of the password as a path, which it would print.
 * The user information is everything up to the last `@`, whatever it holds (an `@` in the query makes more of the
 * URL hidden, never less); the query starts at the first `?` after it.
 */
const SECRET_PARAMETER = /^(password|passwd|pass|sslpassword|secret|token|api[_-]?key|access[_-]?key)$/i;

export function withoutSecrets(url: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0] ?? "";
  const rest = url.slice(scheme.length);
  const at = rest.lastIndexOf("@");
  const queryAt = rest.indexOf("?", at + 1);
  const beforeQuery = queryAt >= 0 ? rest.slice(0, queryAt) : rest;
  const query = queryAt >= 0 ? rest.slice(queryAt + 1) : undefined;
  let authority = beforeQuery;
  if (at >= 0) {
    const userinfo = beforeQuery.slice(0, at);
    const colon = userinfo.indexOf(":");
    authority = `${colon >= 0 ? `${userinfo.slice(0, colon)}:***` : userinfo}@${beforeQuery.slice(at + 1)}`;
  }
  if (query === undefined) return `${scheme}${authority}`;
  const parameters = query.split("&").map((pair) => {
    const equals = pair.indexOf("=");
    const name = equals >= 0 ? pair.slice(0, equals) : pair;
    return equals >= 0 && SECRET_PARAMETER.test(safeDecode(name)) ? `${name}=***` : pair;
  });
  return `${scheme}${authority}?${parameters.join("&")}`;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
