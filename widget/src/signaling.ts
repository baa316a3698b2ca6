// The signaling protocol's frames (docs/CALL.md is the contract; change it there first).

import type { Role } from "./api";

/** What the page relays to the other participant through `{"action": "signal"}`. */
export type SignalData =
  | { description: RTCSessionDescriptionInit }
  | { candidate: RTCIceCandidateInit | null };

/** Page → server; `action` is API Gateway's route key. */
export type ClientFrame =
  | { action: "join" }
  | { action: "signal"; data: SignalData }
  | { action: "ping"; id: number; t0: number }
  | { action: "leave" };

export interface PeerInfo {
  role: Role;
  name?: string;
  connected?: boolean;
}

/** Server → page. */
export type ServerFrame =
  | { type: "joined"; role: Role; polite: boolean; peer: PeerInfo; server_time_ms: number }
  | { type: "peer-joined"; peer: PeerInfo }
  | { type: "peer-left"; peer: PeerInfo; reason: "left" | "disconnected" }
  | { type: "signal"; from: Role; data: SignalData }
  | { type: "pong"; id: number; t0: number; server_time_ms: number }
  | { type: "replaced" }
  | { type: "session-ended" }
  | { type: "error"; code: string; reason: string };

const TYPES = new Set(["joined", "peer-joined", "peer-left", "signal", "pong", "replaced", "session-ended", "error"]);

/** Parse a server frame; `null` for anything that is not one (never throws). */
export function parseFrame(text: unknown): ServerFrame | null {
  if (typeof text !== "string") return null;
  try {
    const frame: unknown = JSON.parse(text);
    if (typeof frame !== "object" || frame === null) return null;
    const type = (frame as { type?: unknown }).type;
    return typeof type === "string" && TYPES.has(type) ? (frame as ServerFrame) : null;
  } catch {
    return null;
  }
}

/** The server clock as measured over the socket (the sample with the smallest round trip). */
export interface ClockSample {
  /** server time − local time, in ms */
  offsetMs: number;
  /** ± this many ms (half the round trip) */
  errorMs: number;
}

/** Fold a pong into the best clock sample so far (docs/CALL.md: keep the smallest round trip). */
export function clockSample(
  best: ClockSample | null,
  pong: { t0: number; server_time_ms: number },
  now: number,
): ClockSample {
  const rtt = Math.max(0, now - pong.t0);
  const sample = { offsetMs: pong.server_time_ms - (pong.t0 + rtt / 2), errorMs: rtt / 2 };
  return best && best.errorMs <= sample.errorMs ? best : sample;
}
