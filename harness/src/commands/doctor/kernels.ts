// The cached kernels, newest per catalogue series: a fact the doctor's checks share, not a check
// of its own (`gcc` judges which compiler each needs, `kvm` boots its probe on one).
import { loadCatalogue, seriesNames } from '../../kernel/catalogue.js';
import { cachedEntries } from '../../kernel/entry.js';
import { kernelSuite } from '../../toolchain/select.js';

export interface CachedKernel {
  series: string;
  release: string;
  vmlinuz: string;
  ccVersionText: string;
  suite: string | undefined;
  gccAccepted: number[];
}

export interface KernelsFact {
  defaultSeries: string;
  /** Newest cached kernel per catalogue series. */
  cached: CachedKernel[];
  uncached: string[];
}

export async function gatherKernels(root: string): Promise<KernelsFact> {
  const catalogue = loadCatalogue();
  const cached: CachedKernel[] = [];
  const uncached: string[] = [];
  for (const series of seriesNames(catalogue)) {
    const newest = (await cachedEntries(root, series))[0];
    if (!newest) {
      uncached.push(series);
      continue;
    }
    const a = newest.artifacts;
    cached.push({
      series,
      release: a.release,
      vmlinuz: a.vmlinuz,
      ccVersionText: a.ccVersionText,
      suite: kernelSuite(a.packages),
      gccAccepted: catalogue.series[series]?.compiler.gccAccepted ?? [],
    });
  }
  return { defaultSeries: catalogue.default, cached, uncached };
}
