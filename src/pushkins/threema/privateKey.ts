/**
 * The Threema Gateway private key file, in push-relay's format: `private:` and the 32-byte key as 64 hex characters
 * (of either case), with nothing after it but an optional newline. It is the key whose public half was registered
 * with the gateway ID; Threema never sees it.
 */
import { readCredentialFile } from "../credentialFile.js";
import { CredentialFileError } from "../../core/pushkin.js";

const FILE_FORMAT = /^private:([0-9a-fA-F]{64})\n?$/;

/** The 32 key bytes; a missing file or any other content stops start-up, naming the file. */
export function readGatewayPrivateKey(path: string): Buffer {
  const text = readCredentialFile(path, "Threema Gateway private key file").toString("latin1");
  const hex = FILE_FORMAT.exec(text)?.[1];
  if (hex === undefined) {
    throw new CredentialFileError(
      `The Threema Gateway private key file '${path}' must hold 'private:' followed by the key as 64 hex characters ` +
        "(and at most a newline after it).",
    );
  }
  return Buffer.from(hex, "hex");
}
