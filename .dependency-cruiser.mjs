// The layering of harness/src as a rule the build checks (ARCHITECTURE.md draws it): a file
// may import from its own layer and the layers below, never from one above, and nothing may
// form a cycle, type-only imports included (they are still a dependency of the design).
// test/unit/architecture.test.ts runs it in `npm test`; `npm run deps` prints the violations.

/**
 * Bottom to top, one folder (or group of root files) per layer, so that no two folders can
 * import each other either. A path is a folder (`debian/`) or a file (`run.ts`) of harness/src.
 */
export const LAYERS = [
  { name: 'vocabulary', paths: ['errors.ts', 'events.ts', 'outcome.ts', 'limits.ts', 'job-raw.ts', 'kernel-artifacts.ts', 'arch.ts', 'util/'] },
  { name: 'host', paths: ['host/'] },
  { name: 'cache', paths: ['cache/'] },
  { name: 'debian', paths: ['debian/'] },
  { name: 'user-kernel', paths: ['user-kernel/'] },
  { name: 'kernel', paths: ['kernel/'] },
  { name: 'toolchain', paths: ['toolchain/'] },
  { name: 'kernel-build', paths: ['kernel-build/'] },
  { name: 'build', paths: ['build/'] },
  { name: 'image', paths: ['image/'] },
  { name: 'qemu', paths: ['qemu/'] },
  { name: 'verdict', paths: ['verdict/'] },
  { name: 'guest', paths: ['guest/'] },
  { name: 'pipeline', paths: ['session.ts', 'run.ts'] },
  { name: 'console', paths: ['console/'] },
  { name: 'report', paths: ['report/'] },
  { name: 'config', paths: ['config/'] },
  { name: 'commands', paths: ['commands/'] },
  { name: 'vitest', paths: ['vitest/'] },
  { name: 'entry', paths: ['program.ts', 'cli.ts', 'index.ts'] },
];

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** A path regex for some layers' paths, relative to any `harness/src/` (or the root cruised). */
const under = (paths) => `(^|/)harness/src/(${paths.map((p) => (p.endsWith('/') ? `${escape(p)}` : `${escape(p)}$`)).join('|')})`;

const layerRules = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `layer-${layer.name}`,
  comment: `${layer.name} (${layer.paths.join(', ')}) may not import from the layers above it`,
  severity: 'error',
  from: { path: under(layer.paths) },
  to: { path: under(LAYERS.slice(i + 1).flatMap((l) => l.paths)) },
}));

const everyPath = LAYERS.flatMap((l) => l.paths);

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    { name: 'no-circular', comment: 'files that import each other, directly or through others', severity: 'error', from: {}, to: { circular: true } },
    ...layerRules,
    {
      name: 'in-a-layer',
      comment: 'every file of harness/src belongs to a layer: a new folder is placed in LAYERS',
      severity: 'error',
      from: { path: '(^|/)harness/src/', pathNot: under(everyPath) },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
