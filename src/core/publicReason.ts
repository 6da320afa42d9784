/**
 * What a 502 may tell the homeserver about a failed push: the kind of failure and the provider's own word for it, never
 * where it happened. Error messages name hosts, addresses, ports, file paths and provider bodies, which help an
 * operator reading the log and help nobody else: a user who chose a WebPush endpoint could otherwise read back
 * `connect EHOSTUNREACH ::7f00:1:5700` and probe the network behind Herald. The log keeps every detail; the answer
 * carries the request id that finds them.
 */
import type { ProviderAnswer } from "./pushkin.js";

interface FailureLike extends Error {
  publicReason?: unknown;
  answer?: ProviderAnswer;
  fix?: unknown;
}

export function publicReasonOf(error: Error): string {
  const failure = error as FailureLike;
  if (typeof failure.publicReason === "string") return failure.publicReason;
  const answer = failure.answer;
  const answered = answer && `the provider answered ${answer.status}${answer.reason ? ` ${answer.reason}` : ""}`;
  if (typeof failure.fix === "string") {
    return `the app's credentials were refused or cannot be used${answered ? ` (${answered})` : ""}; the gateway's log says how to fix them`;
  }
  if (failure.name === "TemporaryFailure") return answered ?? "the provider could not be reached, or did not answer";
  return answered ?? "the push could not be sent; the gateway's log says why";
}
