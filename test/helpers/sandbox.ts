/**
 * One provider sandbox (src/sandbox) for a whole test file: started when the file is loaded, closed after its last
 * test, and after each test what its providers received (and their scripts and faults) forgotten, so that a test sees
 * only its own pushes. Called at the top of the file, with `await`.
 */
import { after, afterEach } from "node:test";
import { startSandbox, type Sandbox } from "../../src/sandbox/index.js";

export async function sandboxForFile(): Promise<Sandbox> {
  const sandbox = await startSandbox();
  after(() => sandbox.close());
  afterEach(() => {
    for (const provider of [sandbox.apns, sandbox.fcm, sandbox.oauth, sandbox.webpush, sandbox.hms, sandbox.threema])
      provider.reset();
  });
  return sandbox;
}
