/**
 * A local OpenTelemetry collector: takes OTLP/HTTP JSON exports at `POST /v1/traces` over a real socket and keeps the
 * spans, flattened, with their resource's attributes; or, for the benchmark (`decode: false`), only counts them.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { listen } from "../core/listen.js";

export interface CollectedSpan {
  traceId: string;
  spanId: string;
  /** "" for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP's: 1 internal, 2 server, 3 client. */
  kind: number;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
  status: { code?: number; message?: string };
}

interface OtlpValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values?: OtlpValue[] };
}
type OtlpAttributes = { key: string; value: OtlpValue }[] | undefined;
interface OtlpExport {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttributes };
    scopeSpans?: {
      spans?: (Omit<CollectedSpan, "attributes" | "resource" | "status"> & {
        attributes?: OtlpAttributes;
        status?: CollectedSpan["status"];
      })[];
    }[];
  }[];
}

export class OtlpCollector {
  readonly spans: CollectedSpan[] = [];
  /** The headers of every export received. */
  readonly exports: IncomingHttpHeaders[] = [];
  /** Spans received, decoded or not. */
  spanCount = 0;

  private constructor(
    private readonly server: Server,
    /** The traces URL to give an exporter. */
    readonly url: string,
  ) {}

  static async start(options: { decode?: boolean } = {}): Promise<OtlpCollector> {
    const decode = options.decode ?? true;
    const server = createServer();
    await listen(server, 0, "127.0.0.1");
    const collector = new OtlpCollector(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`);
    server.on("request", (request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        if (request.method !== "POST" || request.url !== "/v1/traces") {
          response.writeHead(404).end();
          return;
        }
        const body = Buffer.concat(chunks).toString("utf8");
        collector.exports.push(request.headers);
        try {
          if (decode) collector.take(JSON.parse(body) as OtlpExport);
          else collector.spanCount += body.split('"spanId":').length - 1;
        } catch {
          response.writeHead(400, { "content-type": "application/json" }).end("{}");
          return;
        }
        response.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    return collector;
  }

  private take(data: OtlpExport): void {
    for (const resourceSpans of data.resourceSpans ?? []) {
      const resource = attributes(resourceSpans.resource?.attributes);
      for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
        for (const span of scopeSpans.spans ?? []) {
          this.spanCount++;
          this.spans.push({
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId ?? "",
            name: span.name,
            kind: span.kind,
            attributes: attributes(span.attributes),
            resource,
            status: span.status ?? {},
          });
        }
      }
    }
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function attributes(list: OtlpAttributes): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map(({ key, value }) => [key, valueOf(value)]));
}

function valueOf(value: OtlpValue): unknown {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(valueOf);
  return undefined;
}
