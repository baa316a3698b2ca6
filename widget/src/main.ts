// The session widget: who you are in the session, record (host), upload, follow processing, open the PDF.
//
// States (on <main data-state>): loading → idle → recording → uploading → processing → done | failed,
// plus `viewer` (the client's page: status only) and `error` (nothing left to do on this page, e.g.
// an expired link). Recoverable errors (denied microphone, dropped upload) keep their state and show
// a message and a button.

import { Api, ApiError, apiBase, readClaims, type RecordingView, type Role, type SessionView } from "./api.js";
import { CaptureError, openDevices, SessionRecorder, type Recorded } from "./recorder.js";
import { NetworkError, postForm, StorageError } from "./upload.js";

type State =
  | "loading"
  | "idle"
  | "recording"
  | "uploading"
  | "processing"
  | "done"
  | "failed"
  | "viewer"
  | "error";

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
const EXPIRED =
  "This link has expired or is not valid. Ask the organiser of the session for a new link.";

function $(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el;
}

const ui = {
  main: $("widget"),
  title: $("title"),
  participant: $("participant"),
  role: $("role"),
  other: $("other"),
  sessionStatus: $("session-status"),
  preview: $("preview") as HTMLVideoElement,
  tileNote: $("tile-note"),
  tileName: $("tile-name"),
  timer: $("timer"),
  setup: $("setup") as HTMLFormElement,
  useCamera: $("use-camera") as HTMLInputElement,
  start: $("start") as HTMLButtonElement,
  stop: $("stop") as HTMLButtonElement,
  upload: $("upload"),
  progress: $("progress") as HTMLProgressElement,
  progressText: $("progress-text"),
  stages: $("stages"),
  pdf: $("pdf") as HTMLAnchorElement,
  status: $("status"),
  error: $("error"),
  retry: $("retry") as HTMLButtonElement,
  again: $("again") as HTMLButtonElement,
};

let state: State = "loading";
let api: Api;
let sessionId = "";
let session: SessionView | null = null;
let recorder: SessionRecorder | null = null;
let remoteAudio: MediaStream | null = null;
let pending: Recorded | null = null; // recorded, not yet uploaded (kept for "Retry upload")
let grant: Awaited<ReturnType<Api["createRecording"]>> | null = null;
let timerHandle = 0;

function setState(next: State): void {
  state = next;
  ui.main.dataset["state"] = next;
  ui.main.setAttribute("aria-busy", String(next === "loading"));
  for (const el of ui.main.querySelectorAll<HTMLElement>("[data-show]")) {
    el.hidden = !(el.dataset["show"] ?? "").split(" ").includes(next);
  }
}

function say(message: string): void {
  ui.status.textContent = message;
}

function fail(message: string, actions: { retry?: boolean; again?: boolean } = {}): void {
  ui.error.textContent = message;
  ui.retry.hidden = !actions.retry;
  ui.again.hidden = !actions.again;
  (actions.retry ? ui.retry : actions.again ? ui.again : ui.error).focus();
}

function clearError(): void {
  ui.error.textContent = "";
  ui.retry.hidden = true;
  ui.again.hidden = true;
}

function fatal(message: string): void {
  stopTimer();
  recorder?.release();
  recorder = null;
  setState("error");
  say("");
  fail(message);
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MB`;
}

function clock(seconds: number): string {
  const s = Math.floor(seconds);
  const hh = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return hh ? `${hh}:${mm}:${ss}` : `${mm}:${ss}`;
}

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** API errors every step handles the same way; returns true when handled. */
function handleApiError(error: unknown): boolean {
  if (error instanceof ApiError && error.status === 401) {
    fatal(`${EXPIRED} (${error.detail})`);
    return true;
  }
  return false;
}

// ------------------------------------------------------------------------------------------ session

function showSession(view: SessionView, role: Role): void {
  session = view;
  const me = role === "host" ? view.host : view.client;
  const other = role === "host" ? view.client : view.host;
  ui.title.textContent = `Session with ${other.name}`;
  ui.participant.textContent = me.name;
  ui.role.textContent = role === "host" ? "Host" : "Client";
  ui.other.textContent = other.name;
  ui.sessionStatus.textContent = view.status === "ended" ? "Ended" : "Scheduled";
  ui.tileName.textContent = me.name;
  document.title = `${me.name} · session with ${other.name}`;
}

function latestRecording(view: SessionView): RecordingView["recording_id"] | null {
  const last = view.recordings.at(-1);
  return last && last.status !== "PENDING_UPLOAD" && last.status !== "FAILED" ? last.recording_id : null;
}

async function watchAsViewer(): Promise<void> {
  // The client's page: no recording here (the host records); follow the session's recordings.
  for (let i = 0; state === "viewer"; i++) {
    const last = session?.recordings.at(-1);
    say(
      last
        ? `Recording: ${STATUS_TEXT[last.status] ?? last.status}${last.failure_reason ? ` ${last.failure_reason}` : ""}`
        : "The host records this session. Its status appears here.",
    );
    await wait(POLL_MS[Math.min(i, POLL_MS.length - 1)] ?? 5000);
    try {
      session = await api.session(sessionId);
    } catch (error) {
      if (handleApiError(error)) return;
    }
  }
}

// ---------------------------------------------------------------------------------------- recording

function startTimer(): void {
  ui.timer.textContent = "00:00";
  timerHandle = window.setInterval(() => {
    ui.timer.textContent = clock(recorder?.elapsed ?? 0);
  }, 250);
}

function stopTimer(): void {
  window.clearInterval(timerHandle);
}

async function startRecording(): Promise<void> {
  clearError();
  ui.start.disabled = true;
  say("Asking for your microphone" + (ui.useCamera.checked ? " and camera…" : "…"));
  try {
    const stream = await openDevices(ui.useCamera.checked);
    recorder = new SessionRecorder(stream);
    recorder.setRemoteAudio(remoteAudio);
    ui.preview.srcObject = recorder.hasVideo ? stream : null;
    ui.preview.hidden = !recorder.hasVideo;
    ui.tileNote.hidden = recorder.hasVideo;
    ui.tileNote.textContent = "Microphone only";
    await recorder.start();
  } catch (error) {
    recorder?.release();
    recorder = null;
    ui.start.disabled = false;
    say("");
    fail(error instanceof CaptureError ? error.message : `Recording could not start: ${String(error)}`);
    return;
  }
  setState("recording");
  startTimer();
  say(recorder.hasVideo ? "Recording camera and microphone." : "Recording the microphone.");
  ui.stop.focus();
}

async function stopRecording(): Promise<void> {
  if (!recorder) return;
  ui.stop.disabled = true;
  stopTimer();
  try {
    pending = await recorder.stop();
  } finally {
    recorder.release();
    recorder = null;
    ui.preview.srcObject = null;
    ui.preview.hidden = true;
    ui.tileNote.hidden = false;
    ui.tileNote.textContent = "Your camera preview appears here while you record.";
    ui.stop.disabled = false;
  }
  grant = null;
  await upload();
}

// ------------------------------------------------------------------------------------------- upload

function showProgress(loaded: number, total: number): void {
  const percent = total ? Math.floor((loaded / total) * 100) : 0;
  ui.progress.value = percent;
  ui.progress.textContent = `${percent}%`;
  ui.progressText.textContent = `${percent}% of ${megabytes(total)}`;
}

async function upload(): Promise<void> {
  if (!pending) return;
  const recorded = pending;
  clearError();
  setState("uploading");
  showProgress(0, recorded.blob.size);
  ui.upload.focus();
  say(`Uploading ${megabytes(recorded.blob.size)}…`);
  for (let attempt = 1; attempt <= UPLOAD_ATTEMPTS; attempt++) {
    if (attempt > 1) say(`Uploading ${megabytes(recorded.blob.size)} (attempt ${attempt} of ${UPLOAD_ATTEMPTS})…`);
    try {
      if (!grant || Date.parse(grant.expires_at) - Date.now() < GRANT_MARGIN_MS) {
        grant = await api.createRecording(sessionId, recorded.filename, recorded.contentType);
      }
      if (recorded.blob.size > grant.max_bytes) {
        pending = null;
        fail(
          `The recording is ${megabytes(recorded.blob.size)}, over the upload limit of ` +
            `${megabytes(grant.max_bytes)}. Record a shorter session, or record without the camera.`,
          { again: true },
        );
        say("");
        return;
      }
      await postForm(grant.upload.url, grant.upload.fields, recorded.blob, recorded.filename, showProgress);
    } catch (error) {
      if (handleApiError(error)) return;
      if (error instanceof ApiError) {
        fail(`The upload could not be started: ${error.detail}`, { retry: error.status >= 500 });
        say("");
        return;
      }
      if (error instanceof StorageError) {
        if (error.code === "EntityTooLarge") {
          pending = null;
          fail("The recording is over the upload limit. Record a shorter session.", { again: true });
          say("");
          return;
        }
        if (error.status === 403 && /expire/i.test(error.message) && attempt < UPLOAD_ATTEMPTS) {
          grant = null; // the presigned POST expired while waiting: ask for a new one
          continue;
        }
        fail(`The storage service refused the upload: ${error.message}`, { retry: true });
        say("");
        return;
      }
      if (!(error instanceof NetworkError || error instanceof TypeError)) throw error;
      if (attempt === UPLOAD_ATTEMPTS) {
        fail(
          "The upload failed: the network connection dropped. Check your connection, then press Retry upload.",
          { retry: true },
        );
        say("");
        return;
      }
      const delay = RETRY_BASE_MS * 2 ** (attempt - 1);
      say(
        `The network connection dropped; retrying in ${delay / 1000} s (attempt ${attempt + 1} of ${UPLOAD_ATTEMPTS})…`,
      );
      await wait(delay);
      continue;
    }
    pending = null;
    say("Uploaded.");
    await follow(grant.recording_id);
    return;
  }
}

// --------------------------------------------------------------------------------------- processing

function showStages(view: RecordingView): void {
  const items = Object.entries(view.stages).map(([name, progress]) => {
    const li = document.createElement("li");
    const seconds = progress.seconds != null ? ` (${progress.seconds.toFixed(1)} s)` : "";
    li.textContent = `${name}: ${progress.status.toLowerCase()}${seconds}`;
    li.dataset["status"] = progress.status;
    return li;
  });
  ui.stages.replaceChildren(...items);
}

async function follow(recordingId: string): Promise<void> {
  ui.main.dataset["recording"] = recordingId;
  setState("processing");
  let lastStatus = "";
  for (let i = 0; state === "processing"; i++) {
    let view: RecordingView;
    try {
      view = await api.recording(recordingId);
    } catch (error) {
      if (handleApiError(error)) return;
      say("Lost the connection to the service; still trying…");
      await wait(5000);
      continue;
    }
    ui.main.dataset["recordingStatus"] = view.status;
    showStages(view);
    if (view.status === "COMPLETED") {
      await finish();
      return;
    }
    if (view.status === "FAILED") {
      setState("failed");
      say("");
      fail(`The recording could not be processed: ${view.failure_reason ?? "unknown reason"}`, { again: true });
      return;
    }
    if (view.status !== lastStatus) {
      lastStatus = view.status;
      const waitsForEnd = view.status === "UPLOADED" && session?.auto_start_recording === false;
      say(waitsForEnd ? "Uploaded. Processing starts when the session ends." : (STATUS_TEXT[view.status] ?? view.status));
    }
    await wait(POLL_MS[Math.min(i, POLL_MS.length - 1)] ?? 5000);
  }
}

async function finish(): Promise<void> {
  setState("done");
  for (let attempt = 1; attempt <= SUMMARY_ATTEMPTS; attempt++) {
    try {
      const summary = await api.summary(sessionId);
      if (summary.pdf_url) {
        ui.pdf.href = summary.pdf_url;
        ui.pdf.hidden = false;
        say("The signed summary is ready.");
        ui.pdf.focus();
        return;
      }
    } catch (error) {
      // 404 until the summary is stored; 401/403 when the API only gives summaries to API keys.
      if (!(error instanceof ApiError) || error.status >= 500 || [401, 403].includes(error.status)) break;
    }
    await wait(1000 * attempt);
  }
  say("Processing is complete. The organiser of the session has the signed summary.");
}

// ------------------------------------------------------------------------------------------- start

async function main(): Promise<void> {
  setState("loading");
  const url = new URL(window.location.href);
  sessionId = url.searchParams.get("session") ?? url.pathname.split("/").filter(Boolean).at(-1) ?? "";
  const storageKey = `agentflow-token:${sessionId}`;
  const token = url.searchParams.get("token") ?? sessionStorage.getItem(storageKey) ?? "";
  if (url.searchParams.has("token")) {
    // Keep the token for a reload, but out of the address bar, history and screenshots.
    sessionStorage.setItem(storageKey, token);
    url.searchParams.delete("token");
    history.replaceState(null, "", url.toString());
  }
  if (!token || !sessionId) {
    fatal("This link is incomplete: it has no session or join token. Use the full link you were sent.");
    return;
  }
  api = new Api(apiBase(document, window.location), token);
  const role: Role = readClaims(token).role === "client" ? "client" : "host";
  let view: SessionView;
  try {
    view = await api.session(sessionId);
  } catch (error) {
    if (handleApiError(error)) return;
    fatal(error instanceof ApiError ? `The session could not be opened: ${error.detail}` : String(error));
    return;
  }
  showSession(view, role);
  if (view.status === "DELETED") {
    fatal("This session was deleted.");
    return;
  }
  if (role === "client") {
    setState("viewer");
    await watchAsViewer();
    return;
  }
  const existing = latestRecording(view);
  if (existing) {
    await follow(existing);
    return;
  }
  setState("idle");
  say("Ready to record.");
}

ui.setup.addEventListener("submit", (event) => {
  event.preventDefault();
  void startRecording();
});
ui.stop.addEventListener("click", () => void stopRecording());
ui.retry.addEventListener("click", () => void upload());
ui.again.addEventListener("click", () => {
  clearError();
  pending = null;
  grant = null;
  ui.stages.replaceChildren();
  ui.pdf.hidden = true;
  ui.start.disabled = false;
  setState("idle");
  say("Ready to record.");
  ui.start.focus();
});

/**
 * The hook for the WebRTC call (not built yet): hand over the remote participant's audio and it is
 * recorded on channel 1, the host's microphone on channel 0.
 */
const widgetApi = {
  setRemoteAudio(stream: MediaStream | null): void {
    remoteAudio = stream;
    recorder?.setRemoteAudio(stream);
  },
  get state(): State {
    return state;
  },
};
(window as unknown as { AgentFlowWidget: typeof widgetApi }).AgentFlowWidget = widgetApi;

void main().catch((error: unknown) => fatal(`Something went wrong: ${String(error)}`));
