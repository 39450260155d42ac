import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { distPlugin } from './scripts/dist.mjs';

// The build lands in dist/, which the Go package web embeds. Asset names
// carry a content hash, so the server may cache them forever.
export default defineConfig({
  plugins: [react(), distPlugin()],
  build: {
    outDir: 'dist',
    // distPlugin empties dist/ but keeps dist/.keep, and precompresses.
    emptyOutDir: false,
    sourcemap: false,
    chunkSizeWarningLimit: 900,
  },
  server: {
    // RIGGER_API points the dev server's proxy at another rigger (default: rigger dev's port).
    proxy: { '/api': process.env.RIGGER_API ?? 'http://127.0.0.1:7007' },
  },
  test: {
    environment: 'jsdom',
    globals: true,
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['src/test-setup.ts'],
  },
});
