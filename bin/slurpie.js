#!/usr/bin/env node
// Entry point. Runs the TypeScript sources through tsx's loader: no build step, so
// `npx slurpie` works right after `npm install` (start-up cost is measured in the README).
import { register } from 'tsx/esm/api';

register();
await import('./cli.ts');
