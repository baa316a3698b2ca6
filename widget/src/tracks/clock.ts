// Server clock estimate from the signaling ping/pong (docs/CALL.md "The clock"): keep the sample
// with the smallest round trip; its error bound is half that round trip.

export interface ClockEstimate {
  offsetMs: number; // server time = Date.now() + offsetMs
  errorMs: number; // ± bound
}

export class ClockSync {
  private best: ClockEstimate | null = null;

  /** Feed one pong: t0 is the ping's Date.now(), t1 when the pong arrived. */
  addSample(t0: number, serverTimeMs: number, t1: number = Date.now()): ClockEstimate | null {
    const rtt = t1 - t0;
    if (rtt < 0) return this.best;
    const sample = { offsetMs: serverTimeMs - (t0 + rtt / 2), errorMs: Math.ceil(rtt / 2) };
    if (this.best === null || sample.errorMs < this.best.errorMs) this.best = sample;
    return this.best;
  }

  get estimate(): ClockEstimate | null {
    return this.best;
  }

  /** Now on the server's clock (falls back to the local clock before any sample, error unknown). */
  serverNow(): { atMs: number; errorMs: number } {
    const b = this.best;
    return b ? { atMs: Math.round(Date.now() + b.offsetMs), errorMs: b.errorMs } : { atMs: Date.now(), errorMs: 60_000 };
  }
}
