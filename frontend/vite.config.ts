import { fileURLToPath, URL } from "node:url";

import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// `npm run dev` proxies the API (and the seat WebSocket) to a local Flask on :8001.
const backend = process.env.CINEVERSE_API ?? "http://127.0.0.1:8001";

export default defineConfig({
  plugins: [react(), tailwindcss()],
  resolve: { alias: { "@": fileURLToPath(new URL("./src", import.meta.url)) } },
  server: { proxy: { "/api": { target: backend, ws: true, changeOrigin: true } } },
  build: { outDir: "dist", assetsDir: "assets", sourcemap: false },
  test: { environment: "node", include: ["src/**/*.test.ts"] },
});
