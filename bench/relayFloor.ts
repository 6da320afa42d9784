/**
 * The floor of a push: a bare `node:http` server that, for each /notify, parses the JSON body and sends one APNs
 * request per device over a `node:http2` session to the sandbox APNs (one ES256 token made at start), then answers
 * `{"rejected":[]}`. No validation, logging, metrics, retries or deadlines: what Node's own HTTP/1.1 server and HTTP/2
 * client cost per push, against which Herald's cost per push is read. Forked by the benchmark with the sandbox's
 * APNs settings as its argument; reports its port over IPC and exits when the parent goes.
 */
import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { connect, type ClientHttp2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { signJwt } from "../src/core/jwt.js";
import type { SandboxInfo } from "./sandboxProcess.js";

/** The sandbox APNs to relay to: its part of the sandbox's settings. */
export type RelayFloorOptions = Pick<SandboxInfo, "url" | "ca" | "keyfile" | "keyId" | "teamId" | "topic">;

const ANSWER = '{"rejected":[]}';
const options = JSON.parse(process.argv[2]!) as RelayFloorOptions;
const key = createPrivateKey(readFileSync(options.keyfile));
const token = signJwt(
  "ES256",
  key,
  { iss: options.teamId, iat: Math.floor(Date.now() / 1000) },
  { kid: options.keyId },
);
const authorization = `bearer ${token}`;

let session: ClientHttp2Session | undefined;
function apns(): ClientHttp2Session {
  if (!session || session.closed || session.destroyed) {
    session = connect(options.url, { ca: readFileSync(options.ca) });
    session.on("error", () => (session = undefined));
  }
  return session;
}

function push(pushkey: string, payload: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const stream = apns().request({
      ":method": "POST",
      // Matrix carries the APNs token in base64; APNs wants it in hex.
      ":path": `/3/device/${Buffer.from(pushkey, "base64").toString("hex")}`,
      authorization,
      "apns-topic": options.topic,
      "apns-push-type": "alert",
      "content-type": "application/json",
    });
    let status = 0;
    stream.on("response", (headers) => (status = Number(headers[":status"])));
    stream.on("data", () => {});
    stream.on("end", () => resolve(status));
    stream.on("error", reject);
    stream.end(payload);
  });
}

interface Notification {
  notification: { room_id?: string; event_id?: string; counts?: { unread?: number }; devices: { pushkey: string }[] };
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    const { notification } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Notification;
    const payload = JSON.stringify({
      aps: { alert: { "loc-key": "MSG_FROM_USER" }, badge: notification.counts?.unread ?? 0 },
      room_id: notification.room_id,
      event_id: notification.event_id,
    });
    Promise.all(notification.devices.map((device) => push(device.pushkey, payload))).then(
      (statuses) => {
        const ok = statuses.every((status) => status === 200);
        res.writeHead(ok ? 200 : 502, { "Content-Type": "application/json", "Content-Length": ANSWER.length });
        res.end(ANSWER);
      },
      () => {
        res.writeHead(502);
        res.end();
      },
    );
  });
});

server.listen(0, "127.0.0.1", () => {
  process.send!({ type: "ready", port: (server.address() as AddressInfo).port });
});

const close = () => {
  server.close();
  server.closeAllConnections();
  session?.destroy();
  process.exit(0);
};
process.once("disconnect", close);
process.once("SIGTERM", close);
process.once("SIGINT", close);
