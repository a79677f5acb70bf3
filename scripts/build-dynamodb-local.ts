/**
 * `npm run build:dynamodb-local`: compiles infra/local/dynamodb-local/LoopbackDynamoDbLocal.java (the
 * launcher that starts DynamoDB Local on 127.0.0.1 only) next to its source, or into the folder given as
 * the first argument. Needs a JDK (javac); the compiled class is committed, so running it needs only Java.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { dynamoDbLocalJar, loopbackLauncherDir } from '../infra/local/emulators.ts';

/** Writes LoopbackDynamoDbLocal.class to `outdir`, compiled for Java 17 against the installed DynamoDB Local. */
export function compileLoopbackLauncher(outdir: string): void {
  const jar = dynamoDbLocalJar();
  const classpath = [jar, path.join(path.dirname(jar), 'DynamoDBLocal_lib', '*')].join(path.delimiter);
  const source = path.join(loopbackLauncherDir, 'LoopbackDynamoDbLocal.java');
  execFileSync('javac', ['--release', '17', '-implicit:none', '-cp', classpath, '-d', outdir, source], { stdio: 'inherit' });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  compileLoopbackLauncher(path.resolve(process.argv[2] ?? loopbackLauncherDir));
}
