// The bytes of a folder's files (its subfolders' included; 0 when it does not exist).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function folderBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  const bytes = (path: string): number =>
    statSync(path).isDirectory() ? readdirSync(path).reduce((sum, name) => sum + bytes(join(path, name)), 0) : statSync(path).size;
  return bytes(dir);
}

/** `bytes` in MB (10⁶), as the messages say it. */
export const megabytes = (bytes: number): string => (bytes / 1e6).toFixed(0);
