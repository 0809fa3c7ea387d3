// PostGraphile v5 with its Amber preset over the benchmark database: the baseline that
// bench/run.py compares PartnerGraph with. DATABASE_URL, PORT and WORKERS come from the env;
// `node serve.mjs --print-schema` writes the generated SDL to stdout and exits.
import cluster from "node:cluster";
import { createServer } from "node:http";
import pg from "pg";
import { postgraphile } from "postgraphile";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";
import { printSchema } from "postgraphile/graphql";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";

const port = Number(process.env.PORT || 5678);
const workers = Number(process.env.WORKERS || 1);

function preset() {
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.POOL_SIZE || 10) });
  return {
    extends: [PostGraphileAmberPreset],
    pgServices: [makePgService({ pool, schemas: ["public"] })],
    grafserv: { port, graphiql: false, watch: false },
    grafast: { explain: false },
  };
}

if (process.argv.includes("--print-schema")) {
  const pgl = postgraphile(preset());
  const { schema } = await pgl.getSchemaResult();
  process.stdout.write(printSchema(schema));
  await pgl.release();
  process.exit(0);
} else if (cluster.isPrimary && workers > 1) {
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on("exit", (worker, code) => {
    console.error(`worker ${worker.process.pid} exited with ${code}`);
    process.exit(1);
  });
  const stop = () => {
    for (const id in cluster.workers) cluster.workers[id].kill("SIGTERM");
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
} else {
  const pgl = postgraphile(preset());
  const serv = pgl.createServ(grafserv);
  const server = createServer();
  server.keepAliveTimeout = 65000;
  server.on("error", (e) => {
    console.error(e);
    process.exit(1);
  });
  await serv.addTo(server);
  server.listen(port, "127.0.0.1", () => console.error(`postgraphile listening on ${port}`));
  process.on("SIGTERM", () => process.exit(0));
}
