// The layering of harness/src (.dependency-cruiser.mjs, drawn in ARCHITECTURE.md), checked on
// the real tree, and shown to fail on a tree that breaks it: a cycle, an import upward, a
// folder placed in no layer.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cruise, type ICruiseOptions, type ICruiseResult, type IConfiguration } from 'dependency-cruiser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = path.resolve(import.meta.dirname, '../..');
const CONFIG_FILE = path.join(REPO, '.dependency-cruiser.mjs');
const { default: config, LAYERS } = (await import(CONFIG_FILE)) as { default: IConfiguration; LAYERS: Array<{ name: string; paths: string[] }> };

async function violations(dir: string, cwd: string): Promise<string[]> {
  const options: ICruiseOptions = { ...config.options, ruleSet: { forbidden: config.forbidden }, validate: true, baseDir: cwd };
  const output = await cruise([dir], options, { extensions: ['.ts', '.js'] }, { tsConfig: { fileName: path.join(cwd, 'tsconfig.json') } });
  const result = output.output as ICruiseResult;
  return result.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
}

describe('the layering of harness/src', () => {
  // A cruise with types takes ~2 s alone, several times that on a loaded 2-core host.
  it('holds: no cycle, no import from a layer above, every file in a layer', { timeout: 60_000 }, async () => {
    expect(await violations('harness/src', REPO)).toEqual([]);
  });

  it('places every folder of harness/src in exactly one layer', async () => {
    const { readdir } = await import('node:fs/promises');
    const entries = await readdir(path.join(REPO, 'harness/src'), { withFileTypes: true });
    const names = entries.map((e) => (e.isDirectory() ? `${e.name}/` : e.name)).filter((n) => n.endsWith('/') || n.endsWith('.ts'));
    const placed = LAYERS.flatMap((l) => l.paths);
    expect(names.filter((n) => !placed.includes(n))).toEqual([]);
    expect(placed.filter((p, i) => placed.indexOf(p) !== i)).toEqual([]);
  });
});

describe('the check fails on a tree that breaks the layering', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kmh-layers-'));
    const files: Record<string, string> = {
      'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', strict: true } }),
      // guest/a -> guest/b -> guest/a: a cycle inside one layer.
      'harness/src/guest/a.ts': "import { b } from './b.js';\nexport const a = (): number => b() + 1;\n",
      'harness/src/guest/b.ts': "import type { a } from './a.js';\nexport const b = (): number => 1;\nexport type A = typeof a;\n",
      // util/ (the bottom) -> commands/ (near the top).
      'harness/src/util/low.ts': "import { high } from '../commands/high.js';\nexport const low = high;\n",
      'harness/src/commands/high.ts': 'export const high = 1;\n',
      // A folder nobody placed.
      'harness/src/stray/x.ts': "import { low } from '../util/low.js';\nexport const x = low;\n",
    };
    for (const [name, text] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
      await writeFile(path.join(dir, name), text);
    }
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('names the cycle (type-only imports count), the upward import and the stray folder', { timeout: 60_000 }, async () => {
    const found = await violations('harness/src', dir);
    expect(found).toEqual(
      expect.arrayContaining([
        // Reported once, at the edge that closes it: the way back is a type-only import.
        'no-circular: harness/src/guest/a.ts -> harness/src/guest/b.ts',
        'layer-vocabulary: harness/src/util/low.ts -> harness/src/commands/high.ts',
        'in-a-layer: harness/src/stray/x.ts -> harness/src/util/low.ts',
      ]),
    );
    expect(found).toHaveLength(3);
  });
});
