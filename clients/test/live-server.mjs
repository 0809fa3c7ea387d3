// Starts a real `partnergraph serve --demo` on a free port with a throw-away SQLite database,
// and makes API keys with `partnergraph apikey create` (the key is the last line printed).
import { spawn, execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const VENV_BIN = join(ROOT, ".venv", "bin", "partnergraph");
const BIN = process.env.PARTNERGRAPH_BIN ?? (existsSync(VENV_BIN) ? VENV_BIN : "partnergraph");

async function freePort() {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once("error", fail);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => done(port));
    });
  });
}

async function waitUntilReady(url, server, output, seconds = 90) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`partnergraph serve exited:\n${output.join("")}`);
    try {
      const answer = await fetch(`${url}/readyz`);
      if (answer.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((wake) => setTimeout(wake, 250));
  }
  throw new Error(`partnergraph serve was not ready within ${seconds}s:\n${output.join("")}`);
}

// scripts/test-node seeds one demo database (30 customers, seed 11) and names it here, so each
// test file copies it instead of migrating and seeding its own.
const TEMPLATE = process.env.PARTNERGRAPH_CLIENTS_DEMO_DB;

/** A live demo server; `close()` stops it and removes its database. */
export async function startServer({ customers = 30, seed = 11, env = {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "partnergraph-clients-"));
  if (TEMPLATE && existsSync(TEMPLATE) && customers === 30 && seed === 11) {
    copyFileSync(TEMPLATE, join(dir, "demo.db"));
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const serverEnv = {
    ...process.env,
    PARTNERGRAPH_DATABASE_URL: `sqlite+aiosqlite:///${join(dir, "demo.db")}`,
    PARTNERGRAPH_LOG_LEVEL: "WARNING",
    // Many requests in a row from one key: a budget the tests never exhaust (per-request cost
    // limits still apply). A fast stop: Node's keep-alive connections would hold shutdown.
    PARTNERGRAPH_COST_BUDGET: "1000000000",
    PARTNERGRAPH_SHUTDOWN_TIMEOUT_SECONDS: "2",
    ...env,
  };
  const output = [];
  const server = spawn(
    BIN,
    ["serve", "--demo", "--customers", String(customers), "--seed", String(seed), "--port", String(port)],
    { env: serverEnv, stdio: ["ignore", "pipe", "pipe"] },
  );
  server.stdout.on("data", (chunk) => output.push(String(chunk)));
  server.stderr.on("data", (chunk) => output.push(String(chunk)));
  try {
    await waitUntilReady(url, server, output);
  } catch (error) {
    server.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  async function createKey(role, ...flags) {
    const { stdout } = await run(BIN, ["apikey", "create", "--role", role, "--name", `clients test ${role}`, ...flags], {
      env: serverEnv,
    });
    return stdout.trim().split("\n").at(-1).trim();
  }

  async function close() {
    if (server.exitCode === null) {
      const exited = new Promise((done) => server.once("exit", done));
      server.kill("SIGTERM");
      await Promise.race([exited, new Promise((wake) => setTimeout(wake, 10000))]);
      if (server.exitCode === null) server.kill("SIGKILL");
    }
    rmSync(dir, { recursive: true, force: true });
  }

  return { url, graphql: `${url}/graphql`, createKey, close, output };
}

/** POST one GraphQL request with `key`; throws on errors. */
export async function gql(endpoint, key, query, variables = {}) {
  const answer = await fetch(endpoint, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await answer.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

/** The ```graphql blocks of README.md, in order. */
export function readmeExamples() {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  return [...readme.matchAll(/```graphql\n([\s\S]*?)```/g)].map((match) => match[1].trim());
}

/** A live server with an admin key, and a customer key bound to the first demo customer. */
export async function startServerWithKeys(options) {
  const server = await startServer(options);
  try {
    const admin = await server.createKey("admin");
    const first = await gql(
      server.graphql,
      admin,
      "{ organizations(first: 1, filter: { roles: [CUSTOMER] }) { edges { node { id orders(first: 1) { edges { node { id } } } } } } }",
    );
    const customer = first.organizations.edges[0].node;
    const customerKey = await server.createKey("customer", "--org", customer.id);
    return { ...server, admin, customerKey, customerId: customer.id, customerOrderId: customer.orders.edges[0].node.id };
  } catch (error) {
    await server.close();
    throw error;
  }
}
