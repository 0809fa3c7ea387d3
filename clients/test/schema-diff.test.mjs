// The breaking-change guard itself (scripts/schema-diff.mjs), on fixture schemas, and on the
// repository: schema.graphql against schema/released.graphql with CHANGELOG.md.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { acknowledgedBreakingChanges, checkSchema } from "../scripts/schema-diff.mjs";

const SCRIPT = fileURLToPath(new URL("../scripts/schema-diff.mjs", import.meta.url));
const RELEASED = `
  type Query { order(id: ID!): Order }
  type Order { id: ID! number: String! total: String note: String }
  enum Status { OPEN CLOSED }
`;
const FIELD_REMOVED = RELEASED.replace(" note: String", "");
const FIELD_ADDED = RELEASED.replace(" note: String", " note: String placedAt: String");

const changelog = (breaking, added = "") => `# Changelog

## [Unreleased]

### Breaking
${breaking}

### Added
${added}

## [1.0.0]

### Breaking
- \`Order.note\` was removed in an older release.
`;

test("a removed field fails without a changelog entry", async () => {
  const result = await checkSchema({ oldSdl: RELEASED, newSdl: FIELD_REMOVED, changelog: changelog("") });
  assert.equal(result.ok, false);
  assert.deepEqual(result.unacknowledged.map((change) => change.path), ["Order.note"]);
});

test("a removed field passes once Unreleased/Breaking names its coordinate", async () => {
  const entry = "- `Order.note` was removed: read `Order.notes` instead.";
  const result = await checkSchema({ oldSdl: RELEASED, newSdl: FIELD_REMOVED, changelog: changelog(entry) });
  assert.equal(result.ok, true);
  assert.equal(result.breaking.length, 1);
});

test("the coordinate elsewhere in the changelog does not count", async () => {
  const underAdded = changelog("", "- `Order.note` moved.");
  assert.equal((await checkSchema({ oldSdl: RELEASED, newSdl: FIELD_REMOVED, changelog: underAdded })).ok, false);
  const unbackticked = changelog("- Order.note was removed.");
  assert.equal((await checkSchema({ oldSdl: RELEASED, newSdl: FIELD_REMOVED, changelog: unbackticked })).ok, false);
});

test("additions pass without any entry", async () => {
  const result = await checkSchema({ oldSdl: RELEASED, newSdl: FIELD_ADDED, changelog: changelog("") });
  assert.equal(result.ok, true);
  assert.equal(result.safe.length, 1);
});

test("other breaking kinds are caught by coordinate: nullability, arguments, enum values", async () => {
  const changed = RELEASED.replace("total: String", "total: String!")
    .replace("order(id: ID!)", "order(id: ID!, region: String!)")
    .replace("OPEN CLOSED", "OPEN");
  const result = await checkSchema({ oldSdl: RELEASED, newSdl: changed, changelog: changelog("") });
  assert.equal(result.ok, false);
  const paths = result.unacknowledged.map((change) => change.path).sort();
  assert.ok(paths.includes("Query.order.region"), paths.join());
  assert.ok(paths.includes("Status.CLOSED"), paths.join());
  // Output nullability tightening is safe for clients; loosening would not be.
  const loosened = RELEASED.replace("number: String!", "number: String");
  const looser = await checkSchema({ oldSdl: RELEASED, newSdl: loosened, changelog: changelog("") });
  assert.deepEqual(looser.unacknowledged.map((change) => change.path), ["Order.number"]);
});

test("the changelog parser reads only Unreleased / Breaking", () => {
  const coordinates = acknowledgedBreakingChanges(changelog("- `Order.total` and `Query.order.id` changed."));
  assert.deepEqual([...coordinates].sort(), ["Order.total", "Query.order.id"]);
});

test("the command line exits 1 on an unrecorded breaking change, 0 otherwise", async () => {
  const dir = mkdtempSync(join(tmpdir(), "schema-diff-"));
  const write = (name, text) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const args = ["--old", write("old.graphql", RELEASED), "--new", write("new.graphql", FIELD_REMOVED)];
  const run = promisify(execFile);
  await assert.rejects(run("node", [SCRIPT, ...args, "--changelog", write("a.md", changelog(""))]), (error) => {
    assert.equal(error.code, 1);
    assert.match(error.stderr, /Order\.note/);
    return true;
  });
  const passed = await run("node", [SCRIPT, ...args, "--changelog", write("b.md", changelog("- `Order.note` removed."))]);
  assert.match(passed.stdout, /1 breaking/);
});

test("this repository: schema.graphql has no unrecorded breaking change since schema/released.graphql", async () => {
  await promisify(execFile)("node", [SCRIPT]);
});
