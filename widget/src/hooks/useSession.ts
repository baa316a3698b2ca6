// Who this page is: the session id (from the path), the join token (from the query string, kept in
// sessionStorage for a reload and out of the address bar), and the session view.

import { useEffect, useState } from "react";
import { Api, ApiError, apiBase, readClaims, type Role, type SessionView } from "../api";

export const EXPIRED =
  "This link has expired or is not valid. Ask the organiser of the session for a new link.";

export interface SessionContext {
  api: Api;
  sessionId: string;
  token: string;
  role: Role;
  view: SessionView;
}

export type SessionLoad =
  | { status: "loading" }
  | { status: "error"; message: string; reason: "incomplete" | "expired" | "deleted" | "failed" }
  | ({ status: "ready" } & SessionContext);

/** Read the session id and token from the URL (once: it rewrites the URL). */
function readLocation(): { sessionId: string; token: string } {
  const url = new URL(window.location.href);
  const sessionId = url.searchParams.get("session") ?? url.pathname.split("/").filter(Boolean).at(-1) ?? "";
  const storageKey = `agentflow-token:${sessionId}`;
  const token = url.searchParams.get("token") ?? sessionStorage.getItem(storageKey) ?? "";
  if (url.searchParams.has("token")) {
    // Keep the token for a reload, but out of the address bar, history and screenshots.
    sessionStorage.setItem(storageKey, token);
    url.searchParams.delete("token");
    history.replaceState(null, "", url.toString());
  }
  return { sessionId, token };
}

export function useSession(): SessionLoad {
  const [load, setLoad] = useState<SessionLoad>({ status: "loading" });
  useEffect(() => {
    let live = true;
    const { sessionId, token } = readLocation();
    if (!token || !sessionId) {
      setLoad({
        status: "error",
        reason: "incomplete",
        message: "This link is incomplete: it has no session or join token. Use the full link you were sent.",
      });
      return;
    }
    const api = new Api(apiBase(document, window.location), token);
    const role: Role = readClaims(token).role === "client" ? "client" : "host";
    api.session(sessionId).then(
      (view) => {
        if (!live) return;
        if (view.status === "DELETED") {
          setLoad({ status: "error", reason: "deleted", message: "This session was deleted." });
          return;
        }
        setLoad({ status: "ready", api, sessionId, token, role, view });
      },
      (error: unknown) => {
        if (!live) return;
        if (error instanceof ApiError && error.status === 401) {
          setLoad({ status: "error", reason: "expired", message: `${EXPIRED} (${error.detail})` });
        } else {
          const detail = error instanceof ApiError ? error.detail : String(error);
          setLoad({ status: "error", reason: "failed", message: `The session could not be opened: ${detail}` });
        }
      },
    );
    return () => {
      live = false;
    };
  }, []);
  return load;
}
