// The upload: a presigned S3 POST sent with XMLHttpRequest, because fetch() reports no upload progress.

/** The request never got an answer (offline, connection reset, DNS, CORS): worth retrying. */
export class NetworkError extends Error {
  constructor() {
    super("The connection to the storage service failed.");
    this.name = "NetworkError";
  }
}

/** S3 answered with an error (its XML `<Code>` and `<Message>`). */
export class StorageError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "StorageError";
  }
}

function xmlText(xml: string, tag: string): string {
  const match = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  return match?.[1] ?? "";
}

/**
 * POST `fields` and then the file (S3 ignores every field after `file`) as multipart/form-data.
 *
 * @param onProgress called with (bytes sent, bytes in the request body).
 */
export function postForm(
  url: string,
  fields: Record<string, string>,
  file: Blob,
  filename: string,
  onProgress: (loaded: number, total: number) => void,
): Promise<void> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append("file", file, filename);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve();
        return;
      }
      const body = xhr.responseText || "";
      const code = xmlText(body, "Code");
      reject(new StorageError(xhr.status, code, xmlText(body, "Message") || `HTTP ${xhr.status}`));
    });
    xhr.addEventListener("error", () => reject(new NetworkError()));
    xhr.addEventListener("timeout", () => reject(new NetworkError()));
    xhr.send(form);
  });
}
