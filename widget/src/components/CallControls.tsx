import type { Call } from "../hooks/useCall";

interface CallControlsProps {
  call: Call;
}

/** Join / leave, mute and camera toggles, and (host only) End session. Native buttons: keyboard-usable. */
export function CallControls({ call }: CallControlsProps) {
  const { state, rtc } = call;
  const inCall = state !== "idle" && state !== "ended";
  return (
    <div className="call-controls" role="group" aria-label="Call controls">
      {state === "idle" ? (
        <button type="button" className="primary" onClick={() => void call.join()} disabled={!call.canJoin || call.busy}>
          Join call
        </button>
      ) : null}
      {inCall ? (
        <>
          <button type="button" aria-pressed={rtc.muted} onClick={rtc.toggleMute} title="Stop or resume sending your microphone">
            Mute
          </button>
          <button
            type="button"
            aria-pressed={rtc.cameraOn}
            onClick={rtc.toggleCamera}
            disabled={!rtc.localStream?.getVideoTracks().length}
            title="Send or stop sending your camera"
          >
            Camera
          </button>
          <button type="button" onClick={call.leave}>
            Leave call
          </button>
        </>
      ) : null}
      {call.me.role === "host" && state !== "ended" ? (
        <button type="button" className="danger" onClick={() => void call.endSession()} disabled={call.busy}>
          End session
        </button>
      ) : null}
    </div>
  );
}
