// Run by the CDK bundling of each function (an afterBundling hook): `node stable-source-maps.cjs <outputDir> <projectRoot>`.
// esbuild names a map's sources relative to the folder it writes the bundle in, which CDK puts inside the
// cloud assembly (cdk.out, or wherever --output says): the map, and so the asset's hash, then depends on
// where the assembly is written, and every deploy from another folder would update every function. This
// names each source from the project root instead (functions/core/submit.ts, node_modules/...), which
// the deployed map resolves beside the bundle: stack traces name the same TypeScript files and lines.
const fs = require('node:fs');
const path = require('node:path');

const [outputDir, projectRoot] = process.argv.slice(2);
if (!outputDir || !projectRoot) {
  console.error('usage: node stable-source-maps.cjs <outputDir> <projectRoot>');
  process.exit(2);
}
for (const file of fs.readdirSync(outputDir)) {
  if (!file.endsWith('.map')) continue;
  const mapPath = path.join(outputDir, file);
  const map = JSON.parse(fs.readFileSync(mapPath, 'utf8'));
  const base = path.resolve(outputDir, map.sourceRoot || '');
  map.sources = map.sources.map((source) => path.relative(projectRoot, path.resolve(base, source)).split(path.sep).join('/'));
  delete map.sourceRoot;
  fs.writeFileSync(mapPath, JSON.stringify(map));
}
