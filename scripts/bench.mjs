#!/usr/bin/env node
// npm run bench: full seed cycles through the real CLI on a warm cache, timed per stage.
// Prints medians; "guest" is what the VM itself spends (boot to the ready marker, and the
// insmod/test/rmmod commands); "overhead" is everything else the wall clock saw.
// Env: BENCH_RUNS (default 5), BENCH_KERNEL (default 6.1), KMOD_HARNESS_ACCEL.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { $ } from 'zx';

const runs = Number(process.env.BENCH_RUNS ?? 5);
const kernel = process.env.BENCH_KERNEL ?? '6.1';
const cli = path.resolve(import.meta.dirname, '../dist/cli.js');
const dir = await mkdtemp(path.join(tmpdir(), 'kmod-harness-bench-'));
$.verbose = false;
$.quiet = true;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function cycle(i) {
  const json = path.join(dir, `run-${i}.json`);
  const start = performance.now();
  const extra = (process.env.BENCH_ARGS ?? "").split(" ").filter(Boolean);
  const p = await $`node ${cli} run --kernel ${kernel} --json ${json} ${extra}`.nothrow();
  const wall = performance.now() - start;
  const { results } = JSON.parse(await readFile(json, 'utf8'));
  const r = results[0];
  if (p.exitCode !== 0 || r.outcome !== 'pass') throw new Error(`run ${i}: ${r.outcome}: ${r.reasons.join('; ')}`);
  const s = r.stages;
  const guest = (s.boot ?? 0) + (s.load ?? 0) + (s.test ?? 0) + (s.unload ?? 0);
  return { wall, guest, overhead: wall - guest, ...s, release: r.kernel, accel: r.accel };
}

try {
  process.stderr.write(`warm-up run (fills the kernel and image caches)...\n`);
  await cycle(0);
  const samples = [];
  for (let i = 1; i <= runs; i++) {
    samples.push(await cycle(i));
    process.stderr.write(`run ${i}/${runs}: ${(samples.at(-1).wall / 1000).toFixed(2)} s\n`);
  }
  const keys = ['kernel', 'build', 'image', 'boot', 'ssh', 'upload', 'load', 'test', 'unload', 'teardown', 'guest', 'overhead', 'wall'];
  console.log(`\nkmod-harness bench: seed cycle on ${samples[0].release} (${samples[0].accel}), ${runs} runs, medians`);
  console.log('(build overlaps image+boot; ssh is part of boot; guest = boot + load + test + unload; overhead = wall - guest)\n');
  for (const k of keys) {
    const values = samples.map((s) => s[k]).filter((v) => typeof v === 'number');
    if (values.length) console.log(`${k.padEnd(10)} ${(median(values) / 1000).toFixed(3).padStart(7)} s   (min ${(Math.min(...values) / 1000).toFixed(3)}, max ${(Math.max(...values) / 1000).toFixed(3)})`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
