// One participant's track, uploaded while it is recorded (docs/CALL.md "Tracks"). No React: the
// call widget creates a TrackUploader when MediaRecorder starts and calls finish() on End session.
//
// Each MediaRecorder chunk (one timeslice, <= 10 s) is part n of the track: kept in a ChunkStore,
// granted a presigned PUT (its exact size is signed), PUT with the given headers, removed from the
// store once S3 has it. Failures are retried with exponential backoff and jitter; a 412 means S3
// already has that part (a retry whose first PUT arrived) and counts as stored. After a reload,
// resumePending() sends the kept chunks of earlier tracks that S3 does not have, then completes them.

import type { ChunkStore } from "./store";

export interface TrackOptions {
  apiUrl: string; // e.g. https://api.example.com (no trailing slash)
  sessionId: string;
  token: string; // this participant's join token
  kind: "audio" | "video";
  contentType: string; // MediaRecorder.mimeType
  timesliceMs: number; // 1000..10000
  store: ChunkStore;
  fetchImpl?: typeof fetch;
  maxBackoffMs?: number;
  onError?: (error: Error) => void;
}

interface PartGrant {
  part_number: number;
  url: string;
  headers: Record<string, string>;
}

export class HttpError extends Error {
  constructor(readonly status: number, readonly body: string) {
    super(`HTTP ${status}: ${body.slice(0, 200)}`);
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Exponential backoff with full jitter: attempt 0 → up to 1 s, then 2 s, 4 s … capped. */
export function backoffMs(attempt: number, capMs = 30_000): number {
  return Math.random() * Math.min(capMs, 1000 * 2 ** attempt);
}

function retryable(error: unknown): boolean {
  // Network failures (TypeError from fetch) and server-side faults; 4xx answers are final.
  return !(error instanceof HttpError) || error.status >= 500 || error.status === 429;
}

export class TrackApi {
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly opts: Pick<TrackOptions, "apiUrl" | "sessionId" | "token" | "fetchImpl">) {
    this.fetchImpl = opts.fetchImpl ?? fetch.bind(globalThis);
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const init: RequestInit = {
      method,
      headers: { Authorization: `Bearer ${this.opts.token}`, "Content-Type": "application/json" },
    };
    if (body !== undefined) init.body = JSON.stringify(body);
    const response = await this.fetchImpl(`${this.opts.apiUrl}/v1/sessions/${this.opts.sessionId}/tracks${path}`, init);
    if (!response.ok) throw new HttpError(response.status, await response.text());
    return (await response.json()) as T;
  }

  async storedParts(trackId: string): Promise<Set<number>> {
    const listed = await this.call<{ parts: Array<{ part_number: number }> }>("GET", `/${trackId}/parts`);
    return new Set(listed.parts.map((p) => p.part_number));
  }

  /** Grant and PUT one part; resolves once S3 has it (stored now, or already: 412). */
  async putPart(trackId: string, part: number, blob: Blob): Promise<void> {
    const granted = await this.call<{ parts: PartGrant[] }>("POST", `/${trackId}/parts`, {
      parts: [{ part_number: part, size_bytes: blob.size }],
    });
    const grant = granted.parts[0];
    if (!grant) throw new Error(`no grant for part ${part}`);
    const sent = await this.fetchImpl(grant.url, { method: "PUT", headers: grant.headers, body: blob });
    if (!sent.ok && sent.status !== 412) throw new HttpError(sent.status, await sent.text());
  }

  async complete(trackId: string, partCount: number): Promise<void> {
    try {
      await this.call("POST", `/${trackId}/complete`, { part_count: partCount });
    } catch (error) {
      // Completed before with this count is answered 200; 409 means another count: keep the first.
      if (!(error instanceof HttpError && error.status === 409)) throw error;
    }
  }
}

export class TrackUploader {
  readonly api: TrackApi;
  private trackId: string | null = null;
  private nextPart = 1;
  private readonly queue: Array<{ part: number; blob: Blob }> = [];
  private draining: Promise<void> | null = null;

  constructor(private readonly opts: TrackOptions) {
    this.api = new TrackApi(opts);
  }

  get id(): string | null {
    return this.trackId;
  }

  /** Open the track (call from recorder.onstart with the server-clock start). */
  async open(startedAtServerMs: number, clockErrorMs: number): Promise<string> {
    const track = await this.withRetry(() =>
      this.api.call<{ track_id: string }>("POST", "", {
        kind: this.opts.kind,
        content_type: this.opts.contentType,
        timeslice_ms: this.opts.timesliceMs,
        started_at_server_ms: startedAtServerMs,
        clock_error_ms: clockErrorMs,
      }),
    );
    this.trackId = track.track_id;
    this.drain();
    return track.track_id;
  }

  /** Hand over one dataavailable chunk; it is kept until S3 has it. */
  async push(blob: Blob): Promise<void> {
    if (blob.size === 0) return;
    const part = this.nextPart++;
    this.queue.push({ part, blob });
    if (this.trackId) await this.opts.store.put(this.trackId, part, blob);
    this.drain();
  }

  /** After recorder.stop() delivered the last chunk: send what is left, then complete. */
  async finish(): Promise<void> {
    this.drain();
    while (this.draining) await this.draining;
    if (this.trackId) await this.withRetry(() => this.api.complete(this.trackId as string, this.nextPart - 1));
  }

  /** After a reload: send kept chunks of earlier tracks that S3 lacks, then complete those tracks. */
  static async resumePending(opts: TrackOptions, current: string | null = null): Promise<number> {
    const api = new TrackApi(opts);
    let sent = 0;
    for (const trackId of await opts.store.tracks()) {
      if (trackId === current) continue;
      const stored = await api.storedParts(trackId);
      const kept = await opts.store.list(trackId);
      for (const { part, blob } of kept) {
        if (!stored.has(part)) {
          await api.putPart(trackId, part, blob);
          sent += 1;
        }
        await opts.store.remove(trackId, part);
      }
      const highest = Math.max(0, ...stored, ...kept.map((k) => k.part));
      await api.complete(trackId, highest);
    }
    return sent;
  }

  private drain(): void {
    if (this.draining || !this.trackId) return;
    this.draining = (async () => {
      const trackId = this.trackId as string;
      while (this.queue.length > 0) {
        const next = this.queue[0];
        if (!next) break;
        await this.opts.store.put(trackId, next.part, next.blob);
        await this.withRetry(() => this.api.putPart(trackId, next.part, next.blob));
        await this.opts.store.remove(trackId, next.part);
        this.queue.shift();
      }
    })().finally(() => {
      this.draining = null;
      if (this.queue.length > 0) this.drain();
    });
  }

  private async withRetry<T>(action: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await action();
      } catch (error) {
        if (!retryable(error)) {
          this.opts.onError?.(error as Error);
          throw error;
        }
        await sleep(backoffMs(attempt, this.opts.maxBackoffMs));
      }
    }
  }
}
