import { useEffect, useRef, useState } from "react";
import { megabytes, type Recording } from "../hooks/useRecording";
import { StageList } from "./StageList";

interface RecordingPanelProps {
  recording: Recording;
  name: string;
  /** In a call, the call's tiles show the camera and the call records each page's own track: the
   *  preview tile and the single-file recording form are not repeated. */
  inCall: boolean;
}

function clock(seconds: number): string {
  const s = Math.floor(seconds);
  const hh = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return hh ? `${hh}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** The host's recording: preview, timer, start/stop, upload progress, stages, the PDF, messages. */
export function RecordingPanel({ recording: r, name, inCall }: RecordingPanelProps) {
  const [camera, setCamera] = useState(true);
  const previewRef = useRef<HTMLVideoElement>(null);
  const refs = {
    start: useRef<HTMLButtonElement>(null),
    stop: useRef<HTMLButtonElement>(null),
    upload: useRef<HTMLDivElement>(null),
    retry: useRef<HTMLButtonElement>(null),
    again: useRef<HTMLButtonElement>(null),
    error: useRef<HTMLParagraphElement>(null),
    pdf: useRef<HTMLAnchorElement>(null),
  };
  const show = (...states: Recording["state"][]): boolean => states.includes(r.state);

  useEffect(() => {
    if (r.focus) refs[r.focus.target].current?.focus();
    // Only a new focus request moves the focus; the refs are stable.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [r.focus]);

  useEffect(() => {
    const video = previewRef.current;
    if (!video) return;
    video.srcObject = r.preview;
    return () => {
      video.srcObject = null;
    };
  }, [r.preview]);

  const percent = r.progress && r.progress.total ? Math.floor((r.progress.loaded / r.progress.total) * 100) : 0;
  return (
    <section className="recording" aria-label="Recording">
      <section className="tile" id="tile" aria-label="Your video" hidden={inCall || !show("idle", "recording")}>
        <video id="preview" ref={previewRef} autoPlay muted playsInline aria-label="Your camera preview" hidden={!r.preview} />
        <p className="tile-note" id="tile-note" hidden={!!r.preview}>
          {r.state === "recording" ? "Microphone only" : "Your camera preview appears here while you record."}
        </p>
        <p className="tile-name" id="tile-name">
          {name}
        </p>
        <p className="rec-badge" hidden={!show("recording")} aria-hidden="true">
          ● REC
        </p>
      </section>

      <p className="timer" hidden={!show("recording")}>
        <span className="visually-hidden">Recording time: </span>
        <span id="timer" role="timer">
          {clock(r.elapsed)}
        </span>
      </p>

      {/* In a call each page records its own track (useTrackRecording): no second, mixed recording. */}
      <form
        id="setup"
        hidden={inCall || !show("idle")}
        onSubmit={(event) => {
          event.preventDefault();
          void r.start(camera);
        }}
      >
        <label className="check">
          <input type="checkbox" id="use-camera" checked={camera} onChange={(e) => setCamera(e.target.checked)} /> Use
          my camera
        </label>
        <button type="submit" id="start" className="primary" ref={refs.start} disabled={r.starting}>
          Start recording
        </button>
      </form>

      <button
        type="button"
        id="stop"
        className="primary danger"
        ref={refs.stop}
        hidden={!show("recording")}
        disabled={r.stopping}
        onClick={() => void r.stop()}
      >
        Stop and upload
      </button>

      <div className="upload" id="upload" tabIndex={-1} ref={refs.upload} hidden={!show("uploading")}>
        <label htmlFor="progress">Upload</label>
        <progress id="progress" max={100} value={percent}>
          {percent}%
        </progress>
        <span id="progress-text" aria-hidden="true">
          {percent}% of {megabytes(r.progress?.total ?? 0)}
        </span>
      </div>

      <StageList stages={r.stages} hidden={!show("processing", "done", "failed")} />

      <p className="result" hidden={!show("done")}>
        <a id="pdf" ref={refs.pdf} href={r.pdfUrl ?? "#"} target="_blank" rel="noopener noreferrer" hidden={!r.pdfUrl}>
          Open the signed summary (PDF)
        </a>
      </p>

      <p id="status" className="status" role="status" aria-live="polite">
        {inCall && show("idle") ? "" : r.status}
      </p>
      <p id="error" className="error" role="alert" tabIndex={-1} ref={refs.error}>
        {r.error}
      </p>

      <div className="actions">
        <button type="button" id="retry" ref={refs.retry} hidden={!r.actions.retry} onClick={() => void r.retryUpload()}>
          Retry upload
        </button>
        <button type="button" id="again" ref={refs.again} hidden={!r.actions.again} onClick={r.recordAgain}>
          Record again
        </button>
      </div>
    </section>
  );
}
