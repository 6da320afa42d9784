/**
 * The scenarios, in the order they run. Each starts what it needs (a fresh Herald per scenario, so that caches and
 * memory start from nothing) and returns its rows. Herald's good answer is `{"rejected": []}`, the bare server's
 * `{"rejected":[]}`.
 */
import { join } from "node:path";
import {
  APP_ID,
  FCM_APP_ID,
  HANGING_APP_ID,
  HMS_APP_ID,
  notificationBody,
  randomFcmTokens,
  randomHmsTokens,
  randomPushkeys,
  WEBPUSH_APP_ID,
  type BodyFactory,
} from "./bodies.js";
import {
  abuseConfig,
  fcmAppConfig,
  hmsAppConfig,
  ISOLATION,
  oneAppConfig,
  twoAppConfig,
  webPushAppConfig,
  type HeraldConfig,
} from "./heraldConfig.js";
import type { AttackStats } from "./attackerProcess.js";
import { fleet } from "./fleet.js";
import { counterDeltas, GaugeSampler, scrape, type GaugeStats, type Samples } from "./heraldMetrics.js";
import { runLoad, type LoadResult } from "./load.js";
import { measure, type Measured } from "./measure.js";
import { sampleTree } from "./procStats.js";
import { NewConnectionProbe, type NewConnectionsResult } from "./newConnections.js";
import { OtlpCollector } from "../src/sandbox/otlpCollector.js";
import { AttackerProcess, freePort, HeraldStartError, startHerald, startRelayFloor, stop } from "./processes.js";
import type { Provider, SandboxInfo } from "./sandboxProcess.js";
import { leastSquaresSlope, round } from "./stats.js";
import type { BenchContext, Row, Scenario } from "./types.js";

const SOAK_RSS_INTERVAL_S = 5;
const HERALD_OK = '{"rejected": []}';
const BARE_OK = '{"rejected":[]}';

const RUN_ID = Date.now().toString(36);
const bodies = {
  one: notificationBody(APP_ID, randomPushkeys(1), RUN_ID),
  ten: notificationBody(APP_ID, randomPushkeys(10), RUN_ID),
  hanging: notificationBody(HANGING_APP_ID, randomPushkeys(1), RUN_ID),
  fcmOne: notificationBody(FCM_APP_ID, randomFcmTokens(1), RUN_ID),
  fcmTen: notificationBody(FCM_APP_ID, randomFcmTokens(10), RUN_ID),
  hmsOne: notificationBody(HMS_APP_ID, randomHmsTokens(1), RUN_ID),
};

/** One browser: the subscription the sandbox made at start (its p256dh key is the pushkey). */
function webPushBody(sandbox: SandboxInfo): BodyFactory {
  const { endpoint, p256dh, auth } = sandbox.webpush.subscription;
  return notificationBody(WEBPUSH_APP_ID, [p256dh], RUN_ID, { endpoint, auth });
}

/** The config of a one-app Herald on the first sandbox, by the provider the app pushes to. */
const ONE_APP_CONFIG: Record<Provider, (sandbox: SandboxInfo) => HeraldConfig> = {
  apns: (sandbox) => oneAppConfig(sandbox),
  fcm: fcmAppConfig,
  webpush: webPushAppConfig,
  hms: hmsAppConfig,
};

function row(id: string, name: string, measured: Measured, extra?: Record<string, unknown>): Row {
  return {
    id,
    name,
    target: "herald",
    available: true,
    connections: measured.load.connections,
    rate: measured.load.rate,
    load: measured.load,
    usage: measured.usage,
    sandboxPushes: measured.sandboxPushes,
    ...(extra ? { extra } : {}),
  };
}

/** A fresh Herald on `config` for the length of `body`, stopped afterwards whatever happens. */
async function withHerald<T>(
  ctx: BenchContext,
  id: string,
  config: HeraldConfig,
  body: (herald: { url: string; pid: number }) => Promise<T>,
): Promise<T> {
  const herald = await startHerald(config, join(ctx.dir, `${id}.yaml`), ctx.settings.heraldNodeArgs);
  try {
    return await body(herald);
  } finally {
    await stop(herald.child);
  }
}

/**
 * Scenario 2-style run: closed loop against Herald with one app on the first sandbox, an APNs app or (with
 * `provider`) an FCM, WebPush or HMS one.
 */
async function heraldClosedLoop(
  ctx: BenchContext,
  id: string,
  name: string,
  options: {
    body: BodyFactory;
    /** The provider the app pushes to and whose pushes the sandbox counts; default "apns". */
    provider?: Provider;
    connections?: number;
    latencyMs?: number;
    config?: HeraldConfig;
    durationS?: number;
    /** Default: the settings' warm-up. */
    warmupS?: number;
    /** Keep an RSS sample every this many ms (the soak). */
    rssSeriesIntervalMs?: number;
  },
): Promise<Row> {
  const { settings, sandbox } = ctx;
  const provider = options.provider ?? "apns";
  await sandbox.setFaults(0, options.latencyMs ? { latencyMs: options.latencyMs } : {}, provider);
  const first = sandbox.sandboxes[0]!;
  const config = options.config ?? ONE_APP_CONFIG[provider](first);
  return withHerald(ctx, id, config, async (herald) => {
    const idleRssMb = round(sampleTree(herald.pid).rssMb, 1);
    const measured = await measure(
      {
        serverPid: herald.pid,
        sandbox,
        provider,
        warmupS: options.warmupS ?? settings.warmupS,
        rssSeriesIntervalMs: options.rssSeriesIntervalMs,
      },
      {
        url: herald.url,
        body: options.body,
        expectedBody: HERALD_OK,
        connections: options.connections ?? settings.connections,
        durationS: options.durationS ?? settings.durationS,
      },
    );
    measured.usage.server.idleRssMb = idleRssMb;
    return row(id, name, measured);
  });
}

const ceiling: Scenario = {
  id: "ceiling",
  async run({ settings, bare }) {
    const measured = await measure(
      { serverPid: bare.pid, warmupS: settings.warmupS },
      {
        url: bare.url,
        body: bodies.one,
        expectedBody: BARE_OK,
        connections: settings.connections,
        durationS: settings.durationS,
      },
    );
    return [{ ...row("ceiling", "ceiling (bare node:http)", measured), target: "ceiling" }];
  },
};

/**
 * The floor of a push: Node's own HTTP/1.1 server and HTTP/2 client relaying each /notify to the sandbox APNs, and
 * nothing else (relayFloor.ts). Herald's CPU per push is read against this one as well as against the ceiling's.
 */
const floor: Scenario = {
  id: "floor",
  async run({ settings, sandbox }) {
    await sandbox.setFaults(0, {});
    const relay = await startRelayFloor(sandbox.sandboxes[0]!);
    const idleRssMb = round(sampleTree(relay.pid).rssMb, 1);
    const run = async (id: string, name: string, body: BodyFactory, connections: number): Promise<Row> => {
      const load = { url: relay.url, body, expectedBody: BARE_OK, connections, durationS: settings.durationS };
      const measured = await measure({ serverPid: relay.pid, sandbox, warmupS: settings.warmupS }, load);
      measured.usage.server.idleRssMb = idleRssMb;
      return { ...row(id, name, measured), target: "floor" };
    };
    try {
      return [
        await run("floor", "floor 1 device (node:http → http2)", bodies.one, settings.connections),
        await run("floor-10", "floor 10 devices", bodies.ten, settings.tenDeviceConnections),
      ];
    } finally {
      await stop(relay.child);
    }
  },
};

const apnsOne: Scenario = {
  id: "apns-1",
  run: async (ctx) => [await heraldClosedLoop(ctx, "apns-1", "apns 1 device, 0 ms", { body: bodies.one })],
};

const apnsTen: Scenario = {
  id: "apns-10",
  run: async (ctx) => [
    await heraldClosedLoop(ctx, "apns-10", "apns 10 devices, 0 ms", {
      body: bodies.ten,
      connections: ctx.settings.tenDeviceConnections,
    }),
  ],
};

const apnsLatency: Scenario = {
  id: "apns-1-latency",
  run: async (ctx) => [
    await heraldClosedLoop(ctx, "apns-1-latency", `apns 1 device, ${ctx.settings.latencyMs} ms`, {
      body: bodies.one,
      connections: ctx.settings.latencyConnections,
      latencyMs: ctx.settings.latencyMs,
    }),
  ],
};

const isolation: Scenario = {
  id: "isolation",
  async run(ctx) {
    const { settings, sandbox } = ctx;
    const [healthy, hanging] = sandbox.sandboxes;
    if (!healthy || !hanging) throw new Error("the isolation scenario needs two sandboxes");
    await sandbox.setFaults(0, {});
    await sandbox.setFaults(1, { hangRate: 1 });
    try {
      return await withHerald(ctx, "isolation", twoAppConfig(healthy, hanging), async (herald) => {
        // The load on the hanging app runs through the warm-up and the measured run.
        const hangingLoad = runLoad({
          url: herald.url,
          body: bodies.hanging,
          expectedBody: HERALD_OK,
          connections: settings.hangingConnections,
          rate: settings.hangingRate,
          durationS: settings.warmupS + settings.durationS + 1,
          timeoutS: 30,
        });
        const measured = await measure(
          { serverPid: herald.pid, sandbox, warmupS: settings.warmupS },
          {
            url: herald.url,
            body: bodies.one,
            expectedBody: HERALD_OK,
            connections: settings.connections,
            durationS: settings.durationS,
          },
        );
        const hangingResult = await hangingLoad;
        const reference = ctx.rows.find((r) => r.id === "apns-1" && r.available)?.load;
        const extra: Record<string, unknown> = {
          hangingApp: {
            rate: settings.hangingRate,
            connections: settings.hangingConnections,
            requestDeadlineS: ISOLATION.requestDeadlineS,
            inflightRequestLimit: ISOLATION.hangingInflightLimit,
            statuses: hangingResult.statuses,
            timeouts: hangingResult.timeouts,
            resets: hangingResult.resets,
            lateSends: hangingResult.lateSends,
          },
          ...(reference
            ? {
                reqPerSVsApns1: round(measured.load.reqPerS / reference.reqPerS, 3),
                p99VsApns1: round(measured.load.latencyMs.p99 / reference.latencyMs.p99, 3),
              }
            : {}),
        };
        return [row("isolation", "isolation (healthy app; other app hangs)", measured, extra)];
      });
    } finally {
      await sandbox.setFaults(1, {});
    }
  },
};

const openLoop: Scenario = {
  id: "open-loop",
  async run(ctx) {
    const { settings, sandbox, bare } = ctx;
    const reference = ctx.rows.find((r) => r.id === "apns-1" && r.available)?.load;
    if (!reference) return [skipped("open-loop", "open loop at half max", "needs the 'apns-1' scenario's req/s")];
    const rate = Math.max(1, Math.floor(reference.reqPerS / 2));
    ctx.log(`  open loop at ${rate} req/s (half of 'apns-1')`);
    const load = { body: bodies.one, connections: settings.connections, durationS: settings.durationS, rate };
    await sandbox.setFaults(0, {});
    const heraldRow = await withHerald(ctx, "open-loop", oneAppConfig(sandbox.sandboxes[0]!), async (herald) =>
      row(
        "open-loop",
        `open loop ${rate}/s: herald`,
        await measure(
          { serverPid: herald.pid, sandbox, warmupS: settings.warmupS },
          { ...load, url: herald.url, expectedBody: HERALD_OK },
        ),
      ),
    );
    const ceilingRow: Row = {
      ...row(
        "open-loop-ceiling",
        `open loop ${rate}/s: ceiling`,
        await measure(
          { serverPid: bare.pid, warmupS: settings.warmupS },
          { ...load, url: bare.url, expectedBody: BARE_OK },
        ),
      ),
      target: "ceiling",
    };
    // The floor at the same rate: how much of the added latency relaying over HTTP/2 to the sandbox costs by itself.
    const relay = await startRelayFloor(sandbox.sandboxes[0]!);
    let floorRow: Row;
    try {
      floorRow = {
        ...row(
          "open-loop-floor",
          `open loop ${rate}/s: floor`,
          await measure(
            { serverPid: relay.pid, sandbox, warmupS: settings.warmupS },
            { ...load, url: relay.url, expectedBody: BARE_OK },
          ),
        ),
        target: "floor",
      };
    } finally {
      await stop(relay.child);
    }
    const added = (r: Row, quantile: "p99" | "p999") =>
      round(r.load!.latencyMs[quantile] - ceilingRow.load!.latencyMs[quantile], 3);
    heraldRow.extra = {
      rate,
      addedP99Ms: added(heraldRow, "p99"),
      addedP999Ms: added(heraldRow, "p999"),
      floorAddedP99Ms: added(floorRow, "p99"),
      floorAddedP999Ms: added(floorRow, "p999"),
    };
    return [heraldRow, floorRow, ceilingRow];
  },
};

const workers: Scenario = {
  id: "workers-2",
  async run(ctx) {
    const name = "apns 1 device, http.workers: 2";
    try {
      return [
        await heraldClosedLoop(ctx, "workers-2", name, {
          body: bodies.one,
          config: oneAppConfig(ctx.sandbox.sandboxes[0]!, { workers: 2 }),
        }),
      ];
    } catch (error) {
      if (!(error instanceof HeraldStartError)) throw error;
      const reason = error.message.split("\n").find((line) => /workers/.test(line)) ?? error.message.split("\n")[0];
      return [skipped("workers-2", name, `not available: Herald refused the config (${reason?.trim()})`)];
    }
  },
};

const fcmOne: Scenario = {
  id: "fcm-1",
  run: async (ctx) => [
    await heraldClosedLoop(ctx, "fcm-1", "fcm 1 device, 0 ms", { body: bodies.fcmOne, provider: "fcm" }),
  ],
};

const fcmTen: Scenario = {
  id: "fcm-10",
  run: async (ctx) => [
    await heraldClosedLoop(ctx, "fcm-10", "fcm 10 devices, 0 ms", {
      body: bodies.fcmTen,
      provider: "fcm",
      connections: ctx.settings.tenDeviceConnections,
    }),
  ],
};

const webPushOne: Scenario = {
  id: "webpush-1",
  run: async (ctx) => [
    await heraldClosedLoop(ctx, "webpush-1", "webpush 1 device, 0 ms", {
      body: webPushBody(ctx.sandbox.sandboxes[0]!),
      provider: "webpush",
    }),
  ],
};

const hmsOne: Scenario = {
  id: "hms-1",
  run: async (ctx) => [
    await heraldClosedLoop(ctx, "hms-1", "hms 1 device, 0 ms", { body: bodies.hmsOne, provider: "hms" }),
  ],
};

const soak: Scenario = {
  id: "soak",
  async run(ctx) {
    const { settings } = ctx;
    const result = await heraldClosedLoop(ctx, "soak", `soak ${settings.soakS} s (apns 1 device)`, {
      body: bodies.one,
      durationS: settings.soakS,
      rssSeriesIntervalMs: SOAK_RSS_INTERVAL_S * 1000,
    });
    const samples = result.usage!.rssSamples ?? [];
    const slope = (fromS: number) =>
      round(leastSquaresSlope(samples.filter((s) => s.atS >= fromS).map((s) => ({ x: s.atS / 60, y: s.rssMb }))), 2);
    result.extra = {
      rssSampleIntervalS: SOAK_RSS_INTERVAL_S,
      rssStartMb: samples[0]?.rssMb,
      rssPeakMb: Math.max(...samples.map((s) => s.rssMb)),
      rssEndMb: samples.at(-1)?.rssMb,
      slopeFromS: settings.soakSkipS,
      rssSlopeMbPerMin: slope(settings.soakSkipS),
      /** The same over the second half only: whether memory has settled by then. */
      rssSlopeSecondHalfMbPerMin: slope(settings.soakS / 2),
    };
    return [result];
  },
};

/** The abuse scenario's attacker addresses: not the homeserver's 127.0.0.1, and not each other's. */
const SLOW_BODY_ADDRESS = "127.0.0.2";
const FLOOD_ADDRESS = "127.0.0.3";
/** The abuse scenario's homeserver also opens a new connection this often, for one /notify. */
const NEW_CONNECTION_EVERY_MS = 500;
const newConnectionBody = notificationBody(APP_ID, randomPushkeys(1), `${RUN_ID}-new`);

/** The abuse scenario's own figures, in the attacked row's `extra`. */
export interface AbuseFigures {
  reqPerSVsAlone: number;
  p99VsAlone: number;
  /** Homeserver requests without their good answer, the new connections' included. */
  homeserverErrors: number;
  homeserverErrorsAlone: number;
  newConnections: NewConnectionsResult;
  newConnectionsAlone: NewConnectionsResult;
  attack: {
    seconds: number;
    slowBodies: AttackStats["slow"] & { connections: number; from: string };
    pushFlood: AttackStats["flood"] & { connections: number; from: string; pushesDelivered: number | undefined };
  };
  /** From Herald's metrics: open connections sampled every second, and what the counters moved by. */
  herald: {
    connections: GaugeStats;
    slowBodies: Record<string, number>;
    loadShed: Record<string, number>;
    connectionsRefused: Record<string, number>;
    pushRelayPushes: Record<string, number>;
  };
}

/** Homeserver requests without their good answer: other statuses and bodies, timeouts, broken connections. */
function errorsOf(load: LoadResult): number {
  return load.responses - load.good + load.timeouts + load.resets + load.otherErrors;
}

/**
 * The homeserver's load of scenario 2 (one APNs device, closed loop, from 127.0.0.1) against a Herald that also
 * serves push-relay's /push: alone, then against a fresh Herald beside an attack from other loopback addresses
 * (`attackerProcess.ts`): thousands of connections stalling their bodies on /notify and /push, and a /push flood.
 * In both, the homeserver also opens a new connection every 0.5 s for one /notify. The attacked row carries its req/s
 * and p99 as ratios to the unattacked one, and what the attack got over the measured run, from the attacker's side
 * and from Herald's metrics.
 */
const abuse: Scenario = {
  id: "abuse",
  async run(ctx) {
    const { settings, sandbox } = ctx;
    const first = sandbox.sandboxes[0]!;
    await sandbox.setFaults(0, {});
    await sandbox.setFaults(0, {}, "fcm");

    /**
     * One measured run of the homeserver's load, with its new connections. The load connects first, then `attack`
     * (if any) starts, then the warm-up and the measured run: the homeserver's connections are open before the
     * attack, as those of a homeserver already sending are, and new ones are what the probe measures.
     */
    const homeserver = async (
      herald: { url: string; pid: number },
      id: string,
      name: string,
      attack?: {
        start(): Promise<void>;
        pid(): number | undefined;
        /** At the start and the end of the measured run. */
        measuring(): Promise<void>;
        measured(): Promise<Record<string, unknown>>;
      },
    ): Promise<Row> => {
      let probe: NewConnectionProbe | undefined;
      let extra: Record<string, unknown> = {};
      const measured = await measure(
        {
          serverPid: herald.pid,
          sandbox,
          warmupS: settings.warmupS,
          warmOnSameConnections: true,
          beforeWarmup: attack?.start,
          attackerPid: attack?.pid,
          window: {
            async start() {
              await attack?.measuring();
              probe = new NewConnectionProbe(herald.url, newConnectionBody, HERALD_OK, NEW_CONNECTION_EVERY_MS);
            },
            async end() {
              extra = (await attack?.measured()) ?? {};
              extra = { newConnections: await probe!.stop(), ...extra };
            },
          },
        },
        {
          url: herald.url,
          body: bodies.one,
          expectedBody: HERALD_OK,
          connections: settings.connections,
          durationS: settings.durationS,
        },
      );
      return row(id, name, measured, extra);
    };

    const alone = await withHerald(ctx, "abuse-alone", abuseConfig(first, await freePort()), (herald) =>
      homeserver(herald, "abuse-alone", "abuse: homeserver alone"),
    );

    /**
     * The homeserver's load beside the attack. With `apart`, Herald serves /push on a listener of its own
     * (`http.public_listener`), where the whole attack goes, and /notify alone on the homeserver's.
     */
    const underAttack = async (id: string, name: string, apart: boolean): Promise<Row> => {
      const metricsPort = await freePort();
      const metricsUrl = `http://127.0.0.1:${metricsPort}`;
      const publicPort = apart ? await freePort() : undefined;
      return withHerald(ctx, id, abuseConfig(first, metricsPort, publicPort), async (herald) => {
        const attackUrl = publicPort === undefined ? herald.url : `http://127.0.0.1:${publicPort}`;
        let attacker: AttackerProcess | undefined;
        let before: Samples | undefined;
        let connections: GaugeSampler | undefined;
        try {
          return await homeserver(herald, id, name, {
            async start() {
              ctx.log(
                `  attack: ${settings.abuseSlowConnections} stalled bodies from ${SLOW_BODY_ADDRESS}, ` +
                  `a /push flood on ${settings.abuseFloodConnections} connections from ${FLOOD_ADDRESS}`,
              );
              attacker = await AttackerProcess.start({
                url: attackUrl,
                slowConnections: settings.abuseSlowConnections,
                slowAddress: SLOW_BODY_ADDRESS,
                floodConnections: settings.abuseFloodConnections,
                floodAddress: FLOOD_ADDRESS,
              });
            },
            pid: () => attacker?.pid,
            async measuring() {
              await attacker!.zeroCounters();
              before = await scrape(metricsUrl);
              connections = new GaugeSampler(metricsUrl, "herald_http_connections", 1000);
            },
            async measured() {
              const attack = await attacker!.stats();
              const open = await connections!.stop();
              const after = await scrape(metricsUrl);
              const pushesDelivered = (await sandbox.stats())[0]?.fcm.received;
              return {
                attack: {
                  seconds: attack.seconds,
                  slowBodies: { connections: settings.abuseSlowConnections, from: SLOW_BODY_ADDRESS, ...attack.slow },
                  pushFlood: {
                    connections: settings.abuseFloodConnections,
                    from: FLOOD_ADDRESS,
                    ...attack.flood,
                    pushesDelivered,
                  },
                },
                herald: {
                  connections: open,
                  slowBodies: counterDeltas(before!, after, "herald_http_slow_bodies_total"),
                  loadShed: counterDeltas(before!, after, "herald_load_shed_total"),
                  connectionsRefused: counterDeltas(before!, after, "herald_http_connections_refused_total"),
                  pushRelayPushes: counterDeltas(before!, after, "herald_push_relay_pushes_total"),
                },
              };
            },
          });
        } finally {
          if (attacker) await stop(attacker.child);
        }
      });
    };
    const attacked = await underAttack("abuse", "abuse: homeserver beside an attack", false);
    const apart = await underAttack("abuse-apart", "abuse: the attack on public_listener", true);

    const base = alone.load!;
    const load = attacked.load!;
    const { newConnections, attack, herald } = attacked.extra as Pick<
      AbuseFigures,
      "newConnections" | "attack" | "herald"
    >;
    const newConnectionsAlone = alone.extra!.newConnections as NewConnectionsResult;
    const figures: AbuseFigures = {
      reqPerSVsAlone: round(load.reqPerS / base.reqPerS, 3),
      p99VsAlone: round(load.latencyMs.p99 / base.latencyMs.p99, 3),
      homeserverErrors: errorsOf(load) + newConnections.errors,
      homeserverErrorsAlone: errorsOf(base) + newConnectionsAlone.errors,
      newConnections,
      newConnectionsAlone,
      attack,
      herald,
    };
    attacked.extra = { ...figures };
    const apartNew = apart.extra!.newConnections as NewConnectionsResult;
    apart.extra = {
      ...apart.extra,
      reqPerSVsAlone: round(apart.load!.reqPerS / base.reqPerS, 3),
      p99VsAlone: round(apart.load!.latencyMs.p99 / base.latencyMs.p99, 3),
      homeserverErrors: errorsOf(apart.load!) + apartNew.errors,
    };
    return [alone, attacked, apart];
  },
};

/**
 * What tracing costs: the apns-1 run with tracing off, on with a sampling ratio of 0 (every span made but none
 * recorded: the requests carry no trace context), and on with 1 (every span recorded and exported by OTLP/HTTP JSON
 * to a local collector, in this process, that only counts them), then off again. Each row's req/s is also given as a
 * ratio to the mean of the two runs without tracing, which bracket the others: a drift of the machine during the
 * scenario weighs on both sides alike, and the two show the runs' own noise.
 */
const tracing: Scenario = {
  id: "tracing",
  async run(ctx) {
    const collector = await OtlpCollector.start({ decode: false });
    try {
      const variants: [id: string, name: string, ratio: number | undefined][] = [
        ["tracing-off", "apns 1 device, tracing off", undefined],
        ["tracing-ratio-0", "apns 1 device, tracing ratio 0", 0],
        ["tracing-ratio-1", "apns 1 device, tracing ratio 1", 1],
        ["tracing-off-again", "apns 1 device, tracing off (again)", undefined],
      ];
      const rows: Row[] = [];
      for (const [id, name, ratio] of variants) {
        const config = oneAppConfig(ctx.sandbox.sandboxes[0]!);
        const enabled = ratio === undefined ? {} : { enabled: true, sampling_ratio: ratio };
        config.metrics = { opentelemetry: { endpoint: collector.url, ...enabled } };
        const before = collector.spanCount;
        const result = await heraldClosedLoop(ctx, id, name, { body: bodies.one, config });
        // Herald's shutdown exports what it still holds: every span of the run has arrived by now.
        result.extra = { samplingRatio: ratio ?? null, spansExported: collector.spanCount - before };
        rows.push(result);
      }
      const off = (rows[0]!.load!.reqPerS + rows[3]!.load!.reqPerS) / 2;
      for (const r of rows) r.extra!.reqPerSVsOff = round(r.load!.reqPerS / off, 3);
      return rows;
    } finally {
      await collector.close();
    }
  },
};

function skipped(id: string, name: string, note: string): Row {
  return { id, name, target: "herald", available: false, note };
}

export const SCENARIOS: Scenario[] = [
  ceiling,
  floor,
  apnsOne,
  apnsTen,
  apnsLatency,
  isolation,
  openLoop,
  workers,
  fleet,
  fcmOne,
  fcmTen,
  webPushOne,
  hmsOne,
  abuse,
  tracing,
  soak,
];

/** Adds each row's req/s as a ratio to the ceiling's (closed loop) or to the same-rate ceiling run (open loop). */
export function addRatios(rows: Row[]): void {
  const closed = rows.find((r) => r.id === "ceiling")?.load?.reqPerS;
  const open = rows.find((r) => r.id === "open-loop-ceiling")?.load?.reqPerS;
  for (const r of rows) {
    if (!r.load) continue;
    const base = r.rate ? open : closed;
    if (base) r.ratioToCeiling = round(r.load.reqPerS / base, 3);
  }
}
