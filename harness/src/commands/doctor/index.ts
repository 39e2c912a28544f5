// `kmod-harness doctor`: what on this host would stop or slow a run, each with its exact fix.
// One module per check, each with its gathering (side effects, each fact on its own so one
// failure hides nothing else) beside its judging (pure, unit-tested on hand-built facts); this
// one runs them all, format.ts prints what they found.
import { cacheRoot as defaultCacheRoot } from '../../cache/store.js';
import { settle, unknown, type DoctorCheck, type Fact } from './check.js';
import { diagnoseDisk, gatherDisk, type DiskFact } from './disk.js';
import { diagnoseGcc, gatherCompiler, type CompilerFact } from './gcc.js';
import { gatherKernels, type KernelsFact } from './kernels.js';
import { diagnoseKvm, gatherKvm, type KvmFact } from './kvm.js';
import { diagnoseMirror, gatherMirror, type MirrorFact } from './mirror.js';
import { diagnoseQemu, gatherQemu, type QemuFact } from './qemu.js';
import { diagnoseTools, gatherTools, type ToolsFact } from './tools.js';

import { formatDoctor } from './format.js';

export { formatDoctor } from './format.js';

export interface DoctorOptions {
  /** Default: cacheRoot(env). */
  cacheRoot?: string;
  /** Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Boot the KVM probe now when no current result is cached and a kernel is (it caches the result as a run would). */
  probe?: boolean;
}

export interface HostFacts {
  cacheRoot: string;
  tools: Fact<ToolsFact>;
  qemu: Fact<QemuFact>;
  kvm: Fact<KvmFact>;
  disk: Fact<DiskFact>;
  mirror: Fact<MirrorFact>;
  compiler: Fact<CompilerFact>;
  kernels: Fact<KernelsFact>;
}

/** Everything diagnose() judges, gathered concurrently; a fact that cannot be read carries its error. */
export async function gatherHostFacts(options: DoctorOptions = {}): Promise<HostFacts> {
  const env = options.env ?? process.env;
  const root = options.cacheRoot ?? defaultCacheRoot(env);
  const kernels = settle(() => gatherKernels(root));
  const [tools, qemu, kvm, disk, mirror, compiler] = await Promise.all([
    settle(() => gatherTools(env)),
    settle(() => gatherQemu(env)),
    settle(() => gatherKvm(root, kernels, options.probe ?? false)),
    settle(() => gatherDisk(root)),
    settle(() => gatherMirror(env)),
    settle(() => gatherCompiler(root, env)),
  ]);
  return { cacheRoot: root, tools, qemu, kvm, disk, mirror, compiler, kernels: await kernels };
}

/** One check per concern, in a fixed order: host-tools, qemu, kvm, disk, mirror, gcc. */
export function diagnose(facts: HostFacts): DoctorCheck[] {
  return [
    facts.tools.ok ? diagnoseTools(facts.tools.value) : unknown('host-tools', facts.tools),
    facts.qemu.ok ? diagnoseQemu(facts.qemu.value) : unknown('qemu', facts.qemu),
    facts.kvm.ok ? diagnoseKvm(facts.kvm.value) : unknown('kvm', facts.kvm),
    facts.disk.ok ? diagnoseDisk(facts.disk.value) : unknown('disk', facts.disk),
    facts.mirror.ok ? diagnoseMirror(facts.mirror.value) : unknown('mirror', facts.mirror),
    facts.compiler.ok ? diagnoseGcc(facts.compiler.value, facts.kernels) : unknown('gcc', facts.compiler),
  ];
}

export function doctorExitCode(checks: DoctorCheck[]): 0 | 1 {
  return checks.some((c) => c.status === 'fail') ? 1 : 0;
}

export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorCheck[]> {
  return diagnose(await gatherHostFacts(options));
}

/** `kmod-harness doctor`: every check, printed with its fix; the exit code (1 when any check failed). */
export async function doctorCommand(options: DoctorOptions = {}, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const checks = await runDoctor(options);
  out.write(formatDoctor(checks));
  return doctorExitCode(checks);
}
