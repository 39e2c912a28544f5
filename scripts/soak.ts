// npm run soak (node --import jiti/register scripts/soak.ts): the seed cycle N times through the real CLI (SOAK_RUNS, default 50;
// SOAK_KERNEL, default 6.1). Reports every run that did not pass (a flake) and anything a
// run left behind: QEMU processes, kmod-harness temp dirs, half-written cache entries.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { $ } from 'zx';
// The cache's root and names from the harness itself, never spelled again here.
import { cacheRoot, TEMP_PREFIX } from '../harness/src/cache/store.js';
import { IMAGES_AREA } from '../harness/src/image/initramfs.js';
import { KERNELS_AREA } from '../harness/src/kernel/entry.js';
import { TOOLCHAINS_AREA } from '../harness/src/toolchain/root.js';

interface Leftovers {
  qemu: string[];
  temp: string[];
  partial: string[];
}

const runs = Number(process.env.SOAK_RUNS ?? 50);
const kernel = process.env.SOAK_KERNEL ?? '6.1';
const cli = path.resolve(import.meta.dirname, '../dist/cli.js');
const cache = cacheRoot();
$.verbose = false;
$.quiet = true;

async function leftovers(): Promise<Leftovers> {
  const qemu = (await $`pgrep -f ^qemu-system`.nothrow()).stdout.split('\n').filter(Boolean);
  const temp = (await readdir(tmpdir())).filter((n) => n.startsWith('kmod-harness-'));
  const partial: string[] = [];
  for (const area of [KERNELS_AREA, IMAGES_AREA, TOOLCHAINS_AREA]) {
    const names = await readdir(path.join(cache, area)).catch((): string[] => []);
    partial.push(...names.filter((n) => n.startsWith(TEMP_PREFIX)).map((n) => `${area}/${n}`));
  }
  return { qemu, temp, partial };
}

// JSON reports of runs that failed are kept here for diagnosis (console log, dmesg, reasons).
const reports = await mkdtemp(path.join(tmpdir(), 'soak-reports-'));
const before = await leftovers();
const flakes: Array<{ run: number; exitCode: number | null; tail: string; json: string }> = [];
const walls: number[] = [];
for (let i = 1; i <= runs; i++) {
  const start = performance.now();
  const json = path.join(reports, `run-${i}.json`);
  const p = await $`node ${cli} run --kernel ${kernel} --json ${json}`.nothrow();
  walls.push(performance.now() - start);
  if (p.exitCode !== 0) flakes.push({ run: i, exitCode: p.exitCode, tail: p.stdout.trim().split('\n').slice(-3).join(' | '), json });
  else await rm(json, { force: true });
  process.stderr.write(`soak ${i}/${runs}: ${p.exitCode === 0 ? 'pass' : `FAIL (${p.exitCode})`} ${((walls.at(-1) ?? 0) / 1000).toFixed(2)} s\n`);
}
const after = await leftovers();
const fresh = (k: keyof Leftovers): string[] => after[k].filter((x) => !before[k].includes(x));
const left = { qemu: fresh('qemu'), temp: fresh('temp'), partial: fresh('partial') };
const sorted = [...walls].sort((a, b) => a - b);
console.log(`\nsoak: ${runs} seed cycles on ${kernel}: ${runs - flakes.length} passed, ${flakes.length} flaked`);
console.log(`  wall median ${((sorted[Math.floor(runs / 2)] ?? 0) / 1000).toFixed(2)} s, max ${((sorted.at(-1) ?? 0) / 1000).toFixed(2)} s`);
console.log(`  left behind: ${left.qemu.length} QEMU processes, ${left.temp.length} temp dirs, ${left.partial.length} partial cache entries`);
for (const f of flakes) console.log(`  flake: run ${f.run}, exit ${f.exitCode}: ${f.tail} (report: ${f.json})`);
if (flakes.length === 0) await rm(reports, { recursive: true, force: true });
for (const [k, v] of Object.entries(left)) for (const x of v) console.log(`  leftover ${k}: ${x}`);
process.exitCode = flakes.length || left.qemu.length || left.temp.length || left.partial.length ? 1 : 0;
