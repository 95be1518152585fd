import { defineConfig } from 'vite';

// No React plugin: esbuild compiles JSX with the automatic runtime, which is all the UI needs.
export default defineConfig({
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    rollupOptions: {
      onwarn(warning, warn) {
        // react-router marks its modules "use client" (for React Server Components); a bundle
        // for the browser drops the directive, as it should. Every other warning is shown.
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE' && /"use client"/.test(warning.message)) return;
        warn(warning);
      },
    },
  },
  server: { proxy: { '/api': 'http://127.0.0.1:3000' } },
});
