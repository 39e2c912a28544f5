// `kmod-harness doctor`: what on this host would stop or slow a run, each with its exact fix.
// Gathering (side effects, each fact on its own so one failure hides nothing else) is kept
// apart from judging (pure, unit-tested on hand-built facts) and from printing.
import { constants } from 'node:fs';
import { access, readFile, readdir, stat, statfs } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { cacheRoot as defaultCacheRoot } from '../cache/store.js';
import { readJsonOr } from '../util/files.js';
import { loadCatalogue, seriesNames } from '../kernel/catalogue.js';
import { cachedEntries } from '../kernel/entry.js';
import { findMirrors, readAptSources, type Archive } from '../debian/mirror.js';
import { chooseAccel, PROBE_FILE, probeKey } from '../qemu/accel.js';
import { TOOLCHAINS_AREA } from '../toolchain/root.js';
import { kernelSuite, parseCcVersionText, parseDumpVersion, planToolchain } from '../toolchain/select.js';
import { aptInstallLine, missingPackages } from '../host/setup.js';
import { findTool, HOST_TOOLS, type HostTool } from '../host/tools.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface DoctorCheck {
  name: string;
  status: CheckStatus;
  summary: string;
  fix?: string;
}

export interface DoctorOptions {
  /** Default: cacheRoot(env). */
  cacheRoot?: string;
  /** Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Boot the KVM probe now when no current result is cached and a kernel is (it caches the result as a run would). */
  probe?: boolean;
}

/** One gathered fact, or why it could not be gathered. */
export type Fact<T> = { ok: true; value: T } | { ok: false; error: string };

export interface ToolsFact {
  missing: { tool: HostTool; package: string }[];
  /** Every package to install (missingPackages(): the tools' plus libc6-dev for libc.a). */
  packages: string[];
}

export interface QemuFact {
  path: string | undefined;
  /** First line of `--version`. */
  version: string | undefined;
  versionError?: string;
}

export interface ProbeOutcome {
  /** undefined: the probe boot passed. */
  failure: string | undefined;
  /** Made with this host kernel and QEMU binary; otherwise the next run probes again. */
  current: boolean;
  /** When it was cached (ISO date). */
  at: string;
}

export interface KvmFact {
  device: string;
  /** undefined when the device opens read/write; else the errno code (ENOENT, EACCES). */
  accessError: string | undefined;
  /** Owner group of the device and this user's standing in it. */
  group?: { gid: number; name: string | undefined; mode: string; member: boolean; inSession: boolean };
  /** vmx/svm from /proc/cpuinfo; undefined when the CPU lists neither. */
  cpuVirt: 'vmx' | 'svm' | undefined;
  /** Loaded modules among kvm, kvm_intel, kvm_amd. */
  modules: string[];
  probe: ProbeOutcome | undefined;
  probeFile: string;
  /** With option probe: the kernel this run probed with, or why it did not. */
  probed?: { kernel: string } | { skipped: string };
}

export interface DiskFact {
  cacheRoot: string;
  /** The nearest existing ancestor of cacheRoot, which statfs measured. */
  measured: string;
  freeBytes: number;
}

export interface MirrorProbe {
  archive: Archive;
  uri: string;
  from: string;
  suite: string | undefined;
  url: string | undefined;
  status?: number;
  error?: string;
  /** Why it was not requested (no suite known, not an http(s) URI): unknown, not failed. */
  skipped?: string;
  ms?: number;
}

export interface MirrorFact {
  probes: MirrorProbe[];
  /** Archives the catalogue uses that neither the apt sources nor the environment provide. */
  missing: Archive[];
}

export interface CompilerFact {
  gcc: { path: string; major: number | undefined } | undefined;
  make: string | undefined;
  mmdebstrap: string | undefined;
  isRoot: boolean;
  /** The sysctls that gate unprivileged user namespaces (mmdebstrap --mode=unshare); absent ones undefined. */
  userns: { unprivilegedClone?: number; maxUserNamespaces?: number; apparmorRestrict?: number };
  /** Cached toolchain roots (<suite>-gcc-<N>). */
  roots: string[];
}

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

export const GB = 1e9;
export const DISK_WARN_BYTES = 5 * GB;
export const DISK_FAIL_BYTES = 1.5 * GB;
export const MIRROR_TIMEOUT_MS = 5000;

// ---- gathering -------------------------------------------------------------------------

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

async function settle<T>(fn: () => Promise<T>): Promise<Fact<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return { ok: false, error: message(error) };
  }
}

const readNumber = async (file: string): Promise<number | undefined> => {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : Number(text.trim());
};

async function gatherTools(env: NodeJS.ProcessEnv): Promise<ToolsFact> {
  const tools = Object.keys(HOST_TOOLS) as HostTool[];
  const found = await Promise.all(tools.map((tool) => findTool(tool, env)));
  const missing = tools.filter((_, i) => !found[i]).map((tool) => ({ tool, package: HOST_TOOLS[tool] }));
  return { missing, packages: await missingPackages() };
}

async function gatherQemu(env: NodeJS.ProcessEnv): Promise<QemuFact> {
  const qemu = await findTool('qemu-system-x86_64', env);
  if (!qemu) return { path: undefined, version: undefined };
  const r = await execa(qemu, ['--version'], { reject: false, timeout: 10_000, stdin: 'ignore' });
  const first = r.stdout.split('\n')[0]?.trim();
  if (r.exitCode === 0 && first) return { path: qemu, version: first };
  return { path: qemu, version: undefined, versionError: r.stderr.split('\n').find(Boolean) ?? r.shortMessage };
}

/** Name and member list of group `gid`, through NSS (getent) so directory-service groups count too. */
async function lookupGroup(gid: number): Promise<{ name: string; members: string[] } | undefined> {
  const r = await execa('getent', ['group', String(gid)], { reject: false, stdin: 'ignore' }).catch(() => undefined);
  const [name, , , members] = (r?.exitCode === 0 ? r.stdout.trim() : '').split(':');
  return name ? { name, members: (members ?? '').split(',').filter(Boolean) } : undefined;
}

async function cpuVirt(): Promise<'vmx' | 'svm' | undefined> {
  const text = await readFile('/proc/cpuinfo', 'utf8');
  const flags = text.split('\n').find((l) => l.startsWith('flags')) ?? '';
  return /\bvmx\b/.test(flags) ? 'vmx' : /\bsvm\b/.test(flags) ? 'svm' : undefined;
}

async function currentProbeKey(): Promise<string | undefined> {
  const qemu = await findTool('qemu-system-x86_64');
  return qemu ? probeKey(qemu) : undefined;
}

async function readProbe(file: string): Promise<ProbeOutcome | undefined> {
  const cached = await readJsonOr<{ key?: string; failure?: string | null }>(file);
  if (!cached || typeof cached.key !== 'string') return undefined;
  const [info, key] = await Promise.all([stat(file), currentProbeKey().catch(() => undefined)]);
  return { failure: cached.failure ?? undefined, current: cached.key === key, at: info.mtime.toISOString() };
}

async function gatherKvm(root: string, kernels: Promise<Fact<KernelsFact>>, probe: boolean): Promise<KvmFact> {
  const device = '/dev/kvm';
  const probeFile = path.join(root, PROBE_FILE);
  const accessError = await access(device, constants.R_OK | constants.W_OK).then(
    () => undefined,
    (error: NodeJS.ErrnoException) => error.code ?? message(error),
  );
  const [virt, modules, info] = await Promise.all([
    cpuVirt().catch(() => undefined),
    Promise.all(['kvm', 'kvm_intel', 'kvm_amd'].map(async (m) => ((await stat(`/sys/module/${m}`).catch(() => undefined)) ? m : undefined))),
    stat(device).catch(() => undefined),
  ]);
  const fact: KvmFact = { device, accessError, cpuVirt: virt, modules: modules.filter((m): m is string => !!m), probe: await readProbe(probeFile), probeFile };
  if (info) {
    const group = await lookupGroup(info.gid);
    const user = userInfo();
    fact.group = {
      gid: info.gid,
      name: group?.name,
      mode: (info.mode & 0o777).toString(8).padStart(4, '0'),
      member: user.gid === info.gid || (group?.members.includes(user.username) ?? false),
      inSession: process.getgid?.() === info.gid || (process.getgroups?.() ?? []).includes(info.gid),
    };
  }
  if (probe && !accessError && !fact.probe?.current) {
    const k = await kernels;
    const kernel = k.ok ? (k.value.cached.find((c) => c.series === k.value.defaultSeries) ?? k.value.cached[0]) : undefined;
    if (!kernel) fact.probed = { skipped: 'no cached kernel to boot' };
    else {
      await chooseAccel('auto', kernel.vmlinuz, root);
      fact.probed = { kernel: kernel.release };
      fact.probe = await readProbe(probeFile);
    }
  }
  return fact;
}

async function gatherDisk(root: string): Promise<DiskFact> {
  let measured = root;
  while (!(await stat(measured).catch(() => undefined)) && path.dirname(measured) !== measured) measured = path.dirname(measured);
  const s = await statfs(measured);
  return { cacheRoot: root, measured, freeBytes: s.bavail * s.bsize };
}

/** HTTP status of `url` (HEAD, or GET where HEAD is refused), or why there is none. */
async function probeUrl(url: string, timeoutMs: number): Promise<Pick<MirrorProbe, 'status' | 'error' | 'ms'>> {
  const start = performance.now();
  const signal = AbortSignal.timeout(timeoutMs);
  const ms = (): number => Math.round(performance.now() - start);
  try {
    let res = await fetch(url, { method: 'HEAD', signal, redirect: 'follow' });
    if (res.status === 405 || res.status === 501) {
      res = await fetch(url, { signal, redirect: 'follow' });
      await res.body?.cancel();
    }
    return { status: res.status, ms: ms() };
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') return { error: `no answer within ${timeoutMs / 1000} s`, ms: ms() };
    // undici hides the reason (ENOTFOUND, ECONNREFUSED, a TLS error) in `cause`.
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { error: cause ? [cause.code, cause.message].filter(Boolean).join(': ') : message(error), ms: ms() };
  }
}

async function gatherMirror(env: NodeJS.ProcessEnv): Promise<MirrorFact> {
  const mirrors = await findMirrors(env);
  // The suites the catalogue fetches, default series first; else the first suite the sources name for that URI.
  const suites: Partial<Record<Archive, string>> = {};
  try {
    const catalogue = loadCatalogue();
    const specs = [catalogue.series[catalogue.default]!, ...Object.values(catalogue.series)];
    for (const ref of specs.flatMap((s) => s.suites)) suites[ref.archive] ??= ref.suite;
  } catch {
    const entries = await readAptSources();
    for (const archive of ['debian', 'debian-security'] as const) {
      const uri = mirrors[archive]?.uri;
      suites[archive] = entries.find((e) => e.uris.some((u) => u.replace(/\/+$/, '') === uri))?.suites[0];
    }
  }
  const wanted = (['debian', 'debian-security'] as const).filter((a) => a === 'debian' || suites[a]);
  const probe = async (archive: Archive): Promise<MirrorProbe | undefined> => {
    const source = mirrors[archive];
    if (!source) return undefined;
    const suite = suites[archive];
    const base: MirrorProbe = { archive, uri: source.uri, from: source.from, suite, url: undefined };
    if (!suite) return { ...base, skipped: 'no suite known to check' };
    if (!/^https?:\/\//.test(source.uri)) return { ...base, skipped: 'not an http(s) URI, not checked' };
    const url = `${source.uri}/dists/${suite}/Release`;
    return { ...base, url, ...(await probeUrl(url, MIRROR_TIMEOUT_MS)) };
  };
  const probes = (await Promise.all(wanted.map(probe))).filter((p): p is MirrorProbe => p !== undefined);
  return { probes, missing: wanted.filter((a) => !mirrors[a]) };
}

async function gatherCompiler(root: string, env: NodeJS.ProcessEnv): Promise<CompilerFact> {
  const [gccPath, make, mmdebstrap, unprivilegedClone, maxUserNamespaces, apparmorRestrict, roots] = await Promise.all([
    findTool('gcc', env),
    findTool('make', env),
    findTool('mmdebstrap', env),
    readNumber('/proc/sys/kernel/unprivileged_userns_clone'),
    readNumber('/proc/sys/user/max_user_namespaces'),
    readNumber('/proc/sys/kernel/apparmor_restrict_unprivileged_userns'),
    readdir(path.join(root, TOOLCHAINS_AREA)).catch(() => [] as string[]),
  ]);
  let gcc: CompilerFact['gcc'];
  if (gccPath) {
    const r = await execa(gccPath, ['-dumpversion'], { reject: false, timeout: 10_000, stdin: 'ignore' });
    gcc = { path: gccPath, major: r.exitCode === 0 ? parseDumpVersion(r.stdout) : undefined };
  }
  const userns: CompilerFact['userns'] = {};
  if (unprivilegedClone !== undefined) userns.unprivilegedClone = unprivilegedClone;
  if (maxUserNamespaces !== undefined) userns.maxUserNamespaces = maxUserNamespaces;
  if (apparmorRestrict !== undefined) userns.apparmorRestrict = apparmorRestrict;
  return { gcc, make, mmdebstrap, isRoot: process.getuid?.() === 0, userns, roots: roots.filter((n) => !n.startsWith('.')).sort() };
}

async function gatherKernels(root: string): Promise<KernelsFact> {
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

// ---- judging ---------------------------------------------------------------------------

const check = (name: string, status: CheckStatus, summary: string, fix?: string): DoctorCheck => (fix === undefined ? { name, status, summary } : { name, status, summary, fix });

/** A fact that could not be gathered is a warning: the doctor cannot tell, the run may still work. */
const unknown = (name: string, fact: { error: string }): DoctorCheck => check(name, 'warn', `could not check: ${fact.error}`);

function diagnoseTools(fact: ToolsFact): DoctorCheck {
  const total = Object.keys(HOST_TOOLS).length;
  if (fact.packages.length === 0) return check('host-tools', 'ok', `all ${total} tools present`);
  const fromTools = new Set(fact.missing.map((m) => m.package));
  const parts = [...fact.missing.map((m) => `${m.tool} (${m.package})`), ...fact.packages.filter((p) => !fromTools.has(p)).map((p) => (p === 'libc6-dev' ? 'libc.a (libc6-dev)' : p))];
  return check('host-tools', 'fail', `missing: ${parts.join(', ')}`, aptInstallLine(fact.packages));
}

function diagnoseQemu(fact: QemuFact): DoctorCheck {
  if (!fact.path) return check('qemu', 'fail', 'qemu-system-x86_64 not found', aptInstallLine([HOST_TOOLS['qemu-system-x86_64']]));
  if (!fact.version) return check('qemu', 'fail', `${fact.path} --version failed: ${fact.versionError ?? 'no output'}`, `reinstall QEMU: ${aptInstallLine(['--reinstall', HOST_TOOLS['qemu-system-x86_64']])}`);
  return check('qemu', 'ok', fact.version);
}

export const KVM_UDEV_RULE = 'KERNEL=="kvm", GROUP="kvm", MODE="0666"';
const UDEV_FIX = `on CI runners: echo '${KVM_UDEV_RULE}' | sudo tee /etc/udev/rules.d/99-kvm.rules && sudo udevadm control --reload-rules && sudo udevadm trigger --name-match=kvm`;

function diagnoseKvm(fact: KvmFact): DoctorCheck {
  const tcg = 'runs use TCG (works, several times slower)';
  const noFlag = fact.cpuVirt === undefined;
  if (fact.accessError === 'ENOENT') {
    if (noFlag) {
      return check('kvm', 'warn', `${fact.device} does not exist and the CPU lists no vmx/svm in /proc/cpuinfo; ${tcg}`, 'enable VT-x/AMD-V in the firmware, or nested virtualisation for this VM on its host');
    }
    const module = fact.cpuVirt === 'vmx' ? 'kvm_intel' : 'kvm_amd';
    const why = fact.modules.includes(module) ? `${module} is loaded but made no device` : `the ${module} module is not loaded`;
    return check('kvm', 'warn', `${fact.device} does not exist (${why}); ${tcg}`, `sudo modprobe ${module}; if it fails, 'sudo dmesg | grep -i kvm' says why (virtualisation disabled in the firmware?)`);
  }
  if (fact.accessError) {
    const g = fact.group;
    const owner = g ? `owned by group ${g.name ?? g.gid}, mode ${g.mode}` : 'owner unknown';
    const summary = `${fact.device} is not read/writable by this user (${fact.accessError}; ${owner}); ${tcg}`;
    if (g?.member && !g.inSession && g.name && g.name !== 'root') {
      return check('kvm', 'warn', summary, `you are in group ${g.name} but this session predates it: log in again (or run 'newgrp ${g.name}')`);
    }
    // A root-owned device gets no useful group to join: the udev rule hands it to group kvm first.
    const group = g?.name && g.name !== 'root' ? g.name : 'kvm';
    const join = `sudo usermod -aG ${group} $USER, then log in again`;
    return check('kvm', 'warn', summary, g?.name && g.name !== 'root' ? `${join}\n${UDEV_FIX}` : `${UDEV_FIX}\nthen: ${join}`);
  }
  const flagNote = noFlag ? ' (the CPU lists no vmx/svm: a nested or paravirtualised KVM)' : '';
  const probed = fact.probed && 'skipped' in fact.probed ? `; probe not run: ${fact.probed.skipped}` : '';
  const reprobe = `after fixing KVM, delete ${fact.probeFile} to probe again`;
  const p = fact.probe;
  // accel.ts words its failures for a run's log; here the heading already says it was the probe.
  const failure = p?.failure?.replace(/^a probe boot under KVM failed: /, '');
  if (!p) return check('kvm', 'ok', `${fact.device} usable${flagNote}; the first run boots a short probe to confirm KVM runs a stock kernel${probed}`);
  const when = fact.probed && 'kernel' in fact.probed ? `just now with ${fact.probed.kernel}` : `cached ${p.at.slice(0, 10)}`;
  if (failure === undefined) {
    return p.current
      ? check('kvm', 'ok', `KVM usable: probe boot passed (${when})`)
      : check('kvm', 'ok', `${fact.device} usable; the last probe passed, but for another host kernel or QEMU: the next run probes again${probed}`);
  }
  if (!p.current) {
    return check('kvm', 'warn', `the last KVM probe failed (for another host kernel or QEMU: the next run probes again): ${failure}${flagNote}${probed}`);
  }
  return check('kvm', 'warn', `KVM probe failed (${when}): ${failure}${flagNote}; ${tcg}`, `none needed for TCG runs; ${reprobe}`);
}

const formatGB = (bytes: number): string => `${(bytes / GB).toFixed(1)} GB`;

function diagnoseDisk(fact: DiskFact): DoctorCheck {
  const where = fact.measured === fact.cacheRoot ? fact.cacheRoot : `${fact.measured} (the cache dir ${fact.cacheRoot} is not made yet)`;
  const summary = `${formatGB(fact.freeBytes)} free at ${where}`;
  const fix = `kmod-harness cache prune, or set KMOD_HARNESS_CACHE to a disk with more room (a kernel takes ~150 MB, a compiler root ~300 MB)`;
  if (fact.freeBytes < DISK_FAIL_BYTES) return check('disk', 'fail', `${summary}; under ${formatGB(DISK_FAIL_BYTES)}`, fix);
  if (fact.freeBytes < DISK_WARN_BYTES) return check('disk', 'warn', `${summary}; under ${formatGB(DISK_WARN_BYTES)}`, fix);
  return check('disk', 'ok', summary);
}

const mirrorVariable = (archive: Archive): string => (archive === 'debian' ? 'KMOD_HARNESS_MIRROR' : 'KMOD_HARNESS_SECURITY_MIRROR');

function diagnoseMirror(fact: MirrorFact): DoctorCheck {
  const parts: string[] = [];
  const fixes: string[] = [];
  let status: CheckStatus = 'ok';
  const worsen = (archive: Archive): void => {
    // Only the main archive is needed by every series; the security one serves some.
    status = archive === 'debian' || status === 'fail' ? 'fail' : 'warn';
  };
  for (const archive of fact.missing) {
    worsen(archive);
    parts.push(`no ${archive} archive in the apt sources under /etc/apt`);
    fixes.push(`set ${mirrorVariable(archive)} to the URI of a ${archive} mirror (the URI part of an apt sources line)`);
  }
  for (const p of fact.probes) {
    const what = `${p.uri} (${p.from})`;
    const target = p.suite ? ` dists/${p.suite}/Release` : '';
    if (p.status !== undefined && p.status >= 200 && p.status < 300) {
      parts.push(`${what}: HTTP ${p.status} for${target} in ${p.ms} ms`);
      continue;
    }
    if (p.skipped) {
      if (status === 'ok') status = 'warn';
      parts.push(`${what}: ${p.skipped}`);
      continue;
    }
    worsen(p.archive);
    if (p.status !== undefined) {
      parts.push(`${what}: HTTP ${p.status} for${target}`);
      fixes.push(`set ${mirrorVariable(p.archive)} to a mirror that serves ${p.suite}`);
    } else {
      parts.push(`${what}: ${p.error ?? 'unreachable'}`);
      fixes.push(
        `check the network and proxy (runs fetch through apt, which honours apt's proxy setting; this check connects directly), or set ${mirrorVariable(p.archive)} to the URI of a reachable ${p.archive} mirror`,
      );
    }
  }
  return check('mirror', status, parts.join('; ') || 'no archive to check', fixes.length > 0 ? [...new Set(fixes)].join('\n') : undefined);
}

/** Why mmdebstrap --mode=unshare cannot run here, with the sysctl that allows it; undefined when it can. */
function usernsBlock(fact: CompilerFact): { why: string; fix: string } | undefined {
  if (fact.isRoot) return undefined;
  const u = fact.userns;
  if (u.unprivilegedClone === 0) return { why: 'kernel.unprivileged_userns_clone is 0', fix: 'sudo sysctl -w kernel.unprivileged_userns_clone=1' };
  if (u.maxUserNamespaces === 0) return { why: 'user.max_user_namespaces is 0', fix: 'sudo sysctl -w user.max_user_namespaces=15000' };
  if (u.apparmorRestrict === 1) return { why: 'AppArmor restricts unprivileged user namespaces', fix: 'sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0' };
  return undefined;
}

function diagnoseGcc(fact: CompilerFact, kernels: Fact<KernelsFact>): DoctorCheck {
  const missing = [...(fact.gcc ? [] : ['gcc']), ...(fact.make ? [] : ['make'])];
  if (missing.length > 0) return check('gcc', 'fail', `${missing.join(' and ')} not found`, aptInstallLine(missing));
  const major = fact.gcc?.major;
  const host = major === undefined ? `gcc (version unreadable)` : `gcc ${major}`;
  const block = usernsBlock(fact);
  const unshare = fact.isRoot ? 'as root' : block ? `blocked: ${block.why}` : 'via user namespaces';
  if (!kernels.ok) return check('gcc', 'warn', `${host}, make; cached kernels unreadable: ${kernels.error}`);

  const onHost: string[] = [];
  const roots: string[] = [];
  const problems: string[] = [];
  let rootsToMake = 0;
  for (const k of kernels.value.cached) {
    try {
      const plan = planToolchain({ compiler: parseCcVersionText(k.ccVersionText), host: { major, hasKernelCommand: true }, hint: { gccAccepted: k.gccAccepted }, suite: k.suite });
      if (plan.kind === 'host') onHost.push(k.series);
      else {
        const cached = fact.roots.includes(plan.key);
        if (!cached) rootsToMake++;
        roots.push(`${k.series} ${plan.gccPackage} from a ${plan.suite} root (${cached ? 'cached' : 'not made yet'})`);
      }
    } catch (error) {
      problems.push(`${k.series}: ${message(error)}`);
    }
  }
  const parts = [`${host}, make`];
  if (onHost.length > 0) parts.push(`host gcc builds ${onHost.join(', ')}`);
  if (roots.length > 0) parts.push(roots.join(', '));
  parts.push(...problems);
  const uncached = kernels.value.uncached;
  if (uncached.length > 0) parts.push(`not cached yet: ${uncached.join(', ')} (one built with another gcc than the host's gets a gcc-N root of its suite, made with mmdebstrap)`);
  if (rootsToMake > 0 || uncached.length > 0) parts.push(`mmdebstrap --mode=unshare: ${fact.mmdebstrap ? unshare : 'not installed'}`);

  const needRoot = rootsToMake > 0;
  const fixes: string[] = [];
  if ((needRoot || uncached.length > 0) && !fact.mmdebstrap) fixes.push(aptInstallLine(['mmdebstrap']));
  if ((needRoot || uncached.length > 0) && block) fixes.push(`${block.fix} (or run as root) so mmdebstrap can unshare`);
  // Only a root that is known to be needed and cannot be made warns; an uncached series may never need one.
  const status: CheckStatus = problems.length > 0 || (needRoot && (!fact.mmdebstrap || block)) ? 'warn' : 'ok';
  return check('gcc', status, parts.join('; '), fixes.length > 0 ? fixes.join('\n') : undefined);
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

// ---- printing --------------------------------------------------------------------------

/** One line per check (`status name summary`), each fix line indented under it. */
export function formatDoctor(checks: DoctorCheck[]): string {
  const lines: string[] = [];
  for (const c of checks) {
    lines.push(`${c.status.padEnd(6)}${c.name.padEnd(14)}${c.summary}`);
    if (c.fix) c.fix.split('\n').forEach((line, i) => lines.push(`${' '.repeat(6)}${i === 0 ? 'fix: ' : '     '}${line}`));
  }
  return `${lines.join('\n')}\n`;
}

export function doctorExitCode(checks: DoctorCheck[]): 0 | 1 {
  return checks.some((c) => c.status === 'fail') ? 1 : 0;
}

export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorCheck[]> {
  return diagnose(await gatherHostFacts(options));
}
