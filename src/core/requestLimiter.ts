/**
 * A pushkin's `max_connections`: at most that many requests open at its provider, the others waiting in turn, with
 * Sygnal's queue, pending, active, request-time and status-code metrics around each request (FCM and WebPush).
 */
import type { Counter, Gauge, Histogram } from "prom-client";
import { Semaphore } from "./semaphore.js";

export interface RequestMetrics {
  queueTime: Histogram;
  pendingRequests: Gauge;
  activeRequests: Gauge;
  requestTime: Histogram;
  statusCodes: Counter<"pushkin" | "code">;
}

export class RequestLimiter {
  private readonly connections: Semaphore;

  constructor(
    maxConnections: number,
    private readonly pushkin: string,
    private readonly metrics: RequestMetrics,
  ) {
    this.connections = new Semaphore(maxConnections);
  }

  async run<T extends { status: number }>(signal: AbortSignal, send: () => Promise<T>): Promise<T> {
    const { queueTime, pendingRequests, activeRequests, requestTime, statusCodes } = this.metrics;
    const stopQueueTimer = queueTime.startTimer();
    pendingRequests.inc();
    try {
      await this.connections.acquire(signal);
    } finally {
      pendingRequests.dec();
      stopQueueTimer();
    }
    activeRequests.inc();
    const stopRequestTimer = requestTime.startTimer();
    try {
      const answer = await send();
      statusCodes.labels(this.pushkin, String(answer.status)).inc();
      return answer;
    } finally {
      stopRequestTimer();
      activeRequests.dec();
      this.connections.release();
    }
  }
}
