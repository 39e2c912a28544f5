// Tests that need a host tool. Where it is missing they skip on a developer's machine, but under
// CI (`CI` set) they run and fail at once, naming the Debian package: a skip there would count
// as green while proving nothing. `kmod-harness setup --test` (run by `npm test`) installs them.
import { access } from 'node:fs/promises';
import { underCI } from '../../harness/src/console/mode.js';
import { debianPackageOf, findTool, type AnyTool } from '../../harness/src/host/tools.js';

export interface ToolNeed {
  /** For it.skipIf / describe.skipIf: missing, and not under CI. */
  skip: boolean;
  /** Call first in the test (or its beforeAll): throws the install line when something is missing. */
  require(): void;
}

/** `tools` by name, and `files` by path with the package that installs each. */
export async function needs(tools: AnyTool[], files: Record<string, string> = {}): Promise<ToolNeed> {
  const missing: Array<{ what: string; pkg: string }> = [];
  for (const tool of tools) if (!(await findTool(tool))) missing.push({ what: `host tool '${tool}'`, pkg: debianPackageOf(tool) });
  for (const [file, pkg] of Object.entries(files)) {
    if (
      !(await access(file).then(
        () => true,
        () => false,
      ))
    )
      missing.push({ what: file, pkg });
  }
  return {
    skip: missing.length > 0 && !underCI(),
    require() {
      if (missing.length === 0) return;
      const pkgs = [...new Set(missing.map((m) => m.pkg))].join(' ');
      throw new Error(`${missing.map((m) => m.what).join(', ')} missing: apt-get install -y ${pkgs} (or \`node dist/cli.js setup --test\`)`);
    },
  };
}
