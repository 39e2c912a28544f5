// Doctor check `qemu`: qemu-system-x86_64 is installed and answers `--version`.
import { execa } from 'execa';
import { aptInstallLine } from '../../host/setup.js';
import { findTool, HOST_TOOLS } from '../../host/tools.js';
import { check, type DoctorCheck } from './check.js';

export interface QemuFact {
  path: string | undefined;
  /** First line of `--version`. */
  version: string | undefined;
  versionError?: string;
}

export async function gatherQemu(env: NodeJS.ProcessEnv): Promise<QemuFact> {
  const qemu = await findTool('qemu-system-x86_64', env);
  if (!qemu) return { path: undefined, version: undefined };
  const r = await execa(qemu, ['--version'], { reject: false, timeout: 10_000, stdin: 'ignore' });
  const first = r.stdout.split('\n')[0]?.trim();
  if (r.exitCode === 0 && first) return { path: qemu, version: first };
  return { path: qemu, version: undefined, versionError: r.stderr.split('\n').find(Boolean) ?? r.shortMessage };
}

export function diagnoseQemu(fact: QemuFact): DoctorCheck {
  if (!fact.path) return check('qemu', 'fail', 'qemu-system-x86_64 not found', aptInstallLine([HOST_TOOLS['qemu-system-x86_64']]));
  if (!fact.version)
    return check(
      'qemu',
      'fail',
      `${fact.path} --version failed: ${fact.versionError ?? 'no output'}`,
      `reinstall QEMU: ${aptInstallLine(['--reinstall', HOST_TOOLS['qemu-system-x86_64']])}`,
    );
  return check('qemu', 'ok', fact.version);
}
