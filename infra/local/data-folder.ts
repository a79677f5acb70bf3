/**
 * One local runtime per `--data-dir`: two would write the same DynamoDB files (dynalite's LevelDB
 * refuses the second with a stack trace, DynamoDB Local corrupts nothing only by luck) and the same
 * message journal. A runtime claims the folder with a file naming its process, removed when it stops.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** The claim's file in the data folder. */
export const CLAIM_FILE = 'in-use-by-pid';

/** Folders this process holds: a pid in a claim is not enough to tell this runtime from an earlier one of the same pid. */
const heldHere = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Claims `dir` (absolute) for this runtime, or throws saying which process holds it. A claim left by a
 * process that is gone (killed, or a container restarted) is taken over. Resolves to the release.
 */
export async function claimDataFolder(dir: string): Promise<() => Promise<void>> {
  const file = path.join(dir, CLAIM_FILE);
  const inUse = (holder: string) => new Error(`the data folder ${dir} is in use by another local runtime (${holder}); stop it, or pass another --data-dir`);
  if (heldHere.has(dir)) throw inUse('in this process');
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: 'wx' });
      heldHere.add(dir);
      return async () => {
        heldHere.delete(dir);
        await rm(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) throw inUse(`pid ${holder}`);
    await rm(file, { force: true });
  }
  throw inUse('another start claimed it at the same time');
}
