// The guest image holds the guest's SSH host key: the image, the key and their directories are
// the user's alone. A real image of the harness's own root (host busybox, dropbear, sftp-server).
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, IMAGES_AREA } from '../../../harness/src/image/initramfs.js';
import { needs } from '../../support/host-tools.js';

const modeOf = async (p: string) => (await stat(p)).mode & 0o777;
const tools = await needs(['busybox', 'dropbear', 'dropbearkey', 'sftp-server', 'ldd']);

describe.skipIf(tools.skip)('buildImage: file modes', () => {
  beforeAll(() => tools.require());
  let work: string;
  let modulesDir: string;
  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'kmod-harness-initramfs-'));
    modulesDir = path.join(work, 'modules/6.1.44');
    await mkdir(path.join(modulesDir, 'kernel/drivers/net'), { recursive: true });
    await writeFile(path.join(modulesDir, 'kernel/drivers/net/virtio_net.ko'), 'virtio_net');
    await writeFile(path.join(modulesDir, 'modules.dep'), 'kernel/drivers/net/virtio_net.ko:\n');
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('writes the initramfs and the host key 0600, in 0700 directories, and tightens an older 0755 area', async () => {
    const cache = path.join(work, 'cache');
    // An area as an older harness left it.
    await mkdir(path.join(cache, IMAGES_AREA), { recursive: true, mode: 0o755 });
    const image = await buildImage({ release: '6.1.44', modulesDir }, cache);
    const entry = path.dirname(image.initramfs);
    expect(await modeOf(path.join(cache, IMAGES_AREA))).toBe(0o700);
    expect(await modeOf(entry)).toBe(0o700);
    expect(await modeOf(image.initramfs)).toBe(0o600);
    expect(await modeOf(path.join(entry, 'host_key'))).toBe(0o600);
    expect((await readdir(entry)).sort()).toEqual(['host_key', 'host_key.pub', 'initramfs.cpio']);
  });
});
