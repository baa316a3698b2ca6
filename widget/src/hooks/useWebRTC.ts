// The peer connection: local media, one RTCPeerConnection at a time, perfect negotiation.
//
// Perfect negotiation (W3C webrtc-pc, "Perfect negotiation example"; MDN "The WebRTC perfect
// negotiation pattern"): both sides offer whenever `negotiationneeded` fires; on a collision the
// polite side (the client, `joined.polite`) rolls its own offer back and answers, the impolite side
// (the host) ignores the incoming offer. Candidates trickle as they are gathered. A failed ICE
// connection, or one disconnected for ICE_RESTART_AFTER_MS, is restarted with `restartIce()`, which
// fires `negotiationneeded` and so goes through the same path.

import { useCallback, useEffect, useRef, useState } from "react";
import { openDevices } from "../recorder";
import type { SignalData } from "../signaling";
import { useStableCallback } from "./useStableCallback";

/** Chrome reports `disconnected` after ~5 s without consent checks; many recover by themselves. */
const ICE_RESTART_AFTER_MS = 3000;
/**
 * A new connection that is not connected this long after it was made restarts ICE (at most
 * WATCHDOG_TRIES times): a description or candidate lost on the way (a socket reconnecting, a
 * rare collision) would otherwise leave it in `new` for good. Loopback connects in ~1 s.
 */
const WATCHDOG_MS = 8000;
const WATCHDOG_TRIES = 3;

/** The peer connection's state, or `none` when there is none (not joined, or the other is away). */
export type PeerState = RTCPeerConnectionState | "none";

/** What `getStats()` says, summed per kind and direction (for tests, integrators, and the UI). */
export interface CallStats {
  connectionState: PeerState;
  inboundAudioBytes: number;
  outboundAudioBytes: number;
  inboundVideoBytes: number;
  outboundVideoBytes: number;
  inboundAudioPackets: number;
  /** inbound-rtp `totalAudioEnergy`: above 0 once sound (not digital silence) has been played out */
  inboundAudioEnergy: number;
  /** the selected candidate pair's local and remote candidate types, e.g. "host" */
  candidateTypes: string[];
  roundTripSeconds: number | null;
  /** The ICE username fragment of the local description (an ICE restart changes it). */
  localIceUfrag: string | null;
  /** How many peer connections this page has made since it loaded (each join or peer-joined makes one). */
  peerConnections: number;
}

export interface WebRTCOptions {
  iceServers: RTCIceServer[];
  /** Relay a description or candidate to the other participant; `false` when it could not be sent. */
  sendSignal: (data: SignalData) => boolean;
  /** The current connection's `connectionState` changed (called from the event, before any render). */
  onConnectionState?: (state: RTCPeerConnectionState) => void;
  /** A text message from the other page on the control data channel (recording paused/resumed). */
  onControl?: (message: string) => void;
  /** The control data channel of the current connection opened (send the current state again). */
  onControlOpen?: () => void;
}

export interface WebRTC {
  localStream: MediaStream | null;
  remoteStream: MediaStream | null;
  connectionState: PeerState;
  muted: boolean;
  cameraOn: boolean;
  /** Open the camera and microphone (microphone only when the camera fails); throws CaptureError. */
  startCall: () => Promise<MediaStream>;
  /** Close the peer connection and stop the camera and microphone. */
  endCall: () => void;
  /** A fresh peer connection (closing the old one) with the local tracks: negotiation starts. */
  connect: (polite: boolean) => void;
  /** Close the peer connection only (the other participant left); local media stays. */
  disconnect: () => void;
  handleSignal: (data: SignalData) => Promise<void>;
  toggleMute: () => void;
  toggleCamera: () => void;
  stats: () => Promise<CallStats>;
  /** Restart ICE on the current connection (what a failed or disconnected connection does itself). */
  restartIce: () => void;
  /** Send a text message to the other page on the control data channel; `false` when it is not open. */
  sendControl: (message: string) => boolean;
}

interface Negotiation {
  pc: RTCPeerConnection;
  polite: boolean;
  makingOffer: boolean;
  ignoreOffer: boolean;
  settingRemoteAnswer: boolean;
  restartTimer: number;
  watchdog: number;
  senders: Map<MediaStreamTrack, RTCRtpSender>;
  /** Candidates that arrived before the description they belong to (see handleSignal). */
  pendingCandidates: RTCIceCandidateInit[];
  /** Signals are applied one at a time, in arrival order. */
  queue: Promise<void>;
  /** Negotiated on both sides (id 0): no `datachannel` event, nothing to wait for. */
  control: RTCDataChannel;
}

export function useWebRTC({ iceServers, sendSignal, onConnectionState, onControl, onControlOpen }: WebRTCOptions): WebRTC {
  const [localStream, setLocalStream] = useState<MediaStream | null>(null);
  const [remoteStream, setRemoteStream] = useState<MediaStream | null>(null);
  const [connectionState, setConnectionState] = useState<PeerState>("none");
  const [muted, setMuted] = useState(false);
  const [cameraOn, setCameraOn] = useState(true);
  const localRef = useRef<MediaStream | null>(null);
  const negRef = useRef<Negotiation | null>(null);
  const politeRef = useRef(true);
  const mutedRef = useRef(false);
  const cameraRef = useRef(true);
  const iceRef = useRef(iceServers);
  const created = useRef(0);
  const send = useStableCallback(sendSignal);
  const stateChanged = useStableCallback((state: RTCPeerConnectionState) => onConnectionState?.(state));
  const controlMessage = useStableCallback((message: string) => onControl?.(message));
  const controlOpened = useStableCallback(() => onControlOpen?.());

  useEffect(() => {
    iceRef.current = iceServers;
    // Fresh TURN credentials apply to the current connection's next ICE restart too.
    negRef.current?.pc.setConfiguration({ ...negRef.current.pc.getConfiguration(), iceServers });
  }, [iceServers]);

  const disconnect = useCallback((): void => {
    const neg = negRef.current;
    negRef.current = null;
    if (neg) {
      window.clearTimeout(neg.restartTimer);
      window.clearTimeout(neg.watchdog);
      neg.pc.onnegotiationneeded = neg.pc.onicecandidate = neg.pc.ontrack = null;
      neg.pc.onconnectionstatechange = neg.pc.oniceconnectionstatechange = null;
      neg.control.onmessage = neg.control.onopen = null;
      neg.pc.close();
    }
    setRemoteStream(null);
    setConnectionState("none");
  }, []);

  /** Send (or stop sending) each local track, as mute and camera say. */
  const applySenders = useCallback((neg: Negotiation): void => {
    for (const [track, sender] of neg.senders) {
      const on = track.kind === "audio" ? !mutedRef.current : cameraRef.current;
      // replaceTrack(null) stops the RTP stream (no renegotiation needed); `enabled = false` alone
      // would keep sending silence and black frames.
      if (sender.track !== (on ? track : null)) void sender.replaceTrack(on ? track : null);
    }
  }, []);

  const connect = useCallback(
    (polite: boolean): void => {
      disconnect();
      politeRef.current = polite;
      const pc = new RTCPeerConnection({ iceServers: iceRef.current });
      created.current += 1;
      const neg: Negotiation = {
        pc,
        polite,
        makingOffer: false,
        ignoreOffer: false,
        settingRemoteAnswer: false,
        restartTimer: 0,
        watchdog: 0,
        senders: new Map(),
        pendingCandidates: [],
        queue: Promise.resolve(),
        control: pc.createDataChannel("control", { negotiated: true, id: 0 }),
      };
      negRef.current = neg;
      const current = (): boolean => negRef.current === neg;
      neg.control.onmessage = (event: MessageEvent<unknown>) => {
        if (current() && typeof event.data === "string") controlMessage(event.data);
      };
      neg.control.onopen = () => {
        if (current()) controlOpened();
      };
      const id = created.current;
      // Diagnostics on the console's debug level (tests print them when a call test fails).
      const trace = (what: string): void =>
        console.debug(`call pc${id} ${what} (signaling ${pc.signalingState}, ice ${pc.iceConnectionState})`);
      trace(`new, polite=${polite}`);

      pc.onnegotiationneeded = async () => {
        try {
          neg.makingOffer = true;
          await pc.setLocalDescription();
          if (current() && pc.localDescription) {
            trace(`sent ${pc.localDescription.type}`);
            send({ description: pc.localDescription.toJSON() });
          }
        } catch (error) {
          console.warn("call: could not make an offer", error);
        } finally {
          neg.makingOffer = false;
        }
      };
      pc.onicecandidate = ({ candidate }) => {
        trace(candidate ? `candidate ${candidate.type ?? ""} ${candidate.usernameFragment ?? ""}` : "candidates done");
        // The end-of-candidates `null` is not relayed: each ICE restart begins a new generation.
        if (candidate && current()) send({ candidate: candidate.toJSON() });
      };
      pc.ontrack = ({ track, streams }) => {
        if (!current()) return;
        const stream = streams[0] ?? new MediaStream([track]);
        setRemoteStream(stream);
      };
      pc.onconnectionstatechange = () => {
        trace(`connection ${pc.connectionState}`);
        if (!current()) return;
        setConnectionState(pc.connectionState);
        stateChanged(pc.connectionState);
      };
      pc.oniceconnectionstatechange = () => {
        if (!current()) return;
        window.clearTimeout(neg.restartTimer);
        if (pc.iceConnectionState === "failed") {
          trace("restarting ICE");
          pc.restartIce();
        } else if (pc.iceConnectionState === "disconnected") {
          neg.restartTimer = window.setTimeout(() => {
            if (current() && pc.iceConnectionState === "disconnected") pc.restartIce();
          }, ICE_RESTART_AFTER_MS);
        }
      };

      let tries = 0;
      const watch = (): void => {
        neg.watchdog = window.setTimeout(() => {
          if (!current() || pc.connectionState === "connected" || tries >= WATCHDOG_TRIES) return;
          tries += 1;
          trace(`not connected after ${WATCHDOG_MS} ms: restarting ICE (${tries}/${WATCHDOG_TRIES})`);
          pc.restartIce();
          watch();
        }, WATCHDOG_MS);
      };
      watch();

      const local = localRef.current;
      if (local) for (const track of local.getTracks()) neg.senders.set(track, pc.addTrack(track, local));
      applySenders(neg);
      setConnectionState(pc.connectionState);
    },
    [disconnect, applySenders, send, stateChanged, controlMessage, controlOpened],
  );

  /** Add the candidates that waited for a remote description; the ones that still do not fit are dropped. */
  const drainCandidates = async (neg: Negotiation): Promise<void> => {
    const waiting = neg.pendingCandidates.splice(0);
    for (const candidate of waiting) {
      await neg.pc.addIceCandidate(candidate).catch(() => undefined);
    }
  };

  const applySignal = async (neg: Negotiation, data: SignalData): Promise<void> => {
    const { pc } = neg;
    if ("description" in data) {
      console.debug(`call got ${data.description.type} (signaling ${pc.signalingState}, making offer ${neg.makingOffer})`);
    }
    try {
      if ("description" in data) {
        const description = data.description;
        const readyForOffer = !neg.makingOffer && (pc.signalingState === "stable" || neg.settingRemoteAnswer);
        const offerCollision = description.type === "offer" && !readyForOffer;
        neg.ignoreOffer = !neg.polite && offerCollision;
        if (neg.ignoreOffer) {
          console.debug("call ignored a colliding offer (impolite)");
          return;
        }
        neg.settingRemoteAnswer = description.type === "answer";
        await pc.setRemoteDescription(description); // a polite side's own offer rolls back implicitly
        neg.settingRemoteAnswer = false;
        console.debug(`call applied ${description.type}; ${neg.pendingCandidates.length} candidates waited`);
        await drainCandidates(neg);
        if (description.type === "offer") {
          await pc.setLocalDescription();
          if (negRef.current === neg && pc.localDescription) {
            console.debug(`call sent ${pc.localDescription.type}`);
            send({ description: pc.localDescription.toJSON() });
          }
        }
      } else if ("candidate" in data && data.candidate) {
        // In AWS, API Gateway may run two frames of one connection concurrently, so a candidate can
        // overtake its offer (or an ICE restart's new offer): keep it until a description fits.
        if (!pc.remoteDescription) {
          neg.pendingCandidates.push(data.candidate);
          console.debug("call candidate waits for a description");
          return;
        }
        try {
          await pc.addIceCandidate(data.candidate);
        } catch (error) {
          if (neg.ignoreOffer) return; // candidates of an ignored offer are expected to fail
          neg.pendingCandidates.push(data.candidate); // maybe of a description still on its way
          console.debug(`call candidate did not fit (${String(error)}); it waits`);
        }
      }
    } catch (error) {
      // A late answer of a connection that was reset meanwhile lands here; the negotiation that
      // replaced it goes on.
      neg.settingRemoteAnswer = false;
      console.warn("call: signal not applied", error);
    }
  };

  const handleSignal = useCallback(
    (data: SignalData): Promise<void> => {
      if (!negRef.current) connect(politeRef.current);
      const neg = negRef.current as Negotiation | null;
      if (!neg) return Promise.resolve();
      // One at a time: perfect negotiation reads the signaling state when a description arrives.
      neg.queue = neg.queue.then(() => applySignal(neg, data));
      return neg.queue;
    },
    // applySignal reads only refs and the stable `send`.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [connect, send],
  );

  const startCall = useCallback(async (): Promise<MediaStream> => {
    if (localRef.current) return localRef.current;
    const stream = await openDevices(true);
    localRef.current = stream;
    for (const track of stream.getAudioTracks()) track.enabled = !mutedRef.current;
    for (const track of stream.getVideoTracks()) track.enabled = cameraRef.current;
    setLocalStream(stream);
    return stream;
  }, []);

  const endCall = useCallback((): void => {
    disconnect();
    for (const track of localRef.current?.getTracks() ?? []) track.stop();
    localRef.current = null;
    setLocalStream(null);
  }, [disconnect]);

  const toggleMute = useCallback((): void => {
    mutedRef.current = !mutedRef.current;
    setMuted(mutedRef.current);
    for (const track of localRef.current?.getAudioTracks() ?? []) track.enabled = !mutedRef.current;
    if (negRef.current) applySenders(negRef.current);
  }, [applySenders]);

  const toggleCamera = useCallback((): void => {
    cameraRef.current = !cameraRef.current;
    setCameraOn(cameraRef.current);
    for (const track of localRef.current?.getVideoTracks() ?? []) track.enabled = cameraRef.current;
    if (negRef.current) applySenders(negRef.current);
  }, [applySenders]);

  const stats = useCallback(async (): Promise<CallStats> => {
    const result: CallStats = {
      connectionState: negRef.current?.pc.connectionState ?? "none",
      inboundAudioBytes: 0,
      outboundAudioBytes: 0,
      inboundVideoBytes: 0,
      outboundVideoBytes: 0,
      inboundAudioPackets: 0,
      inboundAudioEnergy: 0,
      candidateTypes: [],
      roundTripSeconds: null,
      peerConnections: created.current,
      localIceUfrag: /a=ice-ufrag:(\S+)/.exec(negRef.current?.pc.localDescription?.sdp ?? "")?.[1] ?? null,
    };
    const pc = negRef.current?.pc;
    if (!pc) return result;
    const report = await pc.getStats();
    const byId = new Map<string, Record<string, unknown>>();
    report.forEach((entry: Record<string, unknown>) => byId.set(String(entry["id"]), entry));
    const num = (value: unknown): number => (typeof value === "number" ? value : 0);
    for (const entry of byId.values()) {
      const kind = entry["kind"];
      if (entry["type"] === "inbound-rtp") {
        if (kind === "audio") {
          result.inboundAudioBytes += num(entry["bytesReceived"]);
          result.inboundAudioPackets += num(entry["packetsReceived"]);
          result.inboundAudioEnergy += num(entry["totalAudioEnergy"]);
        } else if (kind === "video") result.inboundVideoBytes += num(entry["bytesReceived"]);
      } else if (entry["type"] === "outbound-rtp") {
        if (kind === "audio") result.outboundAudioBytes += num(entry["bytesSent"]);
        else if (kind === "video") result.outboundVideoBytes += num(entry["bytesSent"]);
      } else if (entry["type"] === "transport" && entry["selectedCandidatePairId"]) {
        const pair = byId.get(String(entry["selectedCandidatePairId"]));
        if (pair) {
          for (const side of ["localCandidateId", "remoteCandidateId"]) {
            const candidate = byId.get(String(pair[side]));
            if (candidate) result.candidateTypes.push(String(candidate["candidateType"]));
          }
          const rtt = pair["currentRoundTripTime"];
          result.roundTripSeconds = typeof rtt === "number" ? rtt : null;
        }
      }
    }
    return result;
  }, []);

  const restartIce = useCallback((): void => {
    negRef.current?.pc.restartIce();
  }, []);

  const sendControl = useCallback((message: string): boolean => {
    const control = negRef.current?.control;
    if (!control || control.readyState !== "open") return false;
    control.send(message);
    return true;
  }, []);

  // Leaving the page (or unmounting) closes the connection and stops the devices.
  useEffect(() => endCall, [endCall]);

  return {
    localStream,
    remoteStream,
    connectionState,
    muted,
    cameraOn,
    startCall,
    endCall,
    connect,
    disconnect,
    handleSignal,
    toggleMute,
    toggleCamera,
    stats,
    restartIce,
    sendControl,
  };
}
