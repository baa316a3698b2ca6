// The AgentFlow HTTP API as the widget uses it, authenticated with the participant's join token.

export type Role = "host" | "client";

export type RecordingStatus =
  | "PENDING_UPLOAD"
  | "UPLOADED"
  | "PROCESSING"
  | "SUMMARIZING"
  | "COMPLETED"
  | "FAILED";

export interface Participant {
  name: string;
}

export interface RecordingSummary {
  recording_id: string;
  status: RecordingStatus;
  failure_reason?: string | null;
}

export interface SessionView {
  session_id: string;
  status: "scheduled" | "ended" | "DELETED";
  host: Participant;
  client: Participant;
  auto_start_recording: boolean;
  recordings: RecordingSummary[];
  /** The signaling WebSocket's URL (docs/CALL.md); absent on a server without calls. */
  signaling_url?: string | null;
}

/** `GET /v1/sessions/{id}/ice-servers`: RTCIceServer dictionaries and how long their credentials last. */
export interface IceServersView {
  ice_servers: RTCIceServer[];
  ttl_seconds: number;
}

/** How many of an analysis stage's chunk jobs are done: a long recording is cut into parts (issue 19). */
export interface ChunkProgress {
  total: number;
  done: number;
}

/** One stage of `GET /v1/recordings/{id}`: `status` is QUEUED, RUNNING, RETRYING or DONE. */
export interface StageProgress {
  status: string;
  seconds?: number | null;
  attempts?: number;
  last_error?: string | null;
  /** Transcribe and diarize only (summarize works on the whole recording). */
  chunks?: ChunkProgress | null;
}

export interface RecordingView {
  recording_id: string;
  session_id: string;
  status: RecordingStatus;
  size_bytes?: number | null;
  duration_seconds?: number | null;
  channels?: number | null;
  per_channel?: boolean | null;
  stages: Record<string, StageProgress>;
  failure_reason?: string | null;
  failed_stage?: string | null;
}

export interface UploadGrant {
  recording_id: string;
  upload: { url: string; fields: Record<string, string>; method: "POST" };
  expires_at: string;
  max_bytes: number;
}

export interface SummaryView {
  pdf_url?: string | null;
  signature?: unknown;
  summary?: unknown;
}

/** A non-2xx answer from the API; `detail` is the API's `{"detail": ...}` reason. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(`${status}: ${detail}`);
    this.name = "ApiError";
  }
}

/** The claims the widget reads from its join token (for display only: the API verifies them). */
export interface TokenClaims {
  session_id?: string;
  role?: Role;
  exp?: number;
}

/** Decode a JWT's payload without verifying it; `{}` when it is not a JWT. */
export function readClaims(token: string): TokenClaims {
  const part = token.split(".")[1];
  if (!part) return {};
  try {
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
    const claims: unknown = JSON.parse(json);
    return typeof claims === "object" && claims !== null ? (claims as TokenClaims) : {};
  } catch {
    return {}; // a malformed token: the API's 401 is the message the user sees
  }
}

function detailOf(body: unknown, fallback: string): string {
  if (typeof body === "object" && body !== null && "detail" in body) {
    const detail = (body as { detail: unknown }).detail;
    if (typeof detail === "string") return detail;
    if (typeof detail === "object" && detail !== null && "message" in detail) {
      return String((detail as { message: unknown }).message);
    }
  }
  return fallback;
}

export class Api {
  constructor(
    readonly base: string,
    private readonly token: string,
  ) {}

  private async call<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.token}` };
    const init: RequestInit = { method, headers, cache: "no-store", referrerPolicy: "no-referrer" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(`${this.base}${path}`, init);
    const payload: unknown = await response.json().catch(() => null);
    if (!response.ok) {
      throw new ApiError(response.status, detailOf(payload, response.statusText || "request failed"));
    }
    return payload as T;
  }

  session(sessionId: string): Promise<SessionView> {
    return this.call("GET", `/v1/sessions/${encodeURIComponent(sessionId)}`);
  }

  createRecording(sessionId: string, filename: string, contentType: string): Promise<UploadGrant> {
    return this.call("POST", `/v1/sessions/${encodeURIComponent(sessionId)}/recordings`, {
      filename,
      content_type: contentType,
    });
  }

  recording(recordingId: string): Promise<RecordingView> {
    return this.call("GET", `/v1/recordings/${encodeURIComponent(recordingId)}`);
  }

  iceServers(sessionId: string): Promise<IceServersView> {
    return this.call("GET", `/v1/sessions/${encodeURIComponent(sessionId)}/ice-servers`);
  }

  /** End the session (the host's join token may): the server tells both pages `session-ended`. */
  endSession(sessionId: string): Promise<SessionView> {
    return this.call("POST", `/v1/sessions/${encodeURIComponent(sessionId)}/end`);
  }

  summary(sessionId: string): Promise<SummaryView> {
    return this.call("GET", `/v1/sessions/${encodeURIComponent(sessionId)}/summary`);
  }
}

/**
 * Where the API lives: the page's `<meta name="agentflow-api">` when set (static hosting on
 * S3/CloudFront), else the part of this page's URL before `/widget/` (served by the API itself).
 */
export function apiBase(doc: Document, location: Location): string {
  const configured = doc.querySelector<HTMLMetaElement>('meta[name="agentflow-api"]')?.content.trim();
  if (configured) return configured.replace(/\/+$/, "");
  const path = location.pathname;
  const at = path.lastIndexOf("/widget/");
  return location.origin + (at >= 0 ? path.slice(0, at) : "");
}
