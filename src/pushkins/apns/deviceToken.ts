/**
 * APNs device tokens travel as base64 pushkeys (the Matrix spec's advice) and are sent to Apple as lowercase hex.
 * Decoding follows Python's `base64.b64decode`, which Sygnal uses: characters outside the alphabet are ignored, and
 * missing padding is an error. A pushkey that does not decode can never be served by this app.
 */
export function base64PushkeyToHex(pushkey: string): string | undefined {
  const cleaned = pushkey.replace(/[^A-Za-z0-9+/=]/g, "");
  const padAt = cleaned.indexOf("=");
  const data = padAt === -1 ? cleaned : cleaned.slice(0, padAt);
  const padding = padAt === -1 ? "" : cleaned.slice(padAt);
  if (!/^=*$/.test(padding)) return undefined;
  const remainder = data.length % 4;
  if (remainder === 1) return undefined;
  if (remainder > 0 && padding.length < 4 - remainder) return undefined;
  const hex = Buffer.from(data, "base64").toString("hex");
  return hex.length > 0 ? hex : undefined;
}
