/**
 * APNs device tokens travel as base64 pushkeys (the Matrix spec's advice) and are sent to Apple as lowercase hex.
 * Decoding follows Python's `base64.b64decode`, which Sygnal uses: characters outside the alphabet are ignored, and
 * missing padding is an error. A pushkey that does not decode can never be served by this app.
 */
/**
 * The hex device token of a pushkey, when `convert_device_token_to_hex` is on: a base64 pushkey decoded, or a pushkey
 * that already is a device token in hex (64 hex digits) as it is. Such a pushkey cannot be base64 of a 32-byte token
 * (that takes 44 characters), and decoding it as base64 would send Apple 48 bytes it refuses as BadDeviceToken, which
 * would delete a pusher that can be served.
 */
export function deviceTokenOf(pushkey: string): string | undefined {
  return HEX_TOKEN.test(pushkey) ? pushkey.toLowerCase() : base64PushkeyToHex(pushkey);
}

const HEX_TOKEN = /^[0-9a-fA-F]{64}$/;

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
