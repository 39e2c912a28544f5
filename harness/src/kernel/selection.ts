// Which kernels a run covers: the --kernel / KMOD_HARNESS_KERNELS / config `kernels` syntax.
import path from 'node:path';
import { UsageError } from '../errors.js';
import { BUILDROOT_PREFIX } from '../user-kernel/buildroot.js';
import { LOCAL_PREFIX } from '../user-kernel/local.js';

/**
 * The kernels of `--kernel`: comma-separated series from the catalogue, 'all' (those series),
 * other names (`named`: the series' variants `<series>/<variant>`, kernels the harness builds
 * `<series>-debug` and a config's kernelBuilds), or kernels the user built: `buildroot:<output dir>` and `local:<bzImage>,<build dir>`. The comma inside a
 * local: spec is its own (so neither path may contain a comma): the item after `local:<bzImage>`
 * is always its build dir.
 */
export function parseKernels(value: string | undefined, known: string[], fallback: string, named: readonly string[] = []): string[] {
  if (value === undefined || value.trim() === '') return [fallback];
  if (value.trim() === 'all') return known;
  const kinds = `${known.join(', ')} (or 'all'), ${named.length > 0 ? `${named.join(', ')}, ` : ''}buildroot:<output dir>, local:<bzImage>,<build dir>`;
  const parts = value.split(',').map((s) => s.trim());
  const wanted: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part === '') continue;
    if (part.startsWith('local:')) {
      const buildDir = parts[i + 1];
      if (part === 'local:' || !buildDir || buildDir.startsWith('local:') || buildDir.startsWith('buildroot:')) {
        throw new UsageError(`'${part}' is not local:<bzImage>,<build dir>`, {
          fix: 'name the kernel image and its build dir, e.g. local:linux/arch/x86/boot/bzImage,linux',
        });
      }
      wanted.push(`${part},${buildDir}`);
      i++;
    } else if (part.startsWith('buildroot:')) {
      if (part === 'buildroot:')
        throw new UsageError("'buildroot:' names no directory", { fix: "use buildroot:<output dir>, Buildroot's output dir (with images/, build/, target/)" });
      wanted.push(part);
    } else if (known.includes(part) || named.includes(part)) wanted.push(part);
    else throw new UsageError(`unknown kernel series '${part}'`, { fix: `use one of: ${kinds}` });
  }
  if (wanted.length === 0) throw new UsageError(`no kernel series in '${value}'`, { fix: `use one or more of: ${kinds}, comma-separated` });
  return wanted;
}

/** A kernel spec with the paths of buildroot: and local: made absolute against `base`. */
export function absoluteKernelSpec(spec: string, base: string): string {
  if (spec.startsWith(BUILDROOT_PREFIX)) return BUILDROOT_PREFIX + path.resolve(base, spec.slice(BUILDROOT_PREFIX.length));
  if (spec.startsWith(LOCAL_PREFIX)) {
    const [bzImage, buildDir] = spec.slice(LOCAL_PREFIX.length).split(',') as [string, string];
    return `${LOCAL_PREFIX}${path.resolve(base, bzImage)},${path.resolve(base, buildDir)}`;
  }
  return spec;
}
