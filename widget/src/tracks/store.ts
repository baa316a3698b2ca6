// Where recorder chunks wait until S3 has them: kept across a reload in IndexedDB (or in memory when
// IndexedDB is unavailable), removed once stored. Keyed by track id and part number.

export interface ChunkStore {
  put(trackId: string, part: number, blob: Blob): Promise<void>;
  remove(trackId: string, part: number): Promise<void>;
  list(trackId: string): Promise<Array<{ part: number; blob: Blob }>>;
  tracks(): Promise<string[]>;
}

export class MemoryChunkStore implements ChunkStore {
  private readonly chunks = new Map<string, Map<number, Blob>>();

  async put(trackId: string, part: number, blob: Blob): Promise<void> {
    let parts = this.chunks.get(trackId);
    if (!parts) {
      parts = new Map();
      this.chunks.set(trackId, parts);
    }
    parts.set(part, blob);
  }

  async remove(trackId: string, part: number): Promise<void> {
    this.chunks.get(trackId)?.delete(part);
  }

  async list(trackId: string): Promise<Array<{ part: number; blob: Blob }>> {
    const parts = this.chunks.get(trackId) ?? new Map<number, Blob>();
    return [...parts.entries()].sort((a, b) => a[0] - b[0]).map(([part, blob]) => ({ part, blob }));
  }

  async tracks(): Promise<string[]> {
    return [...this.chunks.keys()].filter((t) => (this.chunks.get(t)?.size ?? 0) > 0);
  }
}

const DB = "agentflow-tracks";
const STORE = "chunks";

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

export class IndexedDbChunkStore implements ChunkStore {
  private readonly db: Promise<IDBDatabase>;

  constructor(name: string = DB) {
    const open = indexedDB.open(name, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE);
    this.db = request(open);
  }

  private async store(mode: IDBTransactionMode): Promise<IDBObjectStore> {
    return (await this.db).transaction(STORE, mode).objectStore(STORE);
  }

  async put(trackId: string, part: number, blob: Blob): Promise<void> {
    await request((await this.store("readwrite")).put(blob, [trackId, part]));
  }

  async remove(trackId: string, part: number): Promise<void> {
    await request((await this.store("readwrite")).delete([trackId, part]));
  }

  async list(trackId: string): Promise<Array<{ part: number; blob: Blob }>> {
    const store = await this.store("readonly");
    const range = IDBKeyRange.bound([trackId, 0], [trackId, Number.MAX_SAFE_INTEGER]);
    const [keys, blobs] = await Promise.all([request(store.getAllKeys(range)), request(store.getAll(range))]);
    return keys.map((key, i) => ({ part: (key as [string, number])[1], blob: blobs[i] as Blob }));
  }

  async tracks(): Promise<string[]> {
    const keys = await request((await this.store("readonly")).getAllKeys());
    return [...new Set(keys.map((key) => (key as [string, number])[0]))];
  }
}
