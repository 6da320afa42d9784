/** A flood from one client, as the rate-limit tests send it, and what it was answered. */

/** Sends `count` requests one after another, each answered before the next is sent, and returns the answers in order. */
export async function flood<T>(count: number, send: () => Promise<T>): Promise<T[]> {
  const answers: T[] = [];
  for (let i = 0; i < count; i++) answers.push(await send());
  return answers;
}

/** How many answers had each status, e.g. `{ 204: 5, 429: 35 }`. */
export function statuses(answers: readonly { status: number }[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const { status } of answers) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}
