// Capture and recording: getUserMedia → a two-channel Web Audio graph → MediaRecorder (WebM/Opus).
//
// The recorded audio is always stereo with one participant per channel: channel 0 (left) carries
// the host's microphone, channel 1 (right) the remote participant's audio once a WebRTC call hands
// it over with `setRemoteAudio`. Until then channel 1 is silent, and the pipeline's ingest stage
// treats the file as one mix (it only trusts channels that are both non-silent and uncorrelated).

/** Why capture failed, in words a participant can act on. */
export class CaptureError extends Error {
  constructor(
    readonly kind: "denied" | "no-microphone" | "busy" | "unsupported",
    message: string,
  ) {
    super(message);
    this.name = "CaptureError";
  }
}

const VIDEO_TYPES = ["video/webm;codecs=vp8,opus", "video/webm;codecs=vp9,opus", "video/webm"];
const AUDIO_TYPES = ["audio/webm;codecs=opus", "audio/webm"];
// Opus at 64 kbit/s per channel keeps speech transparent; 1 Mbit/s VP8 is enough for a face tile.
const AUDIO_BITS_PER_SECOND = 128_000;
const VIDEO_BITS_PER_SECOND = 1_000_000;
// MediaRecorder hands over data every second, so a crash loses at most a second.
const TIMESLICE_MS = 1000;

function captureError(error: unknown): CaptureError {
  const name = error instanceof DOMException ? error.name : "";
  if (name === "NotAllowedError" || name === "SecurityError") {
    return new CaptureError(
      "denied",
      "Microphone access was denied. Allow the microphone for this page in your browser's site settings, then try again.",
    );
  }
  if (name === "NotFoundError" || name === "OverconstrainedError") {
    return new CaptureError("no-microphone", "No microphone was found. Connect one and try again.");
  }
  if (name === "NotReadableError" || name === "AbortError") {
    return new CaptureError(
      "busy",
      "The microphone is in use by another application, or the system blocked it. Close the other application and try again.",
    );
  }
  return new CaptureError("unsupported", `The microphone could not be opened (${name || String(error)}).`);
}

/** Ask for camera + microphone (or the microphone only); fall back to sound only if the camera fails. */
export async function openDevices(camera: boolean): Promise<MediaStream> {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new CaptureError("unsupported", "This browser cannot record here (a secure https page is needed).");
  }
  const audio: MediaTrackConstraints = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  if (camera) {
    try {
      return await navigator.mediaDevices.getUserMedia({ audio, video: { width: 640, height: 360 } });
    } catch {
      // The camera may be missing, busy or refused while the microphone is fine: try sound only,
      // and let that attempt's error (if any) explain what is wrong with the microphone.
    }
  }
  try {
    return await navigator.mediaDevices.getUserMedia({ audio, video: false });
  } catch (error) {
    throw captureError(error);
  }
}

function pickType(candidates: string[]): string {
  return candidates.find((t) => MediaRecorder.isTypeSupported(t)) ?? "";
}

/** A finished recording. `contentType` is what the upload declares (no codecs parameter). */
export interface Recorded {
  blob: Blob;
  contentType: string;
  filename: string;
  seconds: number;
}

/** Records one local stream (plus, when present, one remote audio stream) to WebM. */
export class SessionRecorder {
  private readonly context: AudioContext;
  private readonly merger: ChannelMergerNode;
  private readonly destination: MediaStreamAudioDestinationNode;
  private remote: MediaStreamAudioSourceNode | null = null;
  private recorder: MediaRecorder | null = null;
  private chunks: Blob[] = [];
  private startedAt = 0;

  constructor(readonly local: MediaStream) {
    this.context = new AudioContext();
    this.merger = this.context.createChannelMerger(2);
    // Each merger input is mixed down to mono, so a stereo microphone still fills channel 0 only.
    this.context.createMediaStreamSource(new MediaStream(local.getAudioTracks())).connect(this.merger, 0, 0);
    this.destination = this.context.createMediaStreamDestination();
    this.destination.channelCount = 2;
    this.destination.channelCountMode = "explicit";
    this.destination.channelInterpretation = "discrete";
    this.merger.connect(this.destination);
  }

  /** True while recording. */
  get recording(): boolean {
    return this.recorder?.state === "recording";
  }

  /** True when the local stream has a camera track (the recording is then a video). */
  get hasVideo(): boolean {
    return this.local.getVideoTracks().length > 0;
  }

  /** Seconds since `start` (0 before). */
  get elapsed(): number {
    return this.startedAt ? (performance.now() - this.startedAt) / 1000 : 0;
  }

  /**
   * Route the remote participant's audio to channel 1 (right), or disconnect it with `null`.
   * May be called before or during a recording.
   */
  setRemoteAudio(stream: MediaStream | null): void {
    this.remote?.disconnect();
    this.remote = null;
    if (stream && stream.getAudioTracks().length > 0) {
      this.remote = this.context.createMediaStreamSource(stream);
      this.remote.connect(this.merger, 0, 1);
    }
  }

  /** Start recording (call from a click: an AudioContext may only start after a user gesture). */
  async start(): Promise<void> {
    await this.context.resume();
    const tracks = [...this.destination.stream.getAudioTracks(), ...this.local.getVideoTracks()];
    const mimeType = pickType(this.hasVideo ? VIDEO_TYPES : AUDIO_TYPES);
    const options: MediaRecorderOptions = { audioBitsPerSecond: AUDIO_BITS_PER_SECOND };
    if (mimeType) options.mimeType = mimeType;
    if (this.hasVideo) options.videoBitsPerSecond = VIDEO_BITS_PER_SECOND;
    this.chunks = [];
    this.recorder = new MediaRecorder(new MediaStream(tracks), options);
    this.recorder.addEventListener("dataavailable", (event) => {
      if (event.data.size > 0) this.chunks.push(event.data);
    });
    this.recorder.start(TIMESLICE_MS);
    this.startedAt = performance.now();
  }

  /** Stop and return the whole recording. */
  stop(): Promise<Recorded> {
    const recorder = this.recorder;
    if (!recorder || recorder.state === "inactive") {
      return Promise.reject(new Error("not recording"));
    }
    const seconds = this.elapsed;
    return new Promise((resolve, reject) => {
      recorder.addEventListener(
        "stop",
        () => {
          const fallback = this.hasVideo ? "video/webm" : "audio/webm";
          const contentType = (recorder.mimeType || fallback).split(";")[0] ?? fallback;
          const blob = new Blob(this.chunks, { type: contentType });
          this.chunks = [];
          this.startedAt = 0;
          resolve({ blob, contentType, filename: "recording.webm", seconds });
        },
        { once: true },
      );
      recorder.addEventListener("error", () => reject(new Error("the recorder failed")), { once: true });
      recorder.stop();
    });
  }

  /** Stop the devices and the audio graph. */
  release(): void {
    if (this.recorder && this.recorder.state !== "inactive") this.recorder.stop();
    this.setRemoteAudio(null);
    for (const track of this.local.getTracks()) track.stop();
    void this.context.close();
  }
}
