import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configOwnershipProblem, findConfigFile, loadConfig, loadConfigFile, searchTop } from '../../../harness/src/config/load.js';
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

// Real directories under the temp dir (outside the real $HOME); `home` stands in for $HOME.
describe('findConfigFile: where the search stops', () => {
  const config = (d: string) => writeFile(path.join(d, 'kmod-harness.config.ts'), 'export default {}');

  it('outside $HOME with no project root above: the start dir only, never a shared parent', async () => {
    await config(dir);
    await mkdir(path.join(dir, 'a'));
    const home = path.join(dir, 'elsewhere');
    expect(await searchTop(path.join(dir, 'a'), home)).toBe(path.join(dir, 'a'));
    expect(await findConfigFile(path.join(dir, 'a'), home)).toBeUndefined();
    expect(await findConfigFile(dir, home)).toBe(path.join(dir, 'kmod-harness.config.ts'));
  });

  it('outside $HOME, a project root above: up to it', async () => {
    await mkdir(path.join(dir, 'repo/.git'), { recursive: true });
    await mkdir(path.join(dir, 'repo/a/b'), { recursive: true });
    await config(path.join(dir, 'repo'));
    expect(await findConfigFile(path.join(dir, 'repo/a/b'), path.join(dir, 'elsewhere'))).toBe(path.join(dir, 'repo/kmod-harness.config.ts'));
  });

  it('under $HOME with no project root: up to $HOME itself, never above it', async () => {
    const home = path.join(dir, 'home');
    await mkdir(path.join(home, 'a/b'), { recursive: true });
    await config(dir);
    expect(await searchTop(path.join(home, 'a/b'), home)).toBe(home);
    expect(await findConfigFile(path.join(home, 'a/b'), home)).toBeUndefined();
    await config(home);
    expect(await findConfigFile(path.join(home, 'a/b'), home)).toBe(path.join(home, 'kmod-harness.config.ts'));
  });

  it('under $HOME, a project root below it ends the search first', async () => {
    const home = path.join(dir, 'home');
    await mkdir(path.join(home, 'proj/sub'), { recursive: true });
    await writeFile(path.join(home, 'proj/package.json'), '{}');
    await config(home);
    expect(await searchTop(path.join(home, 'proj/sub'), home)).toBe(path.join(home, 'proj'));
    expect(await findConfigFile(path.join(home, 'proj/sub'), home)).toBeUndefined();
  });

  it('a $HOME of / is no boundary: treated as outside $HOME', async () => {
    await config(dir);
    await mkdir(path.join(dir, 'a'));
    expect(await findConfigFile(path.join(dir, 'a'), '/')).toBeUndefined();
  });
});

describe('configOwnershipProblem', () => {
  const me = 1000;
  it("accepts the user's own file and root's, not writable by others", () => {
    expect(configOwnershipProblem('c.ts', { uid: me, gid: 100, mode: 0o100644 }, me)).toBeUndefined();
    expect(configOwnershipProblem('c.ts', { uid: 0, gid: 0, mode: 0o100644 }, me)).toBeUndefined();
  });

  it("refuses another user's file", () => {
    expect(configOwnershipProblem('c.ts', { uid: 1001, gid: 1001, mode: 0o100644 }, me)?.problem).toBe(
      'c.ts belongs to uid 1001, not to you (uid 1000) or root',
    );
  });

  it('refuses a file others can write, and one a shared group can write', () => {
    expect(configOwnershipProblem('c.ts', { uid: me, gid: me, mode: 0o100666 }, me)).toEqual({
      problem: 'c.ts is writable by others (mode 0666)',
      fix: 'a config is code the harness runs: chmod go-w c.ts',
    });
    expect(configOwnershipProblem('c.ts', { uid: me, gid: 100, mode: 0o100664 }, me)?.problem).toBe('c.ts is writable by group 100 (mode 0664)');
  });

  it("allows group write on the owner's private group (umask 002)", () => {
    expect(configOwnershipProblem('c.ts', { uid: me, gid: me, mode: 0o100664 }, me)).toBeUndefined();
  });
});

describe('loadConfigFile: unsafe files', () => {
  it('refuses a config file writable by others, found or named', async () => {
    const file = path.join(dir, 'kmod-harness.config.ts');
    await writeFile(file, "export default { module: 'src' };\n");
    await chmod(file, 0o666);
    await expect(loadConfigFile(file)).rejects.toThrow(ConfigError);
    await expect(loadConfig({ cwd: dir })).rejects.toThrow(`refusing to load ${file} is writable by others (mode 0666)`);
    await expect(loadConfig({ file })).rejects.toMatchObject({ fix: `a config is code the harness runs: chmod go-w ${file}` });
    await chmod(file, 0o644);
    expect((await loadConfigFile(file)).config.module).toBe('src');
  });

  // chown needs root.
  it.skipIf(process.getuid?.() !== 0)("refuses another user's config, and one writable by a shared group", async () => {
    const file = path.join(dir, 'kmod-harness.config.ts');
    await writeFile(file, 'export default {};\n');
    await chown(file, 54321, 54321);
    await expect(loadConfigFile(file)).rejects.toThrow(`refusing to load ${file} belongs to uid 54321, not to you (uid 0) or root`);
    await chown(file, 0, 54321);
    await chmod(file, 0o664);
    await expect(loadConfigFile(file)).rejects.toThrow(`writable by group 54321`);
    await chown(file, 0, 0);
    expect((await loadConfigFile(file)).config).toEqual({});
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
