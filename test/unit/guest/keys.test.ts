import { stat } from 'node:fs/promises';
import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { generateUsableKeyPair, makeRunKeys } from '../../../harness/src/guest/keys.js';
import { makeWorkDir } from '../../../harness/src/util/workdir.js';

describe('generateUsableKeyPair', () => {
  // ssh2's generator yields a key its parser rejects about once in 270 draws: 1500 draws
  // without the check would meet one with a probability of about 99.6%.
  it('never hands out a private key that ssh2 cannot parse', () => {
    for (let i = 0; i < 1500; i++) {
      const pair = generateUsableKeyPair();
      expect(ssh2.utils.parseKey(pair.private)).not.toBeInstanceOf(Error);
      expect(pair.public).toMatch(/^ssh-ed25519 [A-Za-z0-9+/=]+ /);
    }
  });
});

describe('makeRunKeys', () => {
  const modeOf = async (p: string) => (await stat(p)).mode & 0o777;
  it("writes the run's private key 0600 into its 0700 work dir, never over a file that is there", async () => {
    const dir = await makeWorkDir('kmod-harness-keys-test-');
    try {
      const keys = await makeRunKeys(dir.path);
      expect(await modeOf(dir.path)).toBe(0o700);
      expect(await modeOf(keys.privateKeyPath)).toBe(0o600);
      await expect(makeRunKeys(dir.path)).rejects.toThrow(/EEXIST/);
    } finally {
      await dir.remove();
    }
  });
});
