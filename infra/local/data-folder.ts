/**
 * One local runtime per `--data-dir`: two would write the same DynamoDB files (dynalite's LevelDB
 * refuses the second with a stack trace, DynamoDB Local corrupts nothing only by luck) and the same
 * message journal. A runtime claims the folder with a file naming its process, removed when it stops.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isAlive } from './processes.ts';

/** The claim's file in the data folder. */
export const CLAIM_FILE = 'in-use-by-pid';

/** A takeover of a stale claim older than this was left by a start that died in it. */
const TAKEOVER_STALE_MS = 10_000;

/** Folders this process holds: a pid in a claim is not enough to tell this runtime from an earlier one of the same pid. */
const heldHere = new Set<string>();

/** `file` made as a hard link to `written`; on a file system without hard links, written anew (exclusively). */
async function linkOrCreate(written: string, file: string): Promise<void> {
  try {
    await link(written, file);
  } catch (error) {
    if (!['EPERM', 'ENOTSUP', 'ENOSYS'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
    await writeFile(file, await readFile(written), { flag: 'wx' });
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Claims `dir` (absolute) for this runtime, or throws saying which process holds it. A claim left by a
 * process that is gone (killed, or a container restarted) is taken over. Resolves to the release.
 * The claim appears whole (a hard link to a file already written), and a takeover happens under a
 * lock directory, so two starts at the same moment never both hold the folder.
 */
export async function claimDataFolder(dir: string): Promise<() => Promise<void>> {
  const file = path.join(dir, CLAIM_FILE);
  const inUse = (holder: string) =>
    new Error(`the data folder ${dir} is in use by another local runtime (${holder}); stop it, or pass another --data-dir (if that process is not a runtime, delete ${file})`);
  if (heldHere.has(dir)) throw inUse('in this process');
  const mine = path.join(dir, `${CLAIM_FILE}.${process.pid}.${randomBytes(4).toString('hex')}`);
  await writeFile(mine, `${process.pid}\n`);
  const takeover = `${file}.takeover`;
  /** The folder is this runtime's: its release. */
  const held = () => {
    heldHere.add(dir);
    return async () => {
      heldHere.delete(dir);
      await rm(file, { force: true });
    };
  };
  try {
    for (let attempt = 0; attempt < 50; attempt += 1) {
      try {
        await linkOrCreate(mine, file);
        return held();
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const claim = await readFile(file, 'utf8').catch(() => undefined);
      if (claim === undefined) continue; // released meanwhile: try again
      const holder = Number(claim.trim());
      if (holder !== process.pid && isAlive(holder)) throw inUse(`pid ${holder}`);
      // Stale: replace it, one start at a time, and only if it is still the claim just read.
      try {
        await mkdir(takeover);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const since = await stat(takeover).then((info) => Date.now() - info.mtimeMs, () => 0);
        if (since > TAKEOVER_STALE_MS) await rmdir(takeover).catch(() => undefined);
        await pause(20);
        continue;
      }
      try {
        if ((await readFile(file, 'utf8').catch(() => undefined)) === claim) {
          await rename(mine, file);
          return held();
        }
      } finally {
        await rmdir(takeover).catch(() => undefined);
      }
    }
    throw inUse('another start kept claiming it');
  } finally {
    await rm(mine, { force: true });
  }
}
