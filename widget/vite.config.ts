// The widget's build: src/index.html → dist/index.html + dist/assets/{main.js,widget.css}.
//
// `base: "/widget/"`: the API serves the page at /widget/{session_id} and its files at
// /widget/assets/{name} (the static site in AWS uses the same paths). File names are fixed, not
// content-hashed: the page is served `no-store` and the assets `no-cache` (revalidated by ETag),
// and the API's asset route and the deploy steps in docs/WIDGET.md name them.
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({
  root: "src",
  base: "/widget/",
  publicDir: false,
  plugins: [react()],
  build: {
    outDir: "../dist",
    emptyOutDir: true,
    target: "es2022",
    modulePreload: false,
    sourcemap: false,
    cssCodeSplit: false,
    rolldownOptions: {
      output: {
        entryFileNames: "assets/main.js",
        chunkFileNames: "assets/[name].js",
        assetFileNames: (asset) => (asset.names.some((n) => n.endsWith(".css")) ? "assets/widget.css" : "assets/[name][extname]"),
      },
    },
  },
});
