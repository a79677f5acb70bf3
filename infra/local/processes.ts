/** Whether a process of this machine is running: what a hold or a claim naming its pid is worth. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // It runs, as another user's process.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
