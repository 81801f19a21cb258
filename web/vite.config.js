// Builds the /browse/ page into the Python package, where `sciswift serve`
// serves it (src/sciswift/server/dataapi/site/, not committed).
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/browse/',
  plugins: [react()],
  build: {
    outDir: '../src/sciswift/server/dataapi/site',
    emptyOutDir: true,
    chunkSizeWarningLimit: 4096,
  },
});
