/**
 * The Prometheus listener (`metrics.prometheus.*`): the exposition of every metric, on every path, as Sygnal's
 * `prometheus_client.start_http_server` serves it. Separate from the push listener so that it can stay private.
 */
import { createServer, type Server } from "node:http";

/** A registry, or the aggregate of the workers' registries. */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

export function createMetricsServer(registry: MetricsSource): Server {
  return createServer((req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD" }).end();
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { "Content-Type": registry.contentType });
        res.end(req.method === "HEAD" ? undefined : text);
      },
      (error: unknown) => {
        res.writeHead(500, { "Content-Type": "text/plain" }).end(`metrics collection failed: ${String(error)}\n`);
      },
    );
  });
}
