import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dependencyOrder, moduleName, parseBuiltin, parseModulesDep, renderModulesDep, selectModules } from '../../../harness/src/image/modules.js';

const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/modules-dep/${name}`, import.meta.url), 'utf8');

const depText = fixture('6.1-cloud.modules.dep');
const deps = parseModulesDep(depText);
const builtin = parseBuiltin(fixture('6.1-cloud.modules.builtin'));

// The same kernel as later Debian kernels ship it: every module xz-compressed.
const depsXz = parseModulesDep(depText.replace(/\.ko\b/g, '.ko.xz'));

describe('moduleName', () => {
  it('strips the directory and the .ko suffix, compressed or not', () => {
    expect(moduleName('kernel/drivers/net/virtio_net.ko')).toBe('virtio_net');
    expect(moduleName('kernel/drivers/net/virtio_net.ko.xz')).toBe('virtio_net');
    expect(moduleName('kernel/drivers/net/virtio_net.ko.zst')).toBe('virtio_net');
    expect(moduleName('virtio_net.ko.gz')).toBe('virtio_net');
  });

  it("folds '-' to '_' as the kernel does", () => {
    expect(moduleName('kernel/drivers/char/hw_random/virtio-rng.ko')).toBe('virtio_rng');
    expect(moduleName('kernel/lib/crc-t10dif.ko.xz')).toBe('crc_t10dif');
  });
});

describe('parseModulesDep (6.1 cloud excerpt)', () => {
  it('indexes every line by module name', () => {
    expect(deps.size).toBe(depText.trim().split('\n').length);
    expect(deps.get('virtio_rng')).toEqual({
      path: 'kernel/drivers/char/hw_random/virtio-rng.ko',
      deps: ['kernel/drivers/virtio/virtio.ko', 'kernel/drivers/virtio/virtio_ring.ko'],
    });
    expect(deps.has('virtio-rng')).toBe(false);
  });

  it('keeps dependencies in modules.dep order and gives leaf modules none', () => {
    expect(deps.get('virtio_net')!.deps).toEqual([
      'kernel/drivers/net/net_failover.ko',
      'kernel/net/core/failover.ko',
      'kernel/drivers/virtio/virtio.ko',
      'kernel/drivers/virtio/virtio_ring.ko',
    ]);
    expect(deps.get('failover')).toEqual({ path: 'kernel/net/core/failover.ko', deps: [] });
  });
});

describe('parseBuiltin', () => {
  it('names built-in modules the kernel way', () => {
    expect([...builtin].sort()).toEqual(['binfmt_script', 'crc_t10dif', 'ext4', 'input_core', 'rng_core', 'unix']);
  });
});

describe('selectModules', () => {
  it('selects the guest modules with their dependencies, each file once', () => {
    const s = selectModules(['virtio_pci', 'virtio_net', 'virtio_rng'], deps, builtin);
    expect(s.load).toEqual(['virtio_pci', 'virtio_net', 'virtio_rng']);
    expect(s.builtin).toEqual([]);
    expect(s.missing).toEqual([]);
    expect([...s.files].sort()).toEqual(
      [
        'kernel/drivers/virtio/virtio_pci.ko',
        'kernel/drivers/virtio/virtio_pci_legacy_dev.ko',
        'kernel/drivers/virtio/virtio_pci_modern_dev.ko',
        'kernel/drivers/virtio/virtio.ko',
        'kernel/drivers/virtio/virtio_ring.ko',
        'kernel/drivers/net/virtio_net.ko',
        'kernel/drivers/net/net_failover.ko',
        'kernel/net/core/failover.ko',
        'kernel/drivers/char/hw_random/virtio-rng.ko',
      ].sort(),
    );
    expect(new Set(s.files).size).toBe(s.files.length);
  });

  it('follows dependencies of dependencies', () => {
    // net_failover needs failover, which virtio_net also lists; scsi_mod needs scsi_common.
    expect(selectModules(['net_failover'], deps, builtin).files).toEqual(['kernel/drivers/net/net_failover.ko', 'kernel/net/core/failover.ko']);
    expect(selectModules(['virtio_scsi'], deps, builtin).files).toContain('kernel/drivers/scsi/scsi_common.ko');
  });

  it("accepts '-' or '_' in wanted names and loads by the '_' name", () => {
    expect(selectModules(['virtio-rng'], deps, builtin)).toMatchObject({ load: ['virtio_rng'], missing: [] });
    expect(selectModules(['virtio_rng'], deps, builtin).files).toContain('kernel/drivers/char/hw_random/virtio-rng.ko');
  });

  it('reports built-in and unknown modules apart, copying nothing for them', () => {
    const s = selectModules(['rng-core', 'virtio_blk', 'no_such_module', 'ext4'], deps, builtin);
    expect(s.builtin).toEqual(['rng_core', 'ext4']);
    expect(s.missing).toEqual(['no_such_module']);
    expect(s.load).toEqual(['virtio_blk']);
    expect(s.files).toEqual(['kernel/drivers/block/virtio_blk.ko', 'kernel/drivers/virtio/virtio.ko', 'kernel/drivers/virtio/virtio_ring.ko']);
  });
});

describe('renderModulesDep', () => {
  it('writes one line per selected file with its dependencies', () => {
    const s = selectModules(['net_failover', 'virtio_rng'], deps, builtin);
    expect(renderModulesDep(s.files, deps)).toBe(
      [
        'kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko',
        'kernel/net/core/failover.ko:',
        'kernel/drivers/char/hw_random/virtio-rng.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko',
        'kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko',
        'kernel/drivers/virtio/virtio_ring.ko:',
        '',
      ].join('\n'),
    );
  });

  it('renames .ko.xz to .ko everywhere, since the image stores modules uncompressed', () => {
    const s = selectModules(['virtio_net'], depsXz, builtin);
    expect(s.files[0]).toBe('kernel/drivers/net/virtio_net.ko.xz');
    const rendered = renderModulesDep(s.files, depsXz);
    expect(rendered).not.toContain('.xz');
    expect(rendered.split('\n')[0]).toBe(
      'kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko',
    );
    // Re-parsed, it describes the same graph under the plain names.
    expect([...parseModulesDep(rendered).keys()].sort()).toEqual(['failover', 'net_failover', 'virtio', 'virtio_net', 'virtio_ring']);
  });
});

describe('dependencyOrder', () => {
  it('puts every module after what it depends on (the order /init insmods them in)', () => {
    const selection = selectModules(['virtio_pci', 'virtio_net', 'virtio_rng'], deps, new Set());
    const order = dependencyOrder(selection.files, deps);
    expect(new Set(order)).toEqual(new Set(selection.files));
    const at = (name: string) => order.findIndex((f) => moduleName(f) === name);
    for (const file of order) {
      for (const dep of deps.get(moduleName(file))?.deps ?? []) expect(at(moduleName(dep)), `${dep} before ${file}`).toBeLessThan(at(moduleName(file)));
    }
  });

  it('keeps files without dependencies in the order given', () => {
    const plain = parseModulesDep('a.ko:\nb.ko: c.ko\nc.ko:\n');
    expect(dependencyOrder(['a.ko', 'b.ko', 'c.ko'], plain)).toEqual(['a.ko', 'c.ko', 'b.ko']);
  });
});
