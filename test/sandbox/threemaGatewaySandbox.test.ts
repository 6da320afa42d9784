/**
 * The Threema Gateway sandbox answers like msgapi.threema.ch over real TLS: accounts, credits and recipients, each
 * check of a /send_e2e form in Threema's order, the phone's decryption of every box, scripts, faults and shutdown.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, before, beforeEach, describe, test } from "node:test";
import nacl from "tweetnacl";
import { createSandboxCa, type SandboxCa } from "../../src/sandbox/ca.js";
import {
  ThreemaGatewaySandbox,
  type ReceivedThreemaMessage,
  type ThreemaGatewayAccount,
  type ThreemaSandboxRecipient,
} from "../../src/sandbox/threemaGateway.js";
import { httpsPost, type HttpsResponse } from "./fcmClient.js";
import { waitFor, within } from "../helpers/waitFor.js";

const PUSH = Buffer.concat([Buffer.of(0xfe), Buffer.from('{"room_id":"!r:example.org","unread":"2"}'), Buffer.of(1)]);

let ca: SandboxCa;
let gateway: ThreemaGatewaySandbox;
let account: ThreemaGatewayAccount;
let phone: ThreemaSandboxRecipient;

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const publicKeyOf = (recipient: ThreemaSandboxRecipient) => Buffer.from(recipient.publicKeyHex, "hex");

/** A form as push-relay sends it: `plaintext` sealed from the account (or `senderSecretKey`) to the recipient. */
function form(
  options: { plaintext?: Uint8Array; to?: ThreemaSandboxRecipient; senderSecretKey?: Uint8Array } = {},
): Record<string, string> {
  const to = options.to ?? phone;
  const nonce = nacl.randomBytes(24);
  const box = nacl.box(options.plaintext ?? PUSH, nonce, publicKeyOf(to), options.senderSecretKey ?? account.secretKey);
  return {
    from: account.identity,
    to: to.identity,
    nonce: hex(nonce),
    box: hex(box),
    secret: account.secret,
    noPush: "1",
    noDeliveryReceipts: "1",
  };
}

function post(
  fields: Record<string, string>,
  options: { contentType?: string; url?: string; method?: string } = {},
): Promise<HttpsResponse> {
  return httpsPost(options.url ?? `${gateway.url}/send_e2e`, ca.certPem, {
    method: options.method,
    headers: {
      "content-type": options.contentType ?? "application/x-www-form-urlencoded",
      accept: "application/json",
    },
    body: new URLSearchParams(fields).toString(),
  });
}

async function expectStatus(response: Promise<HttpsResponse>, status: number, name?: string): Promise<HttpsResponse> {
  const answer = await response;
  assert.equal(answer.status, status, `${name ?? ""}: ${answer.body}`);
  return answer;
}

before(async () => {
  ca = await createSandboxCa();
  gateway = await ThreemaGatewaySandbox.start({ ca });
  account = gateway.createAccount();
  phone = gateway.createRecipient();
});

after(async () => {
  await gateway.close();
});

beforeEach(() => {
  gateway.reset();
  gateway.setCredits(account.identity, 100);
});

describe("Threema Gateway sandbox accounts and recipients", () => {
  test("an account is a gateway ID, a secret, a key pair and push-relay's private key file text", () => {
    assert.match(account.identity, /^\*[0-9A-Z]{7}$/);
    assert.match(account.secret, /^\S{16}$/);
    assert.deepEqual(nacl.box.keyPair.fromSecretKey(account.secretKey).publicKey, account.publicKey);
    assert.equal(account.privateKeyFile, `private:${hex(account.secretKey)}\n`);
    assert.equal(gateway.createAccount({ identity: "*3MAPUSH", credits: 5 }).identity, "*3MAPUSH");
    assert.equal(gateway.credits("*3MAPUSH"), 5);
    assert.equal(gateway.createAccount().secret === account.secret, false);
  });

  test("a recipient is a Threema ID and a key pair", () => {
    assert.match(phone.identity, /^[0-9A-Z]{8}$/);
    assert.equal(phone.publicKeyHex, hex(nacl.box.keyPair.fromSecretKey(phone.secretKey).publicKey));
    assert.equal(gateway.createRecipient("ECHOECHO").identity, "ECHOECHO");
  });
});

describe("Threema Gateway sandbox /send_e2e", () => {
  test("a good message: 200 with a 16-hex-char message id; decrypted, recorded, emitted; one credit spent", async () => {
    const pushed = once(gateway, "push") as Promise<[ReceivedThreemaMessage]>;
    const sent = form();
    const answer = await expectStatus(post(sent), 200);
    assert.match(answer.body, /^[0-9a-f]{16}$/);
    assert.match(String(answer.headers["content-type"]), /^text\/plain/);
    const [event] = await pushed;
    const received = gateway.received[0];
    assert.equal(event, received);
    assert.ok(received);
    const { secret: _secret, ...fields } = sent;
    assert.deepEqual(
      { ...received, headers: undefined, receivedAt: undefined },
      {
        from: account.identity,
        to: phone.identity,
        messageId: answer.body,
        type: 0xfe,
        json: { room_id: "!r:example.org", unread: "2" },
        padding: Buffer.of(1),
        plaintext: PUSH,
        fields,
        headers: undefined,
        receivedAt: undefined,
      },
    );
    assert.equal(received.headers.accept, "application/json");
    assert.equal(gateway.credits(account.identity), 99);
    assert.equal(gateway.requests, 1);
  });

  test("longer PKCS#7 padding is read as padding", async () => {
    const plaintext = Buffer.concat([Buffer.of(0x01), Buffer.from("hi"), Buffer.of(3, 3, 3)]);
    await expectStatus(post(form({ plaintext })), 200);
    const received = gateway.received[0];
    assert.deepEqual([received?.type, received?.json, received?.padding], [0x01, undefined, Buffer.of(3, 3, 3)]);
  });

  test("a wrong secret or an unknown gateway ID: 401", async () => {
    await expectStatus(post({ ...form(), secret: "0123456789abcdef" }), 401);
    await expectStatus(post({ ...form(), from: "*NOSUCH1" }), 401);
    assert.equal(gateway.received.length, 0);
    assert.equal(gateway.credits(account.identity), 100);
  });

  test("no credits left: 402, after the secret is checked", async () => {
    gateway.setCredits(account.identity, 0);
    await expectStatus(post(form()), 402);
    await expectStatus(post({ ...form(), secret: "wrong" }), 401);
    await expectStatus(post({ ...form(), to: "NOSUCHID" }), 402);
    assert.equal(gateway.received.length, 0);
  });

  test("credits run out: the last message passes, the next gets 402", async () => {
    gateway.setCredits(account.identity, 1);
    await expectStatus(post(form()), 200);
    await expectStatus(post(form()), 402);
    assert.equal(gateway.credits(account.identity), 0);
  });

  test("a recipient Threema does not know: 400", async () => {
    await expectStatus(post({ ...form(), to: "NOSUCHID" }), 400);
    assert.equal(gateway.undecryptable, 0);
  });

  test("a missing field, or a body that is not a form: 400", async () => {
    for (const field of ["from", "to", "nonce", "box", "secret"]) {
      const fields = form();
      delete fields[field];
      await expectStatus(post(fields), 400, `without ${field}`);
      await expectStatus(post({ ...form(), [field]: "" }), 400, `empty ${field}`);
    }
    await expectStatus(post(form(), { contentType: "application/json" }), 400, "JSON");
    await expectStatus(post(form(), { contentType: "text/plain" }), 400, "text");
    assert.equal(gateway.received.length, 0);
  });

  test("a nonce that is not 24 bytes of hex, or a box that is not hex: 400", async () => {
    const cases: [string, Record<string, string>][] = [
      ["23-byte nonce", { nonce: "00".repeat(23) }],
      ["25-byte nonce", { nonce: "00".repeat(25) }],
      ["nonce not hex", { nonce: "zz".repeat(24) }],
      ["box of odd length", { box: "abc" }],
      ["box not hex", { box: "zz" }],
    ];
    for (const [name, change] of cases) await expectStatus(post({ ...form(), ...change }), 400, name);
    assert.equal(gateway.undecryptable, 0);
  });

  test("a box over 7812 bytes: 413", async () => {
    const fits = Buffer.alloc(7812 - nacl.box.overheadLength, 0x20);
    fits[0] = 0xfe;
    fits[fits.length - 1] = 1;
    await expectStatus(post(form({ plaintext: fits })), 200);
    await expectStatus(post(form({ plaintext: Buffer.concat([fits, Buffer.of(1)]) })), 413);
  });

  test("a box the phone cannot open: 400, counted", async () => {
    const other = gateway.createRecipient();
    const forOther = { ...form({ to: other }), to: phone.identity };
    await expectStatus(post(forOther), 400, "sealed for another key");
    await expectStatus(post(form({ senderSecretKey: nacl.box.keyPair().secretKey })), 400, "by another sender");
    const tampered = form();
    const box = Buffer.from(tampered.box!, "hex");
    box[0] = box[0]! ^ 1;
    tampered.box = hex(box);
    await expectStatus(post(tampered), 400, "tampered");
    assert.equal(gateway.undecryptable, 3);
    assert.equal(gateway.received.length, 0);
    assert.equal(gateway.credits(account.identity), 100);
  });

  test("a plaintext without valid padding: 400, counted", async () => {
    const cases = [Buffer.of(0xfe, 0x7b, 0x7d, 0), Buffer.of(0xfe, 0x7b, 2), Buffer.of(0xfe, 5), Buffer.of(0xfe)];
    for (const plaintext of cases) await expectStatus(post(form({ plaintext })), 400, hex(plaintext));
    assert.equal(gateway.undecryptable, cases.length);
  });

  test("other paths: 404; other methods: 405; a huge body: 413", async () => {
    await expectStatus(post(form(), { url: `${gateway.url}/send_simple` }), 404);
    await expectStatus(post(form(), { method: "PUT" }), 405);
    await expectStatus(post({ ...form(), filler: "x".repeat(40_000) }), 413);
    assert.equal(gateway.received.length, 0);
  });
});

describe("Threema Gateway sandbox scripts", () => {
  test("are used in order, the last one repeating; a non-200 delivers nothing and costs nothing", async () => {
    gateway.script(phone.identity, { status: 500 }, {}, { status: 429, retryAfter: 3 });
    await expectStatus(post(form()), 500);
    await expectStatus(post(form()), 200);
    for (let i = 0; i < 2; i++) {
      const busy = await expectStatus(post(form()), 429);
      assert.equal(busy.headers["retry-after"], "3");
    }
    assert.equal(gateway.received.length, 1);
    assert.equal(gateway.nonces.length, 4, "every box that decrypted, whatever its answer");
    assert.equal(gateway.credits(account.identity), 99);
    const other = gateway.createRecipient();
    await expectStatus(post(form({ to: other })), 200);
  });

  test("checks and decryption run before a scripted answer", async () => {
    gateway.script(phone.identity, { status: 400 });
    await expectStatus(post({ ...form(), secret: "wrong" }), 401);
    await expectStatus(post(form({ senderSecretKey: nacl.box.keyPair().secretKey })), 400);
    assert.equal(gateway.undecryptable, 1);
    await expectStatus(post(form()), 400);
    assert.equal(gateway.undecryptable, 1);
  });

  test("a delayed answer does not hold up others; reset destroys the connection", async () => {
    const other = gateway.createRecipient();
    gateway.script(phone.identity, { delayMs: 150 });
    const order: string[] = [];
    const slow = post(form()).then(() => order.push("slow"));
    const fast = post(form({ to: other })).then(() => order.push("fast"));
    await Promise.all([slow, fast]);
    assert.deepEqual(order, ["fast", "slow"]);
    gateway.script(phone.identity, { reset: true });
    await assert.rejects(post(form()), /socket hang up|ECONNRESET/);
  });

  test("clearScripts() and reset() forget scripts; reset() also records, counters and faults", async () => {
    gateway.script(phone.identity, { status: 400 });
    gateway.clearScripts();
    await expectStatus(post(form()), 200);
    gateway.script(phone.identity, { status: 400 });
    gateway.faults = { errorRate: 1 };
    await expectStatus(post(form({ senderSecretKey: nacl.box.keyPair().secretKey })), 400);
    gateway.reset();
    assert.deepEqual(
      [gateway.received.length, gateway.nonces.length, gateway.requests, gateway.undecryptable, gateway.faults],
      [0, 0, 0, 0, {}],
    );
    await expectStatus(post(form()), 200);
  });
});

describe("Threema Gateway sandbox faults and shutdown", () => {
  test("errorRate 1: 500; resetRate 1: the connection is destroyed; latency delays", async () => {
    gateway.faults = { errorRate: 1, latencyMs: [1, 5] };
    await expectStatus(post(form()), 500);
    gateway.faults = { resetRate: 1 };
    await assert.rejects(post(form()), /socket hang up|ECONNRESET/);
    gateway.faults = { latencyMs: 60 };
    const started = Date.now();
    await expectStatus(post(form()), 200);
    assert.ok(Date.now() - started >= 55);
    assert.equal(gateway.received.length, 1);
  });

  test("close() finishes while requests hang (scripted and by fault)", async () => {
    const doomed = await ThreemaGatewaySandbox.start({ ca });
    const doomedAccount = doomed.createAccount();
    const [first, second] = [doomed.createRecipient(), doomed.createRecipient()];
    doomed.script(first.identity, { hang: true });
    doomed.faults = { hangRate: 1 };
    const hang = (to: ThreemaSandboxRecipient) => {
      const nonce = nacl.randomBytes(24);
      const box = nacl.box(PUSH, nonce, publicKeyOf(to), doomedAccount.secretKey);
      return httpsPost(`${doomed.url}/send_e2e`, ca.certPem, {
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          from: doomedAccount.identity,
          to: to.identity,
          nonce: hex(nonce),
          box: hex(box),
          secret: doomedAccount.secret,
        }).toString(),
      });
    };
    // Both are expected to fail when the sandbox closes; the expectations are attached before that happens.
    const hung = [assert.rejects(hang(first)), assert.rejects(hang(second))];
    await waitFor("the hung requests at the sandbox", () => doomed.requests >= 2);
    await within("close() with requests hanging", doomed.close());
    await Promise.all(hung);
    assert.equal(doomed.received.length, 0);
  });
});
