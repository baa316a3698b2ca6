import type { Call } from "../hooks/useCall";

interface CallStatusProps {
  call: Call;
}

/** The call's status line (announced politely) and, when there is one, an error to act on. */
export function CallStatus({ call }: CallStatusProps) {
  return (
    <>
      <p className="call-status" id="call-status" aria-live="polite">
        {call.message}
      </p>
      {call.alert ? (
        <p className="error" id="call-error" role="alert">
          {call.alert}
        </p>
      ) : null}
    </>
  );
}
