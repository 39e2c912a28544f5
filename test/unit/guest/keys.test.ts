import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { generateUsableKeyPair } from '../../../harness/src/guest/keys.js';

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
