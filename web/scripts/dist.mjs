// A Vite plugin for the build that the Go package web embeds: dist/ is
// emptied at the start of a build except for dist/.keep (committed, so
// go:embed compiles in a clone without a build; Vite's own emptyOutDir
// would delete it), and every file gets its .gz and .br at the end. So
// `npx vite build` and `npm run build` leave the same dist/.
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compressDist } from './compress.mjs';

const keep = '.keep';
const keepText = 'built UI lands here (npm run build); kept so go:embed compiles without it\n';

export function distPlugin() {
  let outDir = '';
  return {
    name: 'rigger-dist',
    apply: 'build',
    configResolved(config) {
      outDir = config.build.outDir.startsWith('/') ? config.build.outDir : join(config.root, config.build.outDir);
    },
    buildStart() {
      for (const name of safeList(outDir)) {
        if (name !== keep) rmSync(join(outDir, name), { recursive: true, force: true });
      }
    },
    closeBundle() {
      writeFileSync(join(outDir, keep), keepText);
      compressDist(outDir);
    },
  };
}

function safeList(dir) {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
