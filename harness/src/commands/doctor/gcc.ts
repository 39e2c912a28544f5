// Doctor check `gcc`: the host's gcc and make, which cached kernels it builds modules for, and
// the compiler roots the others need: cached, or makeable by mmdebstrap --mode=unshare here.
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { TOOLCHAINS_AREA } from '../../toolchain/root.js';
import { gccMajor } from '../../toolchain/index.js';
import { parseCcVersionText, planToolchain } from '../../toolchain/select.js';
import { aptInstallLine } from '../../host/setup.js';
import { findTool } from '../../host/tools.js';
import { check, errorMessage, type CheckStatus, type DoctorCheck, type Fact } from './check.js';
import type { KernelsFact } from './kernels.js';

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

// ---- gathering -------------------------------------------------------------------------

const readNumber = async (file: string): Promise<number | undefined> => {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : Number(text.trim());
};

export async function gatherCompiler(root: string, env: NodeJS.ProcessEnv): Promise<CompilerFact> {
  const [gccPath, make, mmdebstrap, unprivilegedClone, maxUserNamespaces, apparmorRestrict, roots] = await Promise.all([
    findTool('gcc', env),
    findTool('make', env),
    findTool('mmdebstrap', env),
    readNumber('/proc/sys/kernel/unprivileged_userns_clone'),
    readNumber('/proc/sys/user/max_user_namespaces'),
    readNumber('/proc/sys/kernel/apparmor_restrict_unprivileged_userns'),
    readdir(path.join(root, TOOLCHAINS_AREA)).catch(() => [] as string[]),
  ]);
  const gcc: CompilerFact['gcc'] = gccPath ? { path: gccPath, major: await gccMajor(gccPath) } : undefined;
  const userns: CompilerFact['userns'] = {};
  if (unprivilegedClone !== undefined) userns.unprivilegedClone = unprivilegedClone;
  if (maxUserNamespaces !== undefined) userns.maxUserNamespaces = maxUserNamespaces;
  if (apparmorRestrict !== undefined) userns.apparmorRestrict = apparmorRestrict;
  return { gcc, make, mmdebstrap, isRoot: process.getuid?.() === 0, userns, roots: roots.filter((n) => !n.startsWith('.')).sort() };
}

// ---- judging ---------------------------------------------------------------------------

/** Why mmdebstrap --mode=unshare cannot run here, with the sysctl that allows it; undefined when it can. */
function usernsBlock(fact: CompilerFact): { why: string; fix: string } | undefined {
  if (fact.isRoot) return undefined;
  const u = fact.userns;
  if (u.unprivilegedClone === 0) return { why: 'kernel.unprivileged_userns_clone is 0', fix: 'sudo sysctl -w kernel.unprivileged_userns_clone=1' };
  if (u.maxUserNamespaces === 0) return { why: 'user.max_user_namespaces is 0', fix: 'sudo sysctl -w user.max_user_namespaces=15000' };
  if (u.apparmorRestrict === 1)
    return { why: 'AppArmor restricts unprivileged user namespaces', fix: 'sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0' };
  return undefined;
}

export function diagnoseGcc(fact: CompilerFact, kernels: Fact<KernelsFact>): DoctorCheck {
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
      const plan = planToolchain({
        compiler: parseCcVersionText(k.ccVersionText),
        host: { major, hasKernelCommand: true },
        hint: { gccAccepted: k.gccAccepted },
        suite: k.suite,
      });
      if (plan.kind === 'host') onHost.push(k.series);
      else {
        const cached = fact.roots.includes(plan.key);
        if (!cached) rootsToMake++;
        roots.push(`${k.series} ${plan.gccPackage} from a ${plan.suite} root (${cached ? 'cached' : 'not made yet'})`);
      }
    } catch (error) {
      problems.push(`${k.series}: ${errorMessage(error)}`);
    }
  }
  const parts = [`${host}, make`];
  if (onHost.length > 0) parts.push(`host gcc builds ${onHost.join(', ')}`);
  if (roots.length > 0) parts.push(roots.join(', '));
  parts.push(...problems);
  const uncached = kernels.value.uncached;
  if (uncached.length > 0)
    parts.push(`not cached yet: ${uncached.join(', ')} (one built with another gcc than the host's gets a gcc-N root of its suite, made with mmdebstrap)`);
  if (rootsToMake > 0 || uncached.length > 0) parts.push(`mmdebstrap --mode=unshare: ${fact.mmdebstrap ? unshare : 'not installed'}`);

  const needRoot = rootsToMake > 0;
  const fixes: string[] = [];
  if ((needRoot || uncached.length > 0) && !fact.mmdebstrap) fixes.push(aptInstallLine(['mmdebstrap']));
  if ((needRoot || uncached.length > 0) && block) fixes.push(`${block.fix} (or run as root) so mmdebstrap can unshare`);
  // Only a root that is known to be needed and cannot be made warns; an uncached series may never need one.
  const status: CheckStatus = problems.length > 0 || (needRoot && (!fact.mmdebstrap || block)) ? 'warn' : 'ok';
  return check('gcc', status, parts.join('; '), fixes.length > 0 ? fixes.join('\n') : undefined);
}
