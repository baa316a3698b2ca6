// Each participant records their own microphone (and camera, while it is on, as a separate video
// track) while the call runs and uploads it as it goes
// (issue 16; docs/CALL.md "Tracks"). The upload itself is `widget/src/tracks/` (no React); this hook
// decides when a recorder runs:
//
// - it starts when the call first connects (and again after a reload, once the call is back), and
//   goes on through `reconnecting` (each page records its own microphone, not the connection);
// - the host's Pause recording stops the recorders of both pages (the other page is told on the
//   call's control data channel), Resume recording starts new tracks: each MediaRecorder run is its
//   own track with its own start on the server's clock, so the pause is a gap on the call clock
//   (MediaRecorder.pause() would close the gap and put later words at the wrong time);
// - End session (host) tells the other page to stop (control channel), stops its own recorder and
//   finishes its track before `POST /end`; the other page stops and finishes its own at that message,
//   or at the latest when its call ends (`session-ended`); a page that can do neither (a dead tab) is
//   covered by the backend's grace period;
// - after a reload the kept chunks of the earlier track are sent (resumePending) and that track is
//   completed with what is stored, before a new track starts.

import { useCallback, useEffect, useRef, useState } from "react";
import type { SessionContext } from "./useSession";
import type { Call, CallHooks } from "./useCall";
import { IndexedDbChunkStore, MemoryChunkStore, TrackApi, TrackUploader, type ChunkStore } from "../tracks";

/** `on`: a recorder runs; `paused`: the host paused it; `off`: not (yet, or any more) recording. */
export type TrackRecordingState = "on" | "paused" | "off";

export const TIMESLICE_MS = 5000;
/** End session waits at most this long for the last parts before it ends the session anyway. */
const FINISH_TIMEOUT_MS = 20_000;
const AUDIO_TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/mp4"];
const VIDEO_TYPES = ["video/webm;codecs=vp8", "video/webm", "video/mp4"];
/** The camera's track: kept beside the audio (the pipeline uses audio only); ~300 kB per 5 s part. */
const VIDEO_BITS_PER_SECOND = 500_000;

type Kind = "audio" | "video";

export interface TrackRecording {
  state: TrackRecordingState;
  /** Whether this page may pause and resume (the host). */
  canControl: boolean;
  pause: () => void;
  resume: () => void;
  /** Whether the camera is recorded too (its own video track, while the camera is on). */
  video: boolean;
  /** Chunks this page has recorded (each is one part, uploaded as it comes). */
  partsRecorded: number;
  error: string;
  /** What the call runs: finish the tracks before End session; follow the host's pause. */
  hooks: CallHooks;
}

interface Running {
  recorder: MediaRecorder;
  /** Resolves once the recorder stopped and its track is complete (or could not be). */
  finished: Promise<void>;
}

/** One IndexedDB database per session: a reload resumes only this session's tracks. */
function openStore(sessionId: string): ChunkStore {
  try {
    return typeof indexedDB === "undefined"
      ? new MemoryChunkStore()
      : new IndexedDbChunkStore(`agentflow-tracks:${sessionId}`);
  } catch {
    return new MemoryChunkStore();
  }
}

const withTimeout = (work: Promise<void>, ms: number): Promise<void> =>
  Promise.race([work, new Promise<void>((resolve) => window.setTimeout(resolve, ms))]);

export function useTrackRecording(context: SessionContext, call: Call): TrackRecording {
  const { api, sessionId, token, role } = context;
  const [paused, setPaused] = useState(false);
  const [running, setRunning] = useState<Record<Kind, boolean>>({ audio: false, video: false });
  const [stopped, setStopped] = useState(false); // the session ended: never record again
  const [resumed, setResumed] = useState(false); // an earlier page's track is taken care of
  const [partsRecorded, setPartsRecorded] = useState(0);
  const [error, setError] = useState("");
  const runningRef = useRef<Record<Kind, Running | null>>({ audio: null, video: null });
  const pausedRef = useRef(false);
  const storeRef = useRef<ChunkStore | null>(null);
  const store = (): ChunkStore => (storeRef.current ??= openStore(sessionId));
  const { clock, rtc, state: callState } = call;
  const { sendControl } = rtc;

  // After a reload: send what the earlier page kept, complete its tracks (before any new one opens).
  useEffect(() => {
    let cancelled = false;
    const base = { apiUrl: api.base, sessionId, token, kind: "audio" as const, contentType: AUDIO_TYPES[0] as string };
    const opts = { ...base, timesliceMs: TIMESLICE_MS, store: store() };
    void (async () => {
      try {
        await TrackUploader.resumePending(opts);
        // A track whose parts were all stored but that was never completed (the page went away).
        const trackApi = new TrackApi(opts);
        const listed = await trackApi.call<{ items: Array<{ track_id: string; status: string }> }>("GET", "");
        for (const track of listed.items) {
          if (track.status !== "RECORDING") continue;
          const stored = await trackApi.storedParts(track.track_id);
          await trackApi.complete(track.track_id, Math.max(0, ...stored));
        }
      } catch (err) {
        console.warn("tracks: earlier tracks not resumed", err);
      } finally {
        if (!cancelled) setResumed(true);
      }
    })();
    return () => {
      cancelled = true;
    };
    // once per page
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const stopKind = useCallback((kind: Kind): Promise<void> => {
    const current = runningRef.current[kind];
    if (!current) return Promise.resolve();
    runningRef.current[kind] = null;
    if (current.recorder.state !== "inactive") current.recorder.stop();
    setRunning((r) => ({ ...r, [kind]: false }));
    return current.finished;
  }, []);

  const stop = useCallback(
    (): Promise<void> => Promise.all([stopKind("audio"), stopKind("video")]).then(() => undefined),
    [stopKind],
  );

  const start = useCallback(
    (kind: Kind, stream: MediaStream): void => {
      const media = (kind === "audio" ? stream.getAudioTracks() : stream.getVideoTracks()).filter(
        (t) => t.readyState === "live",
      );
      if (!media.length || runningRef.current[kind]) return;
      const mimeType = (kind === "audio" ? AUDIO_TYPES : VIDEO_TYPES).find((t) => MediaRecorder.isTypeSupported(t)) ?? "";
      const options: MediaRecorderOptions = mimeType ? { mimeType } : {};
      if (kind === "video") options.videoBitsPerSecond = VIDEO_BITS_PER_SECOND;
      const recorder = new MediaRecorder(new MediaStream(media), options);
      const uploader = new TrackUploader({
        apiUrl: api.base,
        sessionId,
        token,
        kind,
        contentType: recorder.mimeType || mimeType,
        timesliceMs: TIMESLICE_MS,
        store: store(),
        onError: (err) => setError(`Recording upload: ${err.message}`),
      });
      let opened: Promise<unknown> = Promise.resolve();
      recorder.onstart = () => {
        const now = clock.serverNow();
        opened = uploader.open(now.atMs, now.errorMs).catch((err: unknown) => console.warn("tracks: not opened", err));
      };
      recorder.ondataavailable = (event: BlobEvent) => {
        void uploader.push(event.data);
      };
      const stoppedRecorder = new Promise<void>((resolve) => {
        recorder.onstop = () => resolve();
        recorder.onerror = () => resolve();
      });
      const finished = stoppedRecorder
        .then(async () => {
          await opened;
          await uploader.finish();
        })
        .catch((err: unknown) => console.warn("tracks: not finished", err));
      if (kind === "audio") recorder.addEventListener("dataavailable", () => setPartsRecorded((n) => n + 1));
      runningRef.current[kind] = { recorder, finished };
      recorder.start(TIMESLICE_MS);
      setRunning((r) => ({ ...r, [kind]: true }));
      // A recorder whose tracks all end (Leave call, the call ending) stops by itself: forget it.
      void stoppedRecorder.then(() => {
        if (runningRef.current[kind]?.recorder === recorder) {
          runningRef.current[kind] = null;
          setRunning((r) => ({ ...r, [kind]: false }));
        }
      });
    },
    [api, sessionId, token, clock],
  );

  // Run a recorder while the call is up and recording is wanted.
  const { localStream } = rtc;
  const inCall = callState !== "idle" && callState !== "ended";
  const [connectedOnce, setConnectedOnce] = useState(false);
  useEffect(() => {
    if (callState === "connected") setConnectedOnce(true);
    if (!inCall) setConnectedOnce(false);
  }, [callState, inCall]);
  useEffect(() => {
    if (callState === "ended") setStopped(true);
  }, [callState]);
  const want = inCall && connectedOnce && !paused && !stopped && resumed && localStream !== null;
  // The camera is recorded while it is on (Camera off stops its track; on again starts a new one).
  const wantVideo = want && rtc.cameraOn && !!localStream?.getVideoTracks().length;
  useEffect(() => {
    if (want && localStream && !runningRef.current.audio) start("audio", localStream);
    if (!want && runningRef.current.audio) void stopKind("audio");
    // Audio first: the video recorder starts once the audio one runs.
    if (wantVideo && localStream && running.audio && !runningRef.current.video) start("video", localStream);
    if (!wantVideo && runningRef.current.video) void stopKind("video");
  }, [want, wantVideo, localStream, start, stopKind, running.audio]);

  // The host tells the other page; the other page follows.
  const announce = useCallback((): void => {
    if (role === "host") sendControl(JSON.stringify({ recording: pausedRef.current ? "paused" : "on" }));
  }, [role, sendControl]);

  const setPause = useCallback(
    (value: boolean): void => {
      pausedRef.current = value;
      setPaused(value);
      announce();
    },
    [announce],
  );

  const onControl = useCallback(
    (message: string): void => {
      if (role === "host") return; // only the host decides
      try {
        const parsed = JSON.parse(message) as { recording?: unknown };
        if (parsed.recording === "stopped") {
          // The host is ending the session: stop now, with the host's recorder, not a second later
          // at `session-ended` (the assembler would report the host's track as ending early).
          setStopped(true);
          void stop();
        } else if (parsed.recording === "paused" || parsed.recording === "on") {
          pausedRef.current = parsed.recording === "paused";
          setPaused(pausedRef.current);
        }
      } catch {
        // not a control message of ours
      }
    },
    [role, stop],
  );

  const beforeEnd = useCallback(async (): Promise<void> => {
    sendControl(JSON.stringify({ recording: "stopped" }));
    setStopped(true);
    await withTimeout(stop(), FINISH_TIMEOUT_MS);
  }, [stop, sendControl]);

  // Unmount (the page goes away): stop the recorder; its kept chunks wait in IndexedDB.
  useEffect(() => () => void stop(), [stop]);

  const state: TrackRecordingState = running.audio ? "on" : paused && inCall && !stopped ? "paused" : "off";
  return {
    state,
    canControl: role === "host",
    video: running.video,
    pause: () => setPause(true),
    resume: () => setPause(false),
    partsRecorded,
    error,
    hooks: { beforeEnd, onControl, onControlOpen: announce },
  };
}
