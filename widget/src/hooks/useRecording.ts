// Record (host), upload to the presigned S3 POST, follow processing, open the signed PDF.
//
// States (on <main data-state>): idle → recording → uploading → processing → done | failed, plus
// `viewer` (the client's page: status only) and `error` (nothing left to do here, e.g. the link
// expired meanwhile). Recoverable errors (denied microphone, dropped upload) keep their state and
// show a message and a button.
//
// Issue 16 moves recording into the call (each participant records its own microphone, a
// `useTrackRecording` hook beside this one); until then the host records here, and the call's
// remote audio goes to channel 1 through `setRemoteAudio`.

import { useCallback, useEffect, useRef, useState } from "react";
import {
  ApiError,
  type Api,
  type ChunkProgress,
  type RecordingView,
  type Role,
  type SessionView,
  type UploadGrant,
} from "../api";
import { CaptureError, openDevices, SessionRecorder, type Recorded } from "../recorder";
import { NetworkError, postForm, StorageError } from "../upload";
import { EXPIRED } from "./useSession";

export type RecordingState = "idle" | "recording" | "uploading" | "processing" | "done" | "failed" | "viewer" | "error";

const UPLOAD_ATTEMPTS = 4; // one try plus three automatic retries, then a Retry button
const RETRY_BASE_MS = 1000; // waits 1 s, 2 s, 4 s between automatic retries
const GRANT_MARGIN_MS = 30_000; // ask for a fresh presigned POST this close to its expiry
const POLL_MS = [1000, 1500, 2000, 3000, 5000]; // then every 5 s
const SUMMARY_ATTEMPTS = 5; // the summary may land a moment after COMPLETED

const STATUS_TEXT: Record<string, string> = {
  PENDING_UPLOAD: "Registering the upload…",
  UPLOADED: "Uploaded. Processing starts shortly.",
  PROCESSING: "Transcribing and telling the speakers apart…",
  SUMMARIZING: "Writing and signing the summary…",
  COMPLETED: "The summary is ready.",
  FAILED: "Processing failed.",
};

/** Which control takes the focus after a change (the panel moves it; `n` makes each request new). */
export type FocusTarget = "start" | "stop" | "upload" | "retry" | "again" | "error" | "pdf";

export interface Stage {
  name: string;
  status: string;
  seconds?: number | null | undefined;
  /** An analysis stage's parts (issue 19); a recording that was not cut has one. */
  chunks?: ChunkProgress | null | undefined;
}

const STAGE_ORDER = ["transcribe", "diarize", "summarize"]; // the pipeline's order; others after

/** The recording's stages in pipeline order (the API's map has none). */
export function stagesOf(view: RecordingView): Stage[] {
  const rank = (name: string): number => {
    const at = STAGE_ORDER.indexOf(name);
    return at < 0 ? STAGE_ORDER.length : at;
  };
  return Object.entries(view.stages)
    .map(([name, p]) => ({ name, status: p.status, seconds: p.seconds, chunks: p.chunks }))
    .sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
}

export interface Recording {
  state: RecordingState;
  status: string;
  error: string;
  actions: { retry: boolean; again: boolean };
  focus: { target: FocusTarget; n: number } | null;
  starting: boolean;
  stopping: boolean;
  preview: MediaStream | null;
  elapsed: number;
  progress: { loaded: number; total: number } | null;
  stages: Stage[];
  pdfUrl: string | null;
  recordingId: string | null;
  recordingStatus: string | null;
  start: (camera: boolean) => Promise<void>;
  stop: () => Promise<void>;
  retryUpload: () => Promise<void>;
  recordAgain: () => void;
  /** The remote participant's audio goes to channel 1 (the call hands it over; `null` disconnects). */
  setRemoteAudio: (stream: MediaStream | null) => void;
}

export function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MB`;
}

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function latestRecording(view: SessionView): string | null {
  const last = view.recordings.at(-1);
  return last && last.status !== "PENDING_UPLOAD" && last.status !== "FAILED" ? last.recording_id : null;
}

export function useRecording(api: Api, sessionId: string, role: Role, initial: SessionView): Recording {
  const [state, setStateValue] = useState<RecordingState>(role === "client" ? "viewer" : "idle");
  const [status, setStatus] = useState(role === "client" ? "" : "Ready to record.");
  const [error, setError] = useState("");
  const [actions, setActions] = useState({ retry: false, again: false });
  const [focus, setFocus] = useState<Recording["focus"]>(null);
  const [starting, setStarting] = useState(false);
  const [stopping, setStopping] = useState(false);
  const [preview, setPreview] = useState<MediaStream | null>(null);
  const [elapsed, setElapsed] = useState(0);
  const [progress, setProgress] = useState<Recording["progress"]>(null);
  const [stages, setStages] = useState<Stage[]>([]);
  const [pdfUrl, setPdfUrl] = useState<string | null>(null);
  const [recordingId, setRecordingId] = useState<string | null>(null);
  const [recordingStatus, setRecordingStatus] = useState<string | null>(null);

  // What the async flows read and write without re-rendering.
  const stateRef = useRef(state);
  const live = useRef(true);
  const session = useRef(initial);
  const recorder = useRef<SessionRecorder | null>(null);
  const remoteAudio = useRef<MediaStream | null>(null);
  const pending = useRef<Recorded | null>(null); // recorded, not yet uploaded (kept for "Retry upload")
  const grant = useRef<UploadGrant | null>(null);
  const focusCount = useRef(0);

  const setState = useCallback((next: RecordingState): void => {
    stateRef.current = next;
    setStateValue(next);
  }, []);

  const focusOn = useCallback((target: FocusTarget): void => {
    focusCount.current += 1;
    setFocus({ target, n: focusCount.current });
  }, []);

  const fail = useCallback(
    (message: string, options: { retry?: boolean; again?: boolean } = {}): void => {
      setError(message);
      setActions({ retry: !!options.retry, again: !!options.again });
      focusOn(options.retry ? "retry" : options.again ? "again" : "error");
    },
    [focusOn],
  );

  const clearError = useCallback((): void => {
    setError("");
    setActions({ retry: false, again: false });
  }, []);

  const release = useCallback((): void => {
    recorder.current?.release();
    recorder.current = null;
    setPreview(null);
  }, []);

  const fatal = useCallback(
    (message: string): void => {
      release();
      setState("error");
      setStatus("");
      fail(message);
    },
    [release, setState, fail],
  );

  /** API errors every step handles the same way; returns true when handled. */
  const handleApiError = useCallback(
    (err: unknown): boolean => {
      if (err instanceof ApiError && err.status === 401) {
        fatal(`${EXPIRED} (${err.detail})`);
        return true;
      }
      return false;
    },
    [fatal],
  );

  // ------------------------------------------------------------------------------------ processing

  const finish = useCallback(async (): Promise<void> => {
    setState("done");
    for (let attempt = 1; attempt <= SUMMARY_ATTEMPTS && live.current; attempt++) {
      try {
        const summary = await api.summary(sessionId);
        if (summary.pdf_url) {
          setPdfUrl(summary.pdf_url);
          setStatus("The signed summary is ready.");
          focusOn("pdf");
          return;
        }
      } catch (err) {
        // 404 until the summary is stored; 401/403 when the API only gives summaries to API keys.
        if (!(err instanceof ApiError) || err.status >= 500 || [401, 403].includes(err.status)) break;
      }
      await wait(1000 * attempt);
    }
    setStatus("Processing is complete. The organiser of the session has the signed summary.");
  }, [api, sessionId, setState, focusOn]);

  const follow = useCallback(
    async (id: string): Promise<void> => {
      setRecordingId(id);
      setState("processing");
      let lastStatus = "";
      for (let i = 0; stateRef.current === "processing" && live.current; i++) {
        let view: RecordingView;
        try {
          view = await api.recording(id);
        } catch (err) {
          if (handleApiError(err)) return;
          setStatus("Lost the connection to the service; still trying…");
          await wait(5000);
          continue;
        }
        setRecordingStatus(view.status);
        setStages(stagesOf(view));
        if (view.status === "COMPLETED") {
          await finish();
          return;
        }
        if (view.status === "FAILED") {
          setState("failed");
          setStatus("");
          fail(`The recording could not be processed: ${view.failure_reason ?? "unknown reason"}`, { again: true });
          return;
        }
        if (view.status !== lastStatus) {
          lastStatus = view.status;
          const waitsForEnd = view.status === "UPLOADED" && session.current.auto_start_recording === false;
          setStatus(
            waitsForEnd ? "Uploaded. Processing starts when the session ends." : (STATUS_TEXT[view.status] ?? view.status),
          );
        }
        await wait(POLL_MS[Math.min(i, POLL_MS.length - 1)] ?? 5000);
      }
    },
    [api, handleApiError, finish, fail, setState],
  );

  // ---------------------------------------------------------------------------------------- upload

  const upload = useCallback(async (): Promise<void> => {
    const recorded = pending.current;
    if (!recorded) return;
    clearError();
    setState("uploading");
    setProgress({ loaded: 0, total: recorded.blob.size });
    focusOn("upload");
    setStatus(`Uploading ${megabytes(recorded.blob.size)}…`);
    for (let attempt = 1; attempt <= UPLOAD_ATTEMPTS; attempt++) {
      if (attempt > 1) {
        setStatus(`Uploading ${megabytes(recorded.blob.size)} (attempt ${attempt} of ${UPLOAD_ATTEMPTS})…`);
      }
      try {
        let fresh = grant.current;
        if (!fresh || Date.parse(fresh.expires_at) - Date.now() < GRANT_MARGIN_MS) {
          fresh = await api.createRecording(sessionId, recorded.filename, recorded.contentType);
          grant.current = fresh;
        }
        if (recorded.blob.size > fresh.max_bytes) {
          pending.current = null;
          fail(
            `The recording is ${megabytes(recorded.blob.size)}, over the upload limit of ` +
              `${megabytes(fresh.max_bytes)}. Record a shorter session, or record without the camera.`,
            { again: true },
          );
          setStatus("");
          return;
        }
        await postForm(fresh.upload.url, fresh.upload.fields, recorded.blob, recorded.filename, (loaded, total) =>
          setProgress({ loaded, total }),
        );
      } catch (err) {
        if (handleApiError(err)) return;
        if (err instanceof ApiError) {
          fail(`The upload could not be started: ${err.detail}`, { retry: err.status >= 500 });
          setStatus("");
          return;
        }
        if (err instanceof StorageError) {
          if (err.code === "EntityTooLarge") {
            pending.current = null;
            fail("The recording is over the upload limit. Record a shorter session.", { again: true });
            setStatus("");
            return;
          }
          if (err.status === 403 && /expire/i.test(err.message) && attempt < UPLOAD_ATTEMPTS) {
            grant.current = null; // the presigned POST expired while waiting: ask for a new one
            continue;
          }
          fail(`The storage service refused the upload: ${err.message}`, { retry: true });
          setStatus("");
          return;
        }
        if (!(err instanceof NetworkError || err instanceof TypeError)) throw err;
        if (attempt === UPLOAD_ATTEMPTS) {
          fail("The upload failed: the network connection dropped. Check your connection, then press Retry upload.", {
            retry: true,
          });
          setStatus("");
          return;
        }
        const delay = RETRY_BASE_MS * 2 ** (attempt - 1);
        setStatus(
          `The network connection dropped; retrying in ${delay / 1000} s (attempt ${attempt + 1} of ${UPLOAD_ATTEMPTS})…`,
        );
        await wait(delay);
        continue;
      }
      pending.current = null;
      setStatus("Uploaded.");
      await follow((grant.current as UploadGrant).recording_id);
      return;
    }
  }, [api, sessionId, clearError, setState, focusOn, fail, handleApiError, follow]);

  // ------------------------------------------------------------------------------------- recording

  const start = useCallback(
    async (camera: boolean): Promise<void> => {
      clearError();
      setStarting(true);
      setStatus("Asking for your microphone" + (camera ? " and camera…" : "…"));
      try {
        const stream = await openDevices(camera);
        recorder.current = new SessionRecorder(stream);
        recorder.current.setRemoteAudio(remoteAudio.current);
        setPreview(recorder.current.hasVideo ? stream : null);
        await recorder.current.start();
      } catch (err) {
        release();
        setStarting(false);
        setStatus("");
        fail(err instanceof CaptureError ? err.message : `Recording could not start: ${String(err)}`);
        return;
      }
      setStarting(false);
      setElapsed(0);
      setState("recording");
      setStatus(recorder.current.hasVideo ? "Recording camera and microphone." : "Recording the microphone.");
      focusOn("stop");
    },
    [clearError, release, fail, setState, focusOn],
  );

  const stop = useCallback(async (): Promise<void> => {
    const active = recorder.current;
    if (!active) return;
    setStopping(true);
    try {
      pending.current = await active.stop();
    } finally {
      release();
      setStopping(false);
    }
    grant.current = null;
    await upload();
  }, [release, upload]);

  const recordAgain = useCallback((): void => {
    clearError();
    pending.current = null;
    grant.current = null;
    setStages([]);
    setPdfUrl(null);
    setState("idle");
    setStatus("Ready to record.");
    focusOn("start");
  }, [clearError, setState, focusOn]);

  const setRemoteAudio = useCallback((stream: MediaStream | null): void => {
    remoteAudio.current = stream;
    recorder.current?.setRemoteAudio(stream);
  }, []);

  // The timer, while recording.
  useEffect(() => {
    if (state !== "recording") return;
    const handle = window.setInterval(() => setElapsed(recorder.current?.elapsed ?? 0), 250);
    return () => window.clearInterval(handle);
  }, [state]);

  // On the page's start: follow an existing recording (the host reloaded during processing), or,
  // on the client's page, the session's recordings.
  useEffect(() => {
    live.current = true;
    if (role === "client") {
      void (async () => {
        for (let i = 0; live.current && stateRef.current === "viewer"; i++) {
          const last = session.current.recordings.at(-1);
          setStatus(
            last
              ? `Recording: ${STATUS_TEXT[last.status] ?? last.status}${last.failure_reason ? ` ${last.failure_reason}` : ""}`
              : "The host records this session. Its status appears here.",
          );
          await wait(POLL_MS[Math.min(i, POLL_MS.length - 1)] ?? 5000);
          if (!live.current) return;
          try {
            session.current = await api.session(sessionId);
          } catch (err) {
            if (handleApiError(err)) return;
          }
        }
      })();
    } else {
      const existing = latestRecording(initial);
      if (existing) void follow(existing);
    }
    return () => {
      live.current = false;
      recorder.current?.release();
      recorder.current = null;
    };
    // Once per page: `initial` is the view the page loaded with.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  return {
    state,
    status,
    error,
    actions,
    focus,
    starting,
    stopping,
    preview,
    elapsed,
    progress,
    stages,
    pdfUrl,
    recordingId,
    recordingStatus,
    start,
    stop,
    retryUpload: upload,
    recordAgain,
    setRemoteAudio,
  };
}
