import type { Call } from "../hooks/useCall";
import { CallControls } from "./CallControls";
import { CallStatus } from "./CallStatus";
import { VideoTile } from "./VideoTile";

interface CallPanelProps {
  call: Call;
}

function remoteNote(call: Call): string | undefined {
  switch (call.state) {
    case "idle":
      return "Not in the call";
    case "waiting":
      return `Waiting for ${call.other.name}…`;
    case "connecting":
      return "Connecting…";
    case "reconnecting":
      return "Reconnecting…";
    case "ended":
      return "The call has ended";
    case "connected":
      return call.rtc.remoteStream ? undefined : "Connecting…";
  }
}

function localNote(call: Call): string | undefined {
  const { rtc } = call;
  if (!rtc.localStream) return call.state === "ended" ? "The call has ended" : "Your camera appears here when you join";
  if (!rtc.localStream.getVideoTracks().length) return "Microphone only";
  if (!rtc.cameraOn) return "Camera off";
  return undefined;
}

/** Both participants' tiles with their names, the status line and the controls. */
export function CallPanel({ call }: CallPanelProps) {
  return (
    <section className="call" aria-label="Video call">
      <div className="tiles">
        <VideoTile
          who="local"
          stream={call.rtc.localStream}
          label={`${call.me.name} (you)`}
          muted
          mirrored
          note={localNote(call)}
        />
        <VideoTile who="remote" stream={call.rtc.remoteStream} label={call.other.name} note={remoteNote(call)} />
      </div>
      <CallStatus call={call} />
      <CallControls call={call} />
    </section>
  );
}
