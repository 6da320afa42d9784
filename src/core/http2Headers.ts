/**
 * Request headers as they go on an HTTP/2 wire. Node writes each character of a header string as one byte, so
 * anything beyond Latin-1 would be cut to its low byte ("€" went out as 0xAC) and Latin-1 itself would not be UTF-8:
 * a value with non-ASCII characters is turned into its UTF-8 bytes, one character each, which Node then sends as they
 * are. A value no HTTP field can carry (a control character such as CR, LF or NUL, or white space at either end, which
 * RFC 9113 calls malformed) is refused before anything is sent: a server would reset the stream or drop the header,
 * and a CR LF must never reach a wire. So is a path that is not visible ASCII: callers percent-encode what they put
 * there.
 */
import type { OutgoingHttpHeaders } from "node:http2";
import { PermanentFailure } from "./pushkin.js";

const UNCARRIABLE = /[\u0000-\u0008\u000a-\u001f\u007f]|^[ \t]|[ \t]$/;
const NON_ASCII = /[^\u0000-\u007f]/;
const VISIBLE_ASCII = /^[\u0021-\u007e]+$/;
const PLAIN = /^[\u0021-\u007e]*$/;

/** The headers of a request to `path`, ready for Node's HTTP/2 client; throws PermanentFailure for what cannot go. */
export function wireHeaders(method: string, path: string, headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
  if (!VISIBLE_ASCII.test(path)) {
    // The path is not quoted: it can hold a device token, and failures are logged.
    const why = "the request path is not visible ASCII; nothing was sent";
    throw new PermanentFailure(why, { publicReason: why });
  }
  const wire: OutgoingHttpHeaders = { ":method": method, ":path": path };
  for (const [name, value] of Object.entries(headers)) {
    wire[name] = Array.isArray(value) ? value.map((item) => wireValue(name, item)) : wireValue(name, value);
  }
  return wire;
}

/** Whether an HTTP header can carry the value (as UTF-8 when it is not ASCII). */
export function isCarriableHeaderValue(value: string): boolean {
  return !UNCARRIABLE.test(value);
}

function wireValue<T>(name: string, value: T): T | string {
  if (typeof value !== "string") return value;
  // Nearly every value is visible ASCII without spaces: one test, on the path of every push.
  if (PLAIN.test(value)) return value;
  if (!isCarriableHeaderValue(value)) {
    // The value is not quoted: the header may be an Authorization, and failures are logged.
    const why = `the header ${name} holds a character no HTTP header can carry; nothing was sent`;
    throw new PermanentFailure(why, { publicReason: why });
  }
  return NON_ASCII.test(value) ? Buffer.from(value, "utf8").toString("latin1") : value;
}
