// Locations inside the installed package. Code runs both from harness/src (vitest) and from
// dist (the CLI), so the root is found by walking up to our package.json, not by a fixed depth.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'kmod-harness') return dir;
    if (path.dirname(dir) === dir) throw new Error(`kmod-harness: package.json not found above ${start}`);
  }
}

export const PACKAGE_ROOT = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));
export const IMAGES_DIR = path.join(PACKAGE_ROOT, 'images');
export const GUEST_DIR = path.join(IMAGES_DIR, 'guest');
const MODULES_DIR = path.join(PACKAGE_ROOT, 'kernel-module');
const TESTS_DIR = path.join(PACKAGE_ROOT, 'userland');
/** The seed: /proc/lkmc_mmap and its test, the default module and test of a run. */
export const SEED_MODULE_DIR = path.join(MODULES_DIR, 'mmap');
export const SEED_TEST_DIR = path.join(TESTS_DIR, 'mmap');
/** The seed's second answer: /proc/lkmc_vmap (a vmalloc_user buffer), its checks and benchmark. */
export const VMALLOC_MODULE_DIR = path.join(MODULES_DIR, 'vmalloc');
export const VMALLOC_TEST_DIR = path.join(TESTS_DIR, 'vmalloc');
/** Headers for test authors (kmod-harness/ktest.h), on the include path of every test build. */
export const TEST_INCLUDE_DIR = path.join(TESTS_DIR, 'include');
