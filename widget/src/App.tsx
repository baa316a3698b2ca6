import { useEffect, useLayoutEffect, useRef } from "react";
import { CallPanel } from "./components/CallPanel";
import { RecordingPanel } from "./components/RecordingPanel";
import { SessionHeader } from "./components/SessionHeader";
import { TrackRecordingStatus } from "./components/TrackRecordingStatus";
import { useCall, type Call, type CallHooks } from "./hooks/useCall";
import { useRecording, type Recording } from "./hooks/useRecording";
import { useSession, type SessionContext } from "./hooks/useSession";
import { useTrackRecording, type TrackRecording } from "./hooks/useTrackRecording";
import type { CallStats } from "./hooks/useWebRTC";

/**
 * What the page offers integrators and tests on `window.AgentFlowWidget` (set while the widget is
 * mounted): the recording's remote-audio input and state, and the call's state and `getStats()`.
 */
export interface WidgetHandle {
  setRemoteAudio(stream: MediaStream | null): void;
  readonly state: Recording["state"];
  call: {
    readonly state: Call["state"];
    stats(): Promise<CallStats>;
    /** Restart ICE now (the page does it by itself when the connection fails or stays disconnected). */
    restartIce(): void;
  };
  /** This page's own track recording (issue 16). */
  tracks: {
    readonly state: TrackRecording["state"];
    readonly partsRecorded: number;
  };
}

declare global {
  interface Window {
    AgentFlowWidget?: WidgetHandle;
  }
}

export function App() {
  const load = useSession();
  if (load.status === "ready") return <Widget context={load} />;
  const error = load.status === "error";
  return (
    <main
      id="widget"
      data-state={error ? "error" : "loading"}
      data-call={error ? "ended" : "idle"}
      data-call-reason={error && load.reason === "expired" ? "expired" : undefined}
      aria-labelledby="title"
      aria-busy={!error}
    >
      <SessionHeader />
      <p id="status" className="status" role="status" aria-live="polite"></p>
      <p id="error" className="error" role="alert" tabIndex={-1}>
        {error ? load.message : ""}
      </p>
    </main>
  );
}

function Widget({ context }: { context: SessionContext }) {
  // The call and this page's track recording use each other: the call's End session finishes the
  // tracks first, and the host's pause reaches the other page on the call's control channel.
  const trackHooks = useRef<CallHooks>({});
  const call = useCall(context, {
    beforeEnd: () => trackHooks.current.beforeEnd?.() ?? Promise.resolve(),
    onControl: (message) => trackHooks.current.onControl?.(message),
    onControlOpen: () => trackHooks.current.onControlOpen?.(),
  });
  const tracks = useTrackRecording(context, call);
  useLayoutEffect(() => {
    trackHooks.current = tracks.hooks;
  });
  const recording = useRecording(context.api, context.sessionId, context.role, context.view);
  const { setRemoteAudio } = recording;
  const { remoteStream } = call.rtc;

  // The call's remote audio is recorded on channel 1 (the host's microphone on channel 0).
  useEffect(() => {
    setRemoteAudio(remoteStream);
  }, [remoteStream, setRemoteAudio]);

  useEffect(() => {
    document.title = `${call.me.name} · session with ${call.other.name}`;
  }, [call.me.name, call.other.name]);

  // The handle reads the latest render's values; its identity stays while the widget is mounted.
  const latest = useRef({ call, recording, tracks });
  useLayoutEffect(() => {
    latest.current = { call, recording, tracks };
  });
  useEffect(() => {
    const handle: WidgetHandle = {
      setRemoteAudio: (stream) => latest.current.recording.setRemoteAudio(stream),
      get state() {
        return latest.current.recording.state;
      },
      call: {
        get state() {
          return latest.current.call.state;
        },
        stats: () => latest.current.call.stats(),
        restartIce: () => latest.current.call.rtc.restartIce(),
      },
      tracks: {
        get state() {
          return latest.current.tracks.state;
        },
        get partsRecorded() {
          return latest.current.tracks.partsRecorded;
        },
      },
    };
    window.AgentFlowWidget = handle;
    return () => {
      if (window.AgentFlowWidget === handle) delete window.AgentFlowWidget;
    };
  }, []);

  const inCall = call.state !== "idle" && call.state !== "ended";
  return (
    <main
      id="widget"
      data-state={recording.state}
      data-call={call.state}
      data-call-reason={call.reason || undefined}
      data-recording={recording.recordingId ?? undefined}
      data-recording-status={recording.recordingStatus ?? undefined}
      data-call-recording={tracks.state}
      aria-labelledby="title"
      aria-busy={false}
    >
      <SessionHeader
        me={call.me.name}
        role={context.role}
        other={call.other.name}
        ended={context.view.status === "ended" || call.reason === "session-ended"}
      />
      <CallPanel call={call} />
      <TrackRecordingStatus
        tracks={tracks}
        inCall={inCall}
        ended={context.view.status === "ended" || call.reason === "session-ended"}
      />
      <RecordingPanel recording={recording} name={call.me.name} inCall={inCall} />
    </main>
  );
}
