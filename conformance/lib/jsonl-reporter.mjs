// A node:test reporter that writes one JSON line per finished test or suite:
// {"file", "path": [suite, ..., test], "status": "pass"|"fail"|"skip", "ms", "error"}.
// `cargo xtask conformance` reads these lines to print its table.
import { relative } from "node:path";

export default async function* jsonlReporter(source) {
  // The names of the tests running at each nesting level, per file (files run in parallel).
  const stacks = new Map();
  for await (const event of source) {
    const data = event.data ?? {};
    const file = data.file ? relative(process.cwd(), data.file) : "";
    if (event.type === "test:start") {
      const stack = stacks.get(file) ?? [];
      stack.length = data.nesting;
      stack.push(data.name);
      stacks.set(file, stack);
    } else if (event.type === "test:pass" || event.type === "test:fail") {
      const stack = (stacks.get(file) ?? []).slice(0, data.nesting);
      const details = data.details ?? {};
      const skipped = data.skip !== undefined || data.todo !== undefined;
      const line = {
        file,
        path: [...stack, data.name],
        suite: details.type === "suite",
        status: event.type === "test:fail" ? "fail" : skipped ? "skip" : "pass",
        ms: Math.round(details.duration_ms ?? 0),
      };
      if (event.type === "test:fail") {
        const err = details.error;
        line.error = String(err?.cause?.message ?? err?.message ?? err).slice(0, 2000);
      }
      yield JSON.stringify(line) + "\n";
    }
  }
}
