// Picks kernel modules for the guest from the kernel's modules.dep: the wanted ones that are
// not built in, plus everything they depend on.

export interface ModuleDep {
  /** Path relative to the modules dir, as modules.dep writes it (kernel/drivers/.../x.ko.xz). */
  path: string;
  deps: string[];
}

/** Module name as the kernel knows it: basename without .ko(.xz|.zst|.gz), '-' folded to '_'. */
export function moduleName(modulePath: string): string {
  const base = modulePath.slice(modulePath.lastIndexOf('/') + 1);
  return base.replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');
}

export function parseModulesDep(text: string): Map<string, ModuleDep> {
  const byName = new Map<string, ModuleDep>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const path = line.slice(0, colon).trim();
    const deps = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .filter(Boolean);
    byName.set(moduleName(path), { path, deps });
  }
  return byName;
}

export function parseBuiltin(text: string): Set<string> {
  return new Set(text.split('\n').filter(Boolean).map(moduleName));
}

export interface ModuleSelection {
  /** Paths (modules.dep spelling) to copy into the image, dependencies included. */
  files: string[];
  /** Wanted names that are modules (in wanted order): /init modprobes these. */
  load: string[];
  /** Wanted names that are built into the kernel. */
  builtin: string[];
  /** Wanted names the kernel has neither built in nor as a module. */
  missing: string[];
}

export function selectModules(wanted: string[], deps: Map<string, ModuleDep>, builtin: Set<string>): ModuleSelection {
  const files = new Set<string>();
  const selection: ModuleSelection = { files: [], load: [], builtin: [], missing: [] };
  const add = (path: string): void => {
    if (files.has(path)) return;
    files.add(path);
    for (const dep of deps.get(moduleName(path))?.deps ?? []) add(dep);
  };
  for (const raw of wanted) {
    const name = raw.replace(/-/g, '_');
    const entry = deps.get(name);
    if (entry) {
      add(entry.path);
      selection.load.push(name);
    } else if (builtin.has(name)) selection.builtin.push(name);
    else selection.missing.push(name);
  }
  selection.files = [...files];
  return selection;
}

/** modules.dep for the image, where every module is stored uncompressed. */
export function renderModulesDep(files: string[], deps: Map<string, ModuleDep>): string {
  const plain = (p: string): string => p.replace(/\.ko\.(xz|zst|gz)$/, '.ko');
  return files.map((f) => `${plain(f)}: ${(deps.get(moduleName(f))?.deps ?? []).map(plain).join(' ')}`.trimEnd()).join('\n') + '\n';
}

/** `files` reordered so every module comes after the modules it depends on (insmod order). */
export function dependencyOrder(files: string[], deps: Map<string, ModuleDep>): string[] {
  const byName = new Map(files.map((f) => [moduleName(f), f]));
  const done = new Set<string>();
  const order: string[] = [];
  const visit = (file: string): void => {
    const name = moduleName(file);
    if (done.has(name)) return;
    done.add(name);
    for (const dep of deps.get(name)?.deps ?? []) {
      const own = byName.get(moduleName(dep));
      if (own) visit(own);
    }
    order.push(file);
  };
  for (const file of files) visit(file);
  return order;
}
