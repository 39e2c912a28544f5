import { describe, expect, it } from 'vitest';
import { loadCatalogue, seriesSpec } from '../../../harness/src/kernel/catalogue.js';
import { kernelArch, noCompleteKernel } from '../../../harness/src/kernel/index.js';

const catalogue = loadCatalogue();

describe('noCompleteKernel', () => {
  it("for a variant the suites do not ship: names the series' other kernels and the catalogue entry to change", () => {
    const e = noCompleteKernel(seriesSpec(catalogue, '5.10/rt'), ['5.10.0-46 in bullseye-security: no linux-headers-5.10.0-46-rt-amd64 (= 5.10.262-1)']);
    expect(e.message).toBe('no complete 5.10/rt rt-amd64 (amd64) kernel in bullseye-security');
    expect(e.fix).toBe(
      'bullseye-security may not ship a rt-amd64 kernel of 5.10: use 5.10, 5.10/generic, 5.10/arm64, or remove "rt" from the variants of 5.10 in images/kernels.json',
    );
    expect(e.detail).toContain('no linux-headers-5.10.0-46-rt-amd64');
  });

  it('for a bare series: the archive changed', () => {
    expect(noCompleteKernel(seriesSpec(catalogue, '6.1'), []).fix).toMatch(/^the archive changed/);
  });
});

describe('kernelArch', () => {
  it("is a catalogue variant's architecture, amd64 for the rest", () => {
    expect(kernelArch('6.1/arm64')).toBe('arm64');
    expect(kernelArch('6.1')).toBe('amd64');
    expect(kernelArch('6.1/rt')).toBe('amd64');
    expect(kernelArch('local:/k/bzImage,/k')).toBe('amd64');
  });
});
