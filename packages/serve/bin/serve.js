#!/usr/bin/env node
// `ferry-serve`, the entry point of the function image. The TypeScript sources are compiled to dist/
// by `npm run build` (tsc -b).
import '../dist/bin.js';
