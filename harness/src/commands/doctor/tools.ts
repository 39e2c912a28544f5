// Doctor check `host-tools`: every tool the harness shells out to (and libc.a), with one apt-get
// line for what is missing.
import { aptInstallLine, missingPackages } from '../../host/setup.js';
import { findTool, HOST_TOOLS, type HostTool } from '../../host/tools.js';
import { check, type DoctorCheck } from './check.js';

export interface ToolsFact {
  missing: { tool: HostTool; package: string }[];
  /** Every package to install (missingPackages(): the tools' plus libc6-dev for libc.a). */
  packages: string[];
}

export async function gatherTools(env: NodeJS.ProcessEnv): Promise<ToolsFact> {
  const tools = Object.keys(HOST_TOOLS) as HostTool[];
  const found = await Promise.all(tools.map((tool) => findTool(tool, env)));
  const missing = tools.filter((_, i) => !found[i]).map((tool) => ({ tool, package: HOST_TOOLS[tool] }));
  return { missing, packages: await missingPackages() };
}

export function diagnoseTools(fact: ToolsFact): DoctorCheck {
  const total = Object.keys(HOST_TOOLS).length;
  if (fact.packages.length === 0) return check('host-tools', 'ok', `all ${total} tools present`);
  const fromTools = new Set(fact.missing.map((m) => m.package));
  const parts = [
    ...fact.missing.map((m) => `${m.tool} (${m.package})`),
    ...fact.packages.filter((p) => !fromTools.has(p)).map((p) => (p === 'libc6-dev' ? 'libc.a (libc6-dev)' : p)),
  ];
  return check('host-tools', 'fail', `missing: ${parts.join(', ')}`, aptInstallLine(fact.packages));
}
