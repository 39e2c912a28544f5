import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findConfigFile, loadConfig, loadConfigFile } from '../../../harness/src/config/load.js';
import { ConfigError } from '../../../harness/src/config/schema.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kmod-harness-config-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('findConfigFile', () => {
  it('finds the config in a parent, up to the project root', async () => {
    await writeFile(path.join(dir, 'package.json'), '{}');
    await writeFile(path.join(dir, 'kmod-harness.config.ts'), 'export default {}');
    await mkdir(path.join(dir, 'a/b'), { recursive: true });
    expect(await findConfigFile(path.join(dir, 'a/b'))).toBe(path.join(dir, 'kmod-harness.config.ts'));
  });

  it('does not look past the project root', async () => {
    await writeFile(path.join(dir, 'kmod-harness.config.ts'), 'export default {}');
    await mkdir(path.join(dir, 'inner'));
    await writeFile(path.join(dir, 'inner/package.json'), '{}');
    expect(await findConfigFile(path.join(dir, 'inner'))).toBeUndefined();
  });
});

describe('loadConfigFile', () => {
  it('loads TypeScript with types, relative to its own directory', async () => {
    const file = path.join(dir, 'kmod-harness.config.ts');
    await writeFile(file, "interface X { module: string }\nconst c: X = { module: 'src' };\nexport default { ...c, kernels: ['6.1'] as string[] };\n");
    expect(await loadConfigFile(file)).toEqual({ file, dir, config: { module: 'src', kernels: ['6.1'] } });
  });

  // (An .mjs config goes through Node's own loader, which caches it per process.)
  it('sees an edited .ts file on the next load (no module cache)', async () => {
    const file = path.join(dir, 'kmod-harness.config.ts');
    await writeFile(file, "export default { module: 'a' };\n");
    expect((await loadConfigFile(file)).config.module).toBe('a');
    await writeFile(file, "export default { module: 'b' };\n");
    expect((await loadConfigFile(file)).config.module).toBe('b');
  });

  it('a syntax error names the file and the line', async () => {
    const file = path.join(dir, 'kmod-harness.config.ts');
    await writeFile(file, 'export default { kernels:\n');
    await expect(loadConfigFile(file)).rejects.toThrow(ConfigError);
    await expect(loadConfigFile(file)).rejects.toThrow(`${file} could not be loaded`);
    await expect(loadConfigFile(file)).rejects.toThrow(/kmod-harness\.config\.ts:\d+/);
  });

  it('a bad field is named', async () => {
    const file = path.join(dir, 'kmod-harness.config.ts');
    await writeFile(file, 'export default { timeouts: { test: "soon" } };\n');
    await expect(loadConfigFile(file)).rejects.toThrow(`${file}: timeouts.test: expected number`);
  });

  it('an explicit file that does not exist says so', async () => {
    await expect(loadConfig({ file: path.join(dir, 'nope.ts') })).rejects.toThrow(/does not exist/);
  });

  it('no config is no error', async () => {
    await writeFile(path.join(dir, 'package.json'), '{}');
    expect(await loadConfig({ cwd: dir })).toBeUndefined();
  });
});
