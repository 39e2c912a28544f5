// Debian's other flavours of a series, as <series>/<variant>: the generic amd64 kernel (virtio
// as modules, like the cloud one) and the PREEMPT_RT one. Each is its own cache entry beside
// the cloud kernel of the same build, the seed passes on it, and (on rt) a module bug fails it.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { entryKey } from '../../harness/src/kernel/entry.js';
import { SEED_MODULE_DIR, SEED_TEST_DIR } from '../../harness/src/util/paths.js';
import { useKernels } from '../../harness/src/vitest/index.js';
import { FIXTURES, runKernels } from './support.js';

// In a kernel matrix (GitHub's, one series per job) this file belongs to the 6.1 job.
const here = runKernels().includes('6.1');
const vms = here ? await useKernels({ kernels: ['6.1/generic', '6.1/rt'] }) : [];

describe.runIf(here).each(vms)('the $name kernel', (vm) => {
  it("is Debian's kernel of that flavour, from an entry of its own", async () => {
    const info = vm.session();
    const flavour = info.series === '6.1/rt' ? 'rt-amd64' : 'amd64';
    expect(info.release).toMatch(new RegExp(`^6\\.1\\.0-\\d+-${flavour}$`));
    expect(info.kernel.packages.map((p) => p.name)).toContain(`linux-image-${info.release}`);
    // kernels/6.1_generic_<version>/..., not the cloud kernel's 6.1_<version>.
    expect(info.kernel.vmlinuz).toContain(`/kernels/${entryKey(info.series, '')}`);
    const version = (await vm.exec('uname -v')).stdout;
    if (flavour === 'rt-amd64') expect(version).toContain('PREEMPT_RT');
    else expect(version).not.toContain('PREEMPT_RT');
  });

  it('passes the seed, every subtest', async () => {
    const run = await vm.run({ module: SEED_MODULE_DIR, test: SEED_TEST_DIR });
    expect(run.outcome, run.reasons.join('\n')).toBe('pass');
    expect(run).toPassAllSubtests();
  });
});

// PREEMPT_RT changes locking and printk (threaded consoles): a report must still be found there.
describe.runIf(here)('the 6.1/rt kernel, with a bug', () => {
  it('fails a module that WARNs in a callback', async () => {
    const name = 'warn-in-callback';
    const rt = vms.find((vm) => vm.series === '6.1/rt')!;
    const run = await rt.run({ module: path.join(FIXTURES, name, 'module'), test: path.join(FIXTURES, name, 'test') });
    expect(run.outcome, run.reasons.join('\n')).toBe('kernel-error');
    expect(run.kernelErrors.map((e) => [e.kind, e.stage])).toContainEqual(['warning', 'test']);
  });
});
