// The session widget: a two-party video call, and the host's recording (docs/WIDGET.md, docs/CALL.md).

import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import "./widget.css";

const root = document.getElementById("root");
if (!root) throw new Error("#root is missing from the page");
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
