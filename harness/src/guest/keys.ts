// A fresh ed25519 key pair per run, written into the run's 0700 work dir, never reused.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import ssh2 from 'ssh2';

export interface RunKeys {
  privateKey: string;
  privateKeyPath: string;
  /** Base64 key blob: what the guest's /init puts into authorized_keys. */
  publicBlob: string;
}

export async function makeRunKeys(workDir: string): Promise<RunKeys> {
  const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'kmod-harness run key' });
  const privateKeyPath = path.join(workDir, 'id_ed25519');
  await writeFile(privateKeyPath, pair.private, { mode: 0o600 });
  await writeFile(`${privateKeyPath}.pub`, `${pair.public}\n`, { mode: 0o644 });
  const publicBlob = pair.public.split(' ')[1] ?? '';
  return { privateKey: pair.private, privateKeyPath, publicBlob };
}
