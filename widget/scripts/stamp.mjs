// Write dist/build.json: a hash of everything the build reads, and of every file it wrote.
//
// tests/widget/test_widget_route.py recomputes both (in Python, without node): the committed
// dist/ must be the build of the committed src/ and lock file, and nobody edited dist/ by hand.
// Hash: sha256 over the files sorted by path (relative to widget/, "/"-separated), each fed as
// path, NUL, content, NUL.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const WIDGET = fileURLToPath(new URL("..", import.meta.url));
export const INPUTS = ["src", "package.json", "package-lock.json", "tsconfig.json", "vite.config.ts", "scripts/stamp.mjs"];

function files(path) {
  return statSync(path).isDirectory() ? readdirSync(path).flatMap((name) => files(join(path, name))) : [path];
}

function posix(path) {
  return relative(WIDGET, path).split(sep).join("/");
}

function digest(paths) {
  const hash = createHash("sha256");
  for (const name of paths.map(posix).sort()) {
    hash.update(name).update("\0").update(readFileSync(join(WIDGET, name))).update("\0");
  }
  return hash.digest("hex");
}

const inputs = INPUTS.flatMap((name) => files(join(WIDGET, name)));
const outputs = files(join(WIDGET, "dist")).filter((path) => !path.endsWith("build.json"));
const stamp = {
  inputs: INPUTS,
  inputs_sha256: digest(inputs),
  files: Object.fromEntries(
    outputs
      .map((path) => [relative(join(WIDGET, "dist"), path).split(sep).join("/"), createHash("sha256").update(readFileSync(path)).digest("hex")])
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  ),
};
writeFileSync(join(WIDGET, "dist", "build.json"), JSON.stringify(stamp, null, 2) + "\n");
console.log(`dist/build.json: inputs ${stamp.inputs_sha256.slice(0, 12)}…, ${outputs.length} files`);
