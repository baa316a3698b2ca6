// The call: joins the signaling socket and drives the peer connection from its frames.
//
// States (on <main data-call>): idle → (Join call) → connecting → waiting | connecting → connected,
// reconnecting after a drop, ended when the session ends (or the link has expired).
//
// Every `join` starts a fresh negotiation on both sides: the page that joins gets `joined` and
// builds a new peer connection when the other is there; the other gets `peer-joined` (the joiner may
// be a reloaded page with nothing of the old connection left) and does the same. Within a
// connection, ICE restarts (useWebRTC) handle a changed network path; the socket reconnects by itself
// (useSignaling) and re-joins, which renegotiates.

import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { ApiError, type Role } from "../api";
import { CaptureError } from "../recorder";
import type { ServerFrame } from "../signaling";
import { ClockSync } from "../tracks";
import { EXPIRED, type SessionContext } from "./useSession";
import { useSignaling, type SocketStatus } from "./useSignaling";
import { useStableCallback } from "./useStableCallback";
import { useWebRTC, type CallStats, type WebRTC } from "./useWebRTC";

export type CallState = "idle" | "waiting" | "connecting" | "connected" | "reconnecting" | "ended";

/** Why the call is where it is, for tests and integrators (`<main data-call-reason>`). */
export type CallReason =
  | ""
  | "denied"
  | "peer-left"
  | "peer-lost"
  | "replaced"
  | "left"
  | "session-ended"
  | "expired"
  | "unavailable";

/** Refresh TURN credentials this long before they expire. */
const ICE_REFRESH_MARGIN_S = 60;

export interface Call {
  state: CallState;
  reason: CallReason;
  /** What the status line says. */
  message: string;
  /** An error the participant can act on (shown as an alert). */
  alert: string;
  socket: SocketStatus;
  me: { role: Role; name: string };
  other: { role: Role; name: string };
  rtc: WebRTC;
  /** Whether this page may join (a signaling URL, session not ended). */
  canJoin: boolean;
  busy: boolean;
  join: () => Promise<void>;
  leave: () => void;
  /** The host's End session: ends the call and the session (`POST /v1/sessions/{id}/end`). */
  endSession: () => Promise<void>;
  stats: () => Promise<CallStats>;
  /** The server's clock, fed from the signaling pongs (tracks stamp their start with it). */
  clock: ClockSync;
}

/** What the page's recording (issue 16) plugs into the call. */
export interface CallHooks {
  /** Run by End session before `POST /end`: stop the recorders and finish their tracks. */
  beforeEnd?: () => Promise<void>;
  /** A message from the other page's control channel. */
  onControl?: (message: string) => void;
  /** The control channel opened. */
  onControlOpen?: () => void;
}

type Phase = "idle" | "in-call" | "ended";

export function useCall({ api, sessionId, token, role, view }: SessionContext, hooks: CallHooks = {}): Call {
  const otherRole: Role = role === "host" ? "client" : "host";
  const me = { role, name: (role === "host" ? view.host : view.client).name };
  const other = { role: otherRole, name: (role === "host" ? view.client : view.host).name };
  const signalingUrl = view.signaling_url ?? "";

  const [phase, setPhase] = useState<Phase>(view.status === "ended" ? "ended" : "idle");
  const [reason, setReason] = useState<CallReason>(
    view.status === "ended" ? "session-ended" : signalingUrl ? "" : "unavailable",
  );
  const [alert, setAlert] = useState("");
  const [busy, setBusy] = useState(false);
  const [socketUrl, setSocketUrl] = useState<string | null>(null);
  const [joined, setJoined] = useState(false); // `joined` received on the current socket
  const [peerPresent, setPeerPresent] = useState(false);
  const [everConnected, setEverConnected] = useState(false); // media flowed since the last (re)start
  const [socketEverOpened, setSocketEverOpened] = useState(false);
  const [iceServers, setIceServers] = useState<RTCIceServer[]>([]);
  const [iceExpiresAt, setIceExpiresAt] = useState<number | null>(null);

  // A reload re-joins by itself when the page was in the call (per tab, like the token).
  const inCallKey = `agentflow-call:${sessionId}`;

  // docs/CALL.md: the host is impolite, the client polite; `joined.polite` has the last word.
  const polite = useRef(role === "client");
  const clock = useRef(new ClockSync()).current;
  const beforeEnd = useStableCallback(() => hooks.beforeEnd?.() ?? Promise.resolve());

  const loadIceServers = useCallback(async (): Promise<void> => {
    try {
      const answer = await api.iceServers(sessionId);
      setIceServers(answer.ice_servers);
      setIceExpiresAt(answer.ttl_seconds > 0 ? Date.now() + answer.ttl_seconds * 1000 : null);
    } catch (error) {
      // Locally there are none to get; in AWS a call without TURN still works on most networks.
      console.warn("call: no ICE servers", error);
    }
  }, [api, sessionId]);

  // TURN credentials expire: fetch fresh ones a minute before, while in the call.
  useEffect(() => {
    if (phase !== "in-call" || iceExpiresAt === null) return;
    const delay = Math.max(5_000, iceExpiresAt - Date.now() - ICE_REFRESH_MARGIN_S * 1000);
    const timer = window.setTimeout(() => void loadIceServers(), delay);
    return () => window.clearTimeout(timer);
  }, [phase, iceExpiresAt, loadIceServers]);

  const signaling = useSignaling(socketUrl, {
    onOpen: () => {
      setSocketEverOpened(true);
      signaling.send({ action: "join" });
    },
    onFrame: (frame) => onFrame(frame),
    onDrop: () => setJoined(false),
    onRefused: async () => {
      setJoined(false);
      // A refused handshake and an unreachable server look the same (close 1006): ask the API.
      try {
        const current = await api.session(sessionId);
        if (current.status === "ended" || current.status === "DELETED") {
          finish("session-ended");
          return false;
        }
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) {
          finish("expired");
          setAlert(`${EXPIRED} (${error.detail})`);
          return false;
        }
      }
      return true;
    },
  });

  // Read by the peer connection's handlers, which run between renders.
  const peerPresentRef = useRef(false);
  useEffect(() => {
    peerPresentRef.current = peerPresent;
  }, [peerPresent]);

  const rtc = useWebRTC({
    iceServers,
    onControl: (message) => hooks.onControl?.(message),
    onControlOpen: () => hooks.onControlOpen?.(),
    sendSignal: (data) => signaling.send({ action: "signal", data }),
    onConnectionState: (state) => {
      if (state === "connected") setEverConnected(true);
      // Lost while the other participant is away (closed their page, no re-join): stop retrying.
      // Decided here, on the connection's own event, not in an effect: an effect of an older
      // render could close the connection a `peer-joined` has just made.
      if (state === "failed" && !peerPresentRef.current) {
        rtc.disconnect();
        setEverConnected(false);
      }
    },
  });

  /** Leave the call for good (ended) or for now (idle), releasing the socket and the devices. */
  const { endCall, startCall } = rtc;
  const finish = useCallback(
    (why: CallReason, next: Phase = "ended"): void => {
      endCall();
      setSocketUrl(null);
      setJoined(false);
      setPeerPresent(false);
      setEverConnected(false);
      setSocketEverOpened(false);
      setPhase(next);
      setReason(why);
      sessionStorage.removeItem(inCallKey);
    },
    [endCall, inCallKey],
  );

  const onFrame = (frame: ServerFrame): void => {
    if (frame.type !== "signal" && frame.type !== "pong") console.debug(`call frame ${JSON.stringify(frame)}`);
    switch (frame.type) {
      case "joined":
        setJoined(true);
        peerPresentRef.current = !!frame.peer.connected;
        setPeerPresent(!!frame.peer.connected);
        polite.current = frame.polite;
        if (frame.peer.connected) rtc.connect(frame.polite);
        else rtc.disconnect();
        break;
      case "peer-joined":
        // A fresh page (reload, another tab) or a re-joined socket: renegotiate from scratch. After a
        // connection this shows as `reconnecting` until media flows again.
        peerPresentRef.current = true;
        setPeerPresent(true);
        setReason("");
        rtc.connect(polite.current);
        break;
      case "peer-left":
        peerPresentRef.current = false;
        setPeerPresent(false);
        if (frame.reason === "left") {
          // They pressed Leave: nothing to wait for on this connection.
          rtc.disconnect();
          setEverConnected(false);
          setReason("peer-left");
        } else {
          // Their socket dropped; media may still flow (or come back by ICE restart) until they re-join.
          setReason("peer-lost");
        }
        break;
      case "signal":
        void rtc.handleSignal(frame.data);
        break;
      case "replaced":
        finish("replaced", "idle");
        setAlert("You joined this call from another tab or window, so this page left it. Press Join call to come back here.");
        break;
      case "session-ended":
        finish("session-ended");
        break;
      case "error":
        console.warn(`signaling: ${frame.code}: ${frame.reason}`);
        if (frame.code === "not_joined") signaling.send({ action: "join" });
        break;
      case "pong":
        clock.addSample(frame.t0, frame.server_time_ms);
        break;
    }
  };

  const join = useCallback(async (): Promise<void> => {
    if (!signalingUrl || phase === "ended") return;
    setBusy(true);
    setAlert("");
    setReason("");
    // The ICE servers are fetched while the camera and microphone open (they do not depend on each other).
    const ice = loadIceServers();
    try {
      await startCall();
    } catch (error) {
      setBusy(false);
      setReason("denied");
      const denied = error instanceof CaptureError && error.kind === "denied";
      setAlert(
        denied
          ? "Camera and microphone access was denied, so you cannot join the call. Allow them for this page in your browser's site settings, then press Join call again."
          : error instanceof Error
            ? `${error.message} Then press Join call again.`
            : `The camera and microphone could not be opened: ${String(error)}`,
      );
      return;
    }
    await ice;
    sessionStorage.setItem(inCallKey, "joined");
    setPhase("in-call");
    setSocketUrl(`${signalingUrl}${signalingUrl.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`);
    setBusy(false);
  }, [signalingUrl, phase, startCall, loadIceServers, token, inCallKey]);

  // Back from a reload (or a crash) in the middle of the call: join again without a click.
  const rejoined = useRef(false);
  useEffect(() => {
    if (rejoined.current) return;
    rejoined.current = true;
    if (sessionStorage.getItem(inCallKey) === "joined" && phase === "idle" && signalingUrl) void join();
  }, [inCallKey, phase, signalingUrl, join]);

  const { hangUp } = signaling;
  const leave = useCallback((): void => {
    hangUp({ action: "leave" });
    finish("left", "idle");
  }, [hangUp, finish]);

  const endSession = useCallback(async (): Promise<void> => {
    setBusy(true);
    setAlert("");
    try {
      await beforeEnd();
      await api.endSession(sessionId);
      hangUp({ action: "leave" });
      finish("session-ended");
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        finish("expired");
        setAlert(`${EXPIRED} (${error.detail})`);
      } else {
        setAlert(`The session could not be ended: ${error instanceof ApiError ? error.detail : String(error)}`);
      }
    } finally {
      setBusy(false);
    }
  }, [api, sessionId, hangUp, finish, beforeEnd]);

  const state: CallState = useMemo(() => {
    if (phase === "ended") return "ended";
    if (phase === "idle") return "idle";
    if (rtc.connectionState === "connected") return "connected";
    if (everConnected) return "reconnecting";
    if (signaling.status !== "open" || !joined) return socketEverOpened ? "reconnecting" : "connecting";
    return peerPresent ? "connecting" : "waiting";
  }, [phase, rtc.connectionState, everConnected, signaling.status, joined, socketEverOpened, peerPresent]);

  const message = describe(state, reason, other.name, role);

  return {
    state,
    reason,
    message,
    alert,
    socket: signaling.status,
    me,
    other,
    rtc,
    canJoin: !!signalingUrl && phase !== "ended",
    busy,
    join,
    leave,
    endSession,
    stats: rtc.stats,
    clock,
  };
}

function describe(state: CallState, reason: CallReason, other: string, role: Role): string {
  switch (state) {
    case "idle":
      if (reason === "unavailable") return "Calls are not available for this session.";
      if (reason === "left") return "You left the call.";
      return `Join the call to see and hear ${other}.`;
    case "connecting":
      return `Connecting to ${other}…`;
    case "waiting":
      return reason === "peer-left"
        ? `${other} left the call. Waiting for them to come back…`
        : `Waiting for ${other} to join…`;
    case "connected":
      return reason === "peer-lost" ? `Connected with ${other} (their signal dropped; the call goes on).` : `Connected with ${other}.`;
    case "reconnecting":
      return reason === "peer-lost" ? `${other}'s connection dropped. Reconnecting…` : "The connection dropped. Reconnecting…";
    case "ended":
      if (reason === "expired") return "This link has expired.";
      return role === "host" ? "The session has ended." : "The host ended the session.";
  }
}
