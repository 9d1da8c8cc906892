// Build a component from plugin.js against the repository's wit/.
// The suite copies this file next to the node_modules that `cargo xtask peers` installs
// (target/peers/node), so the bare import below resolves there.
// Usage: node build.mjs <plugin.js> <wit dir> <out.wasm>
import { componentize } from '@bytecodealliance/componentize-js';
import { readFile, writeFile } from 'node:fs/promises';

const [src, wit, out] = process.argv.slice(2);
const { component } = await componentize(await readFile(src, 'utf8'), {
  witPath: wit,
  worldName: 'action-plugin',
  // The plugin uses none of these; leaving them out keeps its imports minimal.
  disableFeatures: ['stdio', 'random', 'clocks', 'http'],
});
await writeFile(out, component);
