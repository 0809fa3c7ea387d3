#!/usr/bin/env node
// The breaking-change guard: compares the schema we serve (schema.graphql) with the last
// released one (schema/released.graphql) using GraphQL Inspector.
//
// Rule: every BREAKING change's schema coordinate (GraphQL Inspector's `path`: `Type`,
// `Type.field`, `Type.field.argument`, `Enum.VALUE`, `@directive`) must appear in backticks,
// e.g. `Order.total`, in CHANGELOG.md's `## [Unreleased]` section, under its `### Breaking`
// heading. Anything else (a missing coordinate, one listed under another heading or an older
// release) fails the check. Additions and dangerous changes are reported and pass.
//
// Usage: node scripts/schema-diff.mjs [--old FILE] [--new FILE] [--changelog FILE]
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { CriticalityLevel, diff } from "@graphql-inspector/core";
import { buildSchema } from "graphql";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Coordinates written in backticks under `### Breaking` of the `## [Unreleased]` section. */
export function acknowledgedBreakingChanges(changelog) {
  const unreleased = changelog.split(/^## /m).find((section) => /^\[?unreleased\]?/i.test(section)) ?? "";
  const breaking = unreleased.split(/^### /m).find((part) => /^breaking\b/i.test(part)) ?? "";
  return new Set([...breaking.matchAll(/`([^`\s]+)`/g)].map((match) => match[1]));
}

/** The diff and its verdict: `unacknowledged` breaking changes fail the check. */
export async function checkSchema({ oldSdl, newSdl, changelog }) {
  const changes = await diff(buildSchema(oldSdl), buildSchema(newSdl));
  const acknowledged = acknowledgedBreakingChanges(changelog);
  const breaking = changes.filter((change) => change.criticality.level === CriticalityLevel.Breaking);
  const unacknowledged = breaking.filter((change) => !acknowledged.has(change.path ?? ""));
  return {
    ok: unacknowledged.length === 0,
    breaking,
    unacknowledged,
    dangerous: changes.filter((change) => change.criticality.level === CriticalityLevel.Dangerous),
    safe: changes.filter((change) => change.criticality.level === CriticalityLevel.NonBreaking),
  };
}

async function main() {
  const { values } = parseArgs({
    options: {
      old: { type: "string", default: join(ROOT, "schema", "released.graphql") },
      new: { type: "string", default: join(ROOT, "schema.graphql") },
      changelog: { type: "string", default: join(ROOT, "CHANGELOG.md") },
    },
  });
  const result = await checkSchema({
    oldSdl: readFileSync(values.old, "utf8"),
    newSdl: readFileSync(values.new, "utf8"),
    changelog: readFileSync(values.changelog, "utf8"),
  });
  console.log(
    `schema-diff: ${result.safe.length} safe, ${result.dangerous.length} dangerous, ` +
      `${result.breaking.length} breaking change(s) since ${values.old}`,
  );
  for (const change of result.dangerous) console.log(`  dangerous  ${change.path}: ${change.message}`);
  for (const change of result.breaking) {
    const listed = result.unacknowledged.includes(change) ? "NOT IN CHANGELOG" : "in changelog";
    console.log(`  breaking   ${change.path}: ${change.message} (${listed})`);
  }
  if (!result.ok) {
    console.error(
      `\nschema-diff: ${result.unacknowledged.length} breaking change(s) are not recorded. Add each ` +
        "coordinate in backticks under `### Breaking` in the `## [Unreleased]` section of CHANGELOG.md, " +
        "saying what clients must change, e.g.\n" +
        result.unacknowledged.map((change) => `  - \`${change.path}\`: ${change.message}`).join("\n"),
    );
    process.exitCode = 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
