// Completes package-lock.json with the optional platform packages (other OSes and CPUs) that this
// machine's registry mirror does not serve: without them npm ci finds the lock out of sync. Run after
// any dependency change: node scripts/complete-lockfile.cjs
const fs = require('node:fs');
const lock = JSON.parse(fs.readFileSync('package-lock.json', 'utf8'));
const pk = lock.packages;
let added = 0;
for (const [path, meta] of Object.entries(pk)) {
  for (const [name, version] of Object.entries(meta.optionalDependencies || {})) {
    const base = path ? `${path}/node_modules/${name}` : `node_modules/${name}`;
    if (pk[base] || pk[`node_modules/${name}`]) continue;
    const os = /android/.test(name) ? ['android'] : /darwin/.test(name) ? ['darwin'] : /win32/.test(name) ? ['win32'] : /freebsd/.test(name) ? ['freebsd'] : /openbsd/.test(name) ? ['openbsd'] : /netbsd/.test(name) ? ['netbsd'] : /sunos/.test(name) ? ['sunos'] : /aix/.test(name) ? ['aix'] : /openharmony/.test(name) ? ['openharmony'] : /linux/.test(name) ? ['linux'] : undefined;
    const cpu = /arm64|aarch64/.test(name) ? ['arm64'] : /x64/.test(name) ? ['x64'] : /ia32/.test(name) ? ['ia32'] : /arm/.test(name) ? ['arm'] : /loong64/.test(name) ? ['loong64'] : /ppc64/.test(name) ? ['ppc64'] : /riscv64/.test(name) ? ['riscv64'] : /s390x/.test(name) ? ['s390x'] : /mips64el/.test(name) ? ['mips64el'] : /wasm32|wasi/.test(name) ? ['wasm32'] : undefined;
    const entry = { version: version.replace(/^[\^~]/, ''), dev: !!meta.dev, optional: true };
    if (os) entry.os = os;
    if (cpu) entry.cpu = cpu;
    if (/musl/.test(name)) entry.libc = ['musl'];
    if (/gnu|glibc/.test(name)) entry.libc = ['glibc'];
    pk[`node_modules/${name}`] = entry;
    added++;
  }
}
const sorted = {};
for (const key of Object.keys(pk).sort((a, b) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b)))) sorted[key] = pk[key];
lock.packages = sorted;
fs.writeFileSync('package-lock.json', `${JSON.stringify(lock, null, 2)}\n`);
console.log('added', added);
