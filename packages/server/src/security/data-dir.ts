import fs from 'node:fs';
import path from 'node:path';

/**
 * The data directory holds the database, the master key and every hosted instance's files
 * (flows, credentials, the team's secrets): no one but the platform's own OS user reads it.
 * The directory and the folders in it are 0700, the files 0600, whatever the umask.
 */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Makes the directory (and its missing parents) owner-only. */
export function makePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/**
 * Creates an empty owner-only file unless it exists: SQLite then gives its -wal and -shm
 * files the database file's mode, so all three are private.
 */
export function touchPrivateFile(file: string): void {
  fs.closeSync(fs.openSync(file, 'a', PRIVATE_FILE_MODE));
}

/**
 * What in the data directory others may read or enter: the directory itself, and each file
 * and folder directly in it (a folder at 0700 closes everything below it). For the warning
 * at start; an existing installation keeps the modes it has until its operator changes them.
 */
export function looseEntries(dataDir: string): Array<{ path: string; mode: number; wanted: number }> {
  if (!fs.existsSync(dataDir)) return [];
  const entries = [dataDir, ...fs.readdirSync(dataDir).map((name) => path.join(dataDir, name))];
  const loose: Array<{ path: string; mode: number; wanted: number }> = [];
  for (const entry of entries) {
    const stat = fs.lstatSync(entry);
    if (stat.isSymbolicLink()) continue;
    const mode = stat.mode & 0o777;
    const wanted = stat.isDirectory() ? PRIVATE_DIR_MODE : PRIVATE_FILE_MODE;
    if (mode & 0o077) loose.push({ path: entry, mode, wanted });
  }
  return loose;
}
