// The project's own config: the seed module and test, on every catalogue kernel. `npm start`,
// `npm test` (through kmod-harness/vitest) and `kmod-harness run` all read it; the kernel-log
// lines the seed's test must print are in userland/mmap/expected.kmsg.
import { defineConfig } from 'kmod-harness/config';

export default defineConfig({
  module: 'kernel-module/mmap',
  test: 'userland/mmap',
  kernels: 'all',
  timeouts: { boot: 60, test: 120 },
  vm: { memory: 512, strict: true },
});
