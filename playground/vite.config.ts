import { defineConfig } from "vite";

/**
 * The playground: a static site (`npm run playground:build` writes dist/playground/, for any
 * static host; relative paths, so it works from a subfolder too). The compiler's optional Node
 * paths — prettier (formatting), wabt (the wasm target), the TypeScript compiler (type checks)
 * — are never reached from the page and stay out of the bundle.
 */
export default defineConfig({
  root: import.meta.dirname,
  base: "./",
  build: {
    outDir: "../dist/playground",
    emptyOutDir: true,
    target: "es2022",
    chunkSizeWarningLimit: 4000,
    rollupOptions: { external: ["prettier", "wabt", "ts-morph", "typescript"] },
  },
  worker: { format: "es", rollupOptions: { external: ["prettier", "wabt", "ts-morph", "typescript"] } },
  server: { fs: { allow: [".."] } },
});
