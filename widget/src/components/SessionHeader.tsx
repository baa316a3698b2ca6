import type { Role } from "../api";

interface SessionHeaderProps {
  me?: string;
  role?: Role;
  other?: string;
  ended?: boolean;
}

/** Who is who in this session. */
export function SessionHeader({ me, role, other, ended }: SessionHeaderProps) {
  const known = me !== undefined;
  return (
    <header>
      <h1 id="title">{other ? `Session with ${other}` : "Session"}</h1>
      <dl className="facts">
        <div>
          <dt>You</dt>
          <dd id="participant">{me ?? "…"}</dd>
        </div>
        <div>
          <dt>Role</dt>
          <dd id="role">{role ? (role === "host" ? "Host" : "Client") : "…"}</dd>
        </div>
        <div>
          <dt>With</dt>
          <dd id="other">{other ?? "…"}</dd>
        </div>
        <div>
          <dt>Session</dt>
          <dd id="session-status">{known ? (ended ? "Ended" : "Scheduled") : "…"}</dd>
        </div>
      </dl>
    </header>
  );
}
