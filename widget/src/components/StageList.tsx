import type { Stage } from "../hooks/useRecording";

/** What a stage's status means to a person (the API's words are for programs). */
const STATUS_TEXT: Record<string, string> = {
  QUEUED: "waiting to start",
  RUNNING: "running",
  RETRYING: "retrying after an error",
  DONE: "done",
};

/** A long recording is cut into parts, each its own job (issue 19): count them only then. */
function parts(stage: Stage): { done: number; total: number } | null {
  return stage.chunks && stage.chunks.total > 1 ? stage.chunks : null;
}

/** One line per stage, e.g. "transcribe: running — 3 of 12 parts" or "summarize: done (1.4 s)". */
export function stageText(stage: Stage): string {
  const status = STATUS_TEXT[stage.status] ?? stage.status.toLowerCase();
  const cut = parts(stage);
  const count = cut ? ` — ${cut.done} of ${cut.total} parts` : "";
  const seconds = stage.seconds != null ? ` (${stage.seconds.toFixed(1)} s)` : "";
  return `${stage.name}: ${status}${count}${seconds}`;
}

interface StageListProps {
  stages: Stage[];
  hidden: boolean;
}

/** The processing stages: the text says everything; a chunked stage also gets a bar of its parts. */
export function StageList({ stages, hidden }: StageListProps) {
  return (
    <ol className="stages" id="stages" aria-label="Processing stages" hidden={hidden}>
      {stages.map((stage) => {
        const cut = parts(stage);
        return (
          <li
            key={stage.name}
            data-stage={stage.name}
            data-status={stage.status}
            data-chunks-done={cut?.done}
            data-chunks-total={cut?.total}
          >
            <span className="stage-text">{stageText(stage)}</span>
            {/* The text above already says it: the bar is for the eye only. */}
            {cut && <progress className="stage-parts" max={cut.total} value={cut.done} aria-hidden="true" />}
          </li>
        );
      })}
    </ol>
  );
}
