// Per-participant track upload (docs/CALL.md "Tracks"): clock sync, chunk store, uploader.
export { ClockSync, type ClockEstimate } from "./clock";
export { IndexedDbChunkStore, MemoryChunkStore, type ChunkStore } from "./store";
export { HttpError, TrackApi, TrackUploader, backoffMs, type TrackOptions } from "./uploader";
