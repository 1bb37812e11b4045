#!/usr/bin/env node
// The `ferry` command. The TypeScript sources are compiled to dist/ by `npm install` (the root
// `prepare` script runs `tsc -b`); after editing them, run `npm run build`.
import '../dist/bin.js';
