// The AgentFlow HTTP API as the widget uses it, authenticated with the participant's join token.
/** A non-2xx answer from the API; `detail` is the API's `{"detail": ...}` reason. */
export class ApiError extends Error {
    status;
    detail;
    constructor(status, detail) {
        super(`${status}: ${detail}`);
        this.status = status;
        this.detail = detail;
        this.name = "ApiError";
    }
}
/** Decode a JWT's payload without verifying it; `{}` when it is not a JWT. */
export function readClaims(token) {
    const part = token.split(".")[1];
    if (!part)
        return {};
    try {
        const json = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
        const claims = JSON.parse(json);
        return typeof claims === "object" && claims !== null ? claims : {};
    }
    catch {
        return {}; // a malformed token: the API's 401 is the message the user sees
    }
}
function detailOf(body, fallback) {
    if (typeof body === "object" && body !== null && "detail" in body) {
        const detail = body.detail;
        if (typeof detail === "string")
            return detail;
        if (typeof detail === "object" && detail !== null && "message" in detail) {
            return String(detail.message);
        }
    }
    return fallback;
}
export class Api {
    base;
    token;
    constructor(base, token) {
        this.base = base;
        this.token = token;
    }
    async call(method, path, body) {
        const headers = { Authorization: `Bearer ${this.token}` };
        const init = { method, headers, cache: "no-store", referrerPolicy: "no-referrer" };
        if (body !== undefined) {
            headers["Content-Type"] = "application/json";
            init.body = JSON.stringify(body);
        }
        const response = await fetch(`${this.base}${path}`, init);
        const payload = await response.json().catch(() => null);
        if (!response.ok) {
            throw new ApiError(response.status, detailOf(payload, response.statusText || "request failed"));
        }
        return payload;
    }
    session(sessionId) {
        return this.call("GET", `/v1/sessions/${encodeURIComponent(sessionId)}`);
    }
    createRecording(sessionId, filename, contentType) {
        return this.call("POST", `/v1/sessions/${encodeURIComponent(sessionId)}/recordings`, {
            filename,
            content_type: contentType,
        });
    }
    recording(recordingId) {
        return this.call("GET", `/v1/recordings/${encodeURIComponent(recordingId)}`);
    }
    summary(sessionId) {
        return this.call("GET", `/v1/sessions/${encodeURIComponent(sessionId)}/summary`);
    }
}
/**
 * Where the API lives: the page's `<meta name="agentflow-api">` when set (static hosting on
 * S3/CloudFront), else the part of this page's URL before `/widget/` (served by the API itself).
 */
export function apiBase(doc, location) {
    const configured = doc.querySelector('meta[name="agentflow-api"]')?.content.trim();
    if (configured)
        return configured.replace(/\/+$/, "");
    const path = location.pathname;
    const at = path.lastIndexOf("/widget/");
    return location.origin + (at >= 0 ? path.slice(0, at) : "");
}
