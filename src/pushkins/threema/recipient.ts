/** A Threema user to send to: their Threema ID and their public key, as a pusher or a push-relay request gives them. */

/** Eight characters of digits, capitals and `*`; a leading `*` marks a Gateway ID, which is no phone. */
const USER_ID = /^[0-9A-Z][0-9A-Z*]{7}$/;
const PUBLIC_KEY_HEX = /^[0-9a-fA-F]{64}$/;

export interface ThreemaRecipient {
  identity: string;
  publicKey: Buffer;
}

export function isThreemaUserId(value: string): boolean {
  return USER_ID.test(value);
}

/** 64 hex characters, of either case, as 32 bytes; undefined for anything else. */
export function parsePublicKeyHex(value: unknown): Buffer | undefined {
  return typeof value === "string" && PUBLIC_KEY_HEX.test(value) ? Buffer.from(value, "hex") : undefined;
}
