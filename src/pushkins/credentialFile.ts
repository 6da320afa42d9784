/** Reads a pushkin's key, certificate or account file at start-up; a missing or unreadable one is named with its path. */
import { readFileSync } from "node:fs";
import { CredentialFileError } from "../core/pushkin.js";

/** `what` names the file for the operator, e.g. "APNs key file". */
export function readCredentialFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : String(error);
    throw new CredentialFileError(`The ${what} '${path}' ${reason}.`);
  }
}
