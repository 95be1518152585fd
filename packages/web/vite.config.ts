import { defineConfig } from 'vite';

// No React plugin: esbuild compiles JSX with the automatic runtime, which is all the UI needs.
export default defineConfig({
  esbuild: { jsx: 'automatic' },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
  server: { proxy: { '/api': 'http://127.0.0.1:3000' } },
});
