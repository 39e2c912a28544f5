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

/**
 * An ed25519 pair that ssh2 can read back. About 1 in 270 private keys from ssh2's own
 * generator fail its own parser ("Malformed OpenSSH private key"; measured: 11 of 3000), which
 * surfaced in the soak as an SSH login that never succeeded: draw again until one parses.
 */
export function generateUsableKeyPair(attempts = 10): { private: string; public: string } {
  for (let i = 0; i < attempts; i++) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'kmod-harness run key' });
    if (!(ssh2.utils.parseKey(pair.private) instanceof Error)) return pair;
  }
  throw new Error(`ssh2 generated ${attempts} ed25519 keys in a row that it cannot parse`);
}

export async function makeRunKeys(workDir: string): Promise<RunKeys> {
  const pair = generateUsableKeyPair();
  const privateKeyPath = path.join(workDir, 'id_ed25519');
  // Exclusive create: the mode applies only to a new file, and the work dir is fresh.
  await writeFile(privateKeyPath, pair.private, { mode: 0o600, flag: 'wx' });
  await writeFile(`${privateKeyPath}.pub`, `${pair.public}\n`, { mode: 0o644 });
  const publicBlob = pair.public.split(' ')[1] ?? '';
  return { privateKey: pair.private, privateKeyPath, publicBlob };
}
