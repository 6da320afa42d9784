/**
 * The outbound HTTP CONNECT proxy: the config's `proxy`, else the `HTTPS_PROXY` environment variable (uppercase only,
 * as Sygnal). Only `http://[user:password@]host[:port]` is accepted; credentials are used only when both are given.
 */
export interface ProxyConfig {
  host: string;
  port: number;
  /** `user:password`, present only when both parts were given. */
  credentials?: string;
  /** The proxy URL without its password, safe to log. */
  display: string;
}

export class ProxyUrlError extends Error {
  override readonly name = "ProxyUrlError";
}

export function parseProxyUrl(url: string): ProxyConfig {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ProxyUrlError(`is not a URL: expected http://[user:password@]host[:port]`);
  }
  if (parsed.protocol !== "http:") {
    throw new ProxyUrlError(
      `uses the scheme '${parsed.protocol.replace(/:$/, "")}': only 'http' proxies are supported`,
    );
  }
  if (!parsed.hostname) throw new ProxyUrlError("has no host");
  const port = parsed.port ? Number(parsed.port) : 80;
  const user = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  const proxy: ProxyConfig = {
    host: parsed.hostname.replace(/^\[(.*)\]$/, "$1"),
    port,
    display: `http://${user ? `${user}@` : ""}${parsed.host}`,
  };
  if (user && password) proxy.credentials = `${user}:${password}`;
  return proxy;
}
