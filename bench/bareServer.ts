/**
 * The ceiling: a bare `node:http` server that reads the request body and answers `{"rejected":[]}`, the least any
 * push gateway must do per request. Forked by the benchmark; reports its port over IPC and exits when the parent goes.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

const ANSWER = '{"rejected":[]}';

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    Buffer.concat(chunks);
    res.writeHead(200, { "Content-Type": "application/json", "Content-Length": ANSWER.length });
    res.end(ANSWER);
  });
});

server.listen(0, "127.0.0.1", () => {
  process.send!({ type: "ready", port: (server.address() as AddressInfo).port });
});

const close = () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
};
process.once("disconnect", close);
process.once("SIGTERM", close);
process.once("SIGINT", close);
