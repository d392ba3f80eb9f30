// Validate a Prisma schema file with Prisma's own engine (@prisma/prisma-schema-wasm).
//
//   node validate.mjs FILE     (FILE "-" reads the schema from stdin)
//   node validate.mjs DIR      (every *.prisma file of DIR: Prisma's multi-file schema)
//
// Exit 0: valid (lint warnings, if any, printed first). Exit 1: invalid, the engine's diagnostics on stdout.
// Exit 2: usage error, unreadable file, or an unexpected failure of the engine itself.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

function main(argv) {
  if (argv.length !== 1) {
    process.stderr.write("usage: node validate.mjs SCHEMA.prisma|-\n");
    return 2;
  }
  const [path] = argv;
  let files;
  try {
    if (path !== "-" && statSync(path).isDirectory()) {
      files = readdirSync(path)
        .filter((n) => n.endsWith(".prisma"))
        .sort()
        .map((n) => [n, readFileSync(join(path, n), "utf8")]);
    } else {
      files = [[path === "-" ? "schema.prisma" : path, readFileSync(path === "-" ? 0 : path, "utf8")]];
    }
  } catch (err) {
    process.stderr.write(`cannot read ${path}: ${err.message}\n`);
    return 2;
  }

  let wasm;
  try {
    wasm = require("@prisma/prisma-schema-wasm");
  } catch (err) {
    process.stderr.write(`cannot load @prisma/prisma-schema-wasm (run npm ci here): ${err.message}\n`);
    return 2;
  }

  // validate(params: string): void -- throws an Error whose message is a JSON
  // {error_code, message} when the schema is invalid.
  try {
    wasm.validate(JSON.stringify({ prismaSchema: files, noColor: true }));
  } catch (err) {
    const raw = err instanceof Error ? err.message : String(err);
    let report;
    try {
      report = JSON.parse(raw);
    } catch {
      process.stderr.write(`prisma-schema-wasm failed: ${raw}\n`);
      return 2;
    }
    if (!report || typeof report.message !== "string") {
      process.stderr.write(`prisma-schema-wasm failed: ${raw}\n`);
      return 2;
    }
    process.stdout.write(`${report.error_code ?? "error"}: ${report.message}\n`);
    return 1;
  }
  // lint(input: string): string -- input is the bare [[name, content]] list; returns a JSON
  // list of {file_name, start, end, text, is_warning}. Warnings do not fail validation.
  try {
    for (const item of JSON.parse(wasm.lint(JSON.stringify(files)))) {
      const content = (files.find(([n]) => n === item.file_name) ?? files[0])[1];
      const line = content.slice(0, item.start).split("\n").length;
      const kind = item.is_warning ? "warning" : "error";
      process.stdout.write(`${kind}: ${item.text}\n  -->  ${item.file_name}:${line}\n`);
    }
  } catch (err) {
    process.stderr.write(`prisma-schema-wasm lint failed (ignored): ${err.message ?? err}\n`);
  }
  process.stdout.write("valid\n");
  return 0;
}

process.exitCode = main(process.argv.slice(2));
