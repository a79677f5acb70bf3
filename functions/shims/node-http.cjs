/**
 * The bundles' `node:http` (and `http`), as an esbuild alias: the built-in module itself, taken with
 * `process.getBuiltinModule` rather than by an ES module import. On Node 22, Lambda's runtime, importing
 * `node:http` as an ES module builds its namespace from every export, and reading the lazy `WebSocket`,
 * `CloseEvent` and `MessageEvent` ones loads undici: about 9 ms of each cold start of a function whose
 * AWS SDK clients send over HTTP (`npm run bench -- --node <a Node 22 binary>`). Through this file,
 * esbuild's CommonJS interop reads an export only when the code uses it. Node 20 has no such getters.
 * `process.getBuiltinModule` is in Node 20.16 and 22.3 on (so no bundler resolves it back here).
 */
module.exports = process.getBuiltinModule('node:http');
