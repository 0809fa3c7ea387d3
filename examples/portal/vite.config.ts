import react from "@vitejs/plugin-react";
import { defineConfig, loadEnv } from "vite";

// Built for /portal/ (served there by `partnergraph serve`). The dev server proxies /graphql to
// a running PartnerGraph, so the browser still talks to one origin and needs no CORS.
export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, process.cwd(), "");
  const api = env.PARTNERGRAPH_API ?? "http://127.0.0.1:8000";
  return {
    base: "/portal/",
    plugins: [react()],
    server: { proxy: { "/graphql": { target: api, changeOrigin: true } } },
    build: { outDir: "dist", emptyOutDir: true, sourcemap: false },
  };
});
