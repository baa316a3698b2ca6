// The signaling WebSocket (docs/CALL.md): open while `url` is set, heartbeat, reconnect with backoff.

import { useCallback, useEffect, useRef, useState } from "react";
import { clockSample, parseFrame, type ClientFrame, type ClockSample, type ServerFrame } from "../signaling";
import { useStableCallback } from "./useStableCallback";

/** `idle`: no socket wanted; `connecting`: first attempt; `open`; `reconnecting`: after a drop or a refusal. */
export type SocketStatus = "idle" | "connecting" | "open" | "reconnecting";

// API Gateway closes a WebSocket after 10 minutes without a frame; a ping every 30 s keeps it open
// and notices a dead network (no pong within PONG_TIMEOUT_MS) long before TCP would.
export const PING_MS = 30_000;
const PONG_TIMEOUT_MS = 10_000;
// Reconnect after 0.5 s, 1 s, 2 s, … up to 10 s, each with ±25 % jitter so two pages do not stampede.
const RETRY_BASE_MS = 500;
const RETRY_MAX_MS = 10_000;
// docs/CALL.md: the server refuses frames over 16 KB; an SDP offer with audio and video is ~6 KB.
export const MAX_SIGNAL_BYTES = 16 * 1024;
// After `leave` the server closes the connection itself; a server that has not within this long
// is not waited for.
const HANG_UP_MS = 5_000;

export interface SignalingHandlers {
  /** The socket is open (first time or after a reconnect): the caller sends `join`. */
  onOpen: () => void;
  onFrame: (frame: ServerFrame) => void;
  /** An open socket closed without being asked to (the page keeps reconnecting). */
  onDrop: () => void;
  /**
   * The socket closed before it opened: the handshake was refused (expired token, ended session) or
   * the server is unreachable; the browser cannot tell which (close code 1006). Resolve `true` to
   * keep retrying, `false` to stop.
   */
  onRefused: () => Promise<boolean>;
}

export interface Signaling {
  status: SocketStatus;
  /** Send a frame; `false` when the socket is not open (the frame is dropped) or it is too large. */
  send: (frame: ClientFrame) => boolean;
  /**
   * Send this socket's last frame (`leave`). When `url` then goes, the socket is left for the
   * server to close once it has handled the frame (at most HANG_UP_MS): closed at once, a signal
   * the other page sent meanwhile would find it gone, and that page would be told this one
   * dropped rather than left.
   */
  hangUp: (frame: ClientFrame) => void;
  /** The server's clock relative to this page's, from the heartbeat (issue 16 aligns tracks with it). */
  clock: ClockSample | null;
}

export function useSignaling(url: string | null, handlers: SignalingHandlers): Signaling {
  const [status, setStatus] = useState<SocketStatus>("idle");
  const [clock, setClock] = useState<ClockSample | null>(null);
  const socketRef = useRef<WebSocket | null>(null);
  const hangingUp = useRef<WebSocket | null>(null);
  const onOpen = useStableCallback(handlers.onOpen);
  const onFrame = useStableCallback(handlers.onFrame);
  const onDrop = useStableCallback(handlers.onDrop);
  const onRefused = useStableCallback(handlers.onRefused);

  useEffect(() => {
    if (!url) {
      setStatus("idle");
      return;
    }
    let stopped = false;
    let attempt = 0;
    let retryTimer = 0;
    let pingTimer = 0;
    let pongTimer = 0;
    let pingId = 0;

    const clearTimers = (): void => {
      window.clearInterval(pingTimer);
      window.clearTimeout(pongTimer);
    };

    const retry = async (opened: boolean): Promise<void> => {
      attempt += 1;
      setStatus("reconnecting");
      if (opened) onDrop();
      else if (!(await onRefused())) return;
      if (stopped) return;
      const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(attempt - 1, 10));
      retryTimer = window.setTimeout(open, delay * (0.75 + Math.random() / 2));
    };

    const open = (): void => {
      if (stopped) return;
      window.clearTimeout(retryTimer);
      retryTimer = 0;
      setStatus(attempt === 0 ? "connecting" : "reconnecting");
      const ws = new WebSocket(url);
      socketRef.current = ws;
      let opened = false;
      let final = false; // the server said this connection is over (replaced, session ended)

      // Abandon this socket: stop listening to it and reconnect now (a dead network may take
      // minutes to deliver the close event of a socket closed from this side).
      const abandon = (): void => {
        ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
        clearTimers();
        if (socketRef.current === ws) socketRef.current = null;
        ws.close();
        if (!stopped && !final) void retry(opened);
      };

      const ping = (): void => {
        if (ws.readyState !== WebSocket.OPEN) return;
        pingId += 1;
        ws.send(JSON.stringify({ action: "ping", id: pingId, t0: Date.now() } satisfies ClientFrame));
        window.clearTimeout(pongTimer);
        pongTimer = window.setTimeout(abandon, PONG_TIMEOUT_MS);
      };

      ws.onopen = () => {
        console.debug("signaling open");
        opened = true;
        attempt = 0;
        setStatus("open");
        ping();
        pingTimer = window.setInterval(ping, PING_MS);
        onOpen();
      };
      ws.onmessage = (event: MessageEvent<unknown>) => {
        const frame = parseFrame(event.data);
        if (!frame) return;
        if (frame.type === "pong") {
          window.clearTimeout(pongTimer);
          setClock((best) => clockSample(best, frame, Date.now()));
        }
        if (frame.type === "replaced" || frame.type === "session-ended") final = true;
        onFrame(frame);
      };
      ws.onerror = () => {
        // Always followed by a close event, which decides what to do.
      };
      ws.onclose = (event: CloseEvent) => {
        console.debug(`signaling closed ${event.code} ${event.reason} (opened ${opened})`);
        clearTimers();
        if (socketRef.current === ws) socketRef.current = null;
        if (!stopped && !final) void retry(opened);
      };
    };

    // Back online: try now rather than at the end of the backoff.
    const online = (): void => {
      if (retryTimer) open();
    };
    window.addEventListener("online", online);
    open();
    return () => {
      stopped = true;
      window.removeEventListener("online", online);
      window.clearTimeout(retryTimer);
      clearTimers();
      const ws = socketRef.current;
      socketRef.current = null;
      if (ws) {
        ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
        if (hangingUp.current === ws) {
          const late = window.setTimeout(() => ws.close(1000, "page left the call"), HANG_UP_MS);
          ws.onclose = () => window.clearTimeout(late);
        } else {
          ws.close(1000, "page left the call");
        }
      }
      hangingUp.current = null;
      setStatus("idle");
    };
  }, [url, onOpen, onFrame, onDrop, onRefused]);

  const send = useCallback((frame: ClientFrame): boolean => {
    const ws = socketRef.current;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    const text = JSON.stringify(frame);
    if (new Blob([text]).size > MAX_SIGNAL_BYTES) {
      console.warn(`signaling: a ${frame.action} frame over ${MAX_SIGNAL_BYTES} bytes was not sent`);
      return false;
    }
    ws.send(text);
    return true;
  }, []);

  const hangUp = useCallback(
    (frame: ClientFrame): void => {
      if (send(frame)) hangingUp.current = socketRef.current;
    },
    [send],
  );

  return { status, send, hangUp, clock };
}
