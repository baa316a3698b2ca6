import type { TrackRecording } from "../hooks/useTrackRecording";

interface TrackRecordingStatusProps {
  tracks: TrackRecording;
  inCall: boolean;
  ended: boolean;
}

const TEXT = {
  on: "● Recording: your microphone is recorded for the session's summary.",
  paused: "Recording paused by the host.",
  off: "Not recording.",
} as const;

/**
 * The call's recording (issue 16): a notice before joining, the indicator during the call, and the
 * host's Pause recording / Resume recording.
 */
export function TrackRecordingStatus({ tracks, inCall, ended }: TrackRecordingStatusProps) {
  return (
    <section className="call-recording" aria-label="Call recording">
      {!inCall && !ended ? (
        <p id="recording-notice" className="notice">
          This session is recorded: when the call connects, each participant's microphone is recorded and
          uploaded for the session's transcript and summary.
        </p>
      ) : null}
      {inCall ? (
        <p id="recording-indicator" className={`recording-indicator ${tracks.state}`} role="status" aria-live="polite">
          {tracks.state === "paused" && tracks.canControl
            ? "Recording paused."
            : tracks.state === "on" && tracks.video
              ? "● Recording: your microphone and camera are recorded for the session."
              : TEXT[tracks.state]}
        </p>
      ) : null}
      {inCall && tracks.canControl ? (
        tracks.state === "paused" ? (
          <button type="button" onClick={tracks.resume}>
            Resume recording
          </button>
        ) : (
          <button type="button" onClick={tracks.pause} disabled={tracks.state !== "on"}>
            Pause recording
          </button>
        )
      ) : null}
      {tracks.error ? (
        <p className="error" id="recording-error" role="alert">
          {tracks.error}
        </p>
      ) : null}
    </section>
  );
}
