// SPDX-License-Identifier: GPL-2.0
/*
 * lkmc_vmap - map a multi-page vmalloc_user() buffer to user space.
 *
 * At load, allocates one buffer of "pages" pages with vmalloc_user()
 * (zeroed, and marked VM_USERMAP so that it may be mapped to user space)
 * and writes the NUL-terminated string "page<i>" at the start of page i.
 * The buffer belongs to the module, not to an open file: every open,
 * every mapping and a child after fork see the same bytes.  Two proc
 * files reach it, both of size pages * PAGE_SIZE:
 *
 * /proc/lkmc_vmap           mmap() maps nothing up front: the fault
 *                           handler hands over one page per first touch,
 *                           vmalloc_to_page(buffer + (pgoff << PAGE_SHIFT)).
 *                           Seekable: read() and write() at the file offset,
 *                           pread() and pwrite() at any offset.
 * /proc/lkmc_vmap_prefault  mmap() maps every page of the range at once with
 *                           remap_vmalloc_range(), so touching it does not
 *                           fault.  Not seekable (nonseekable_open()):
 *                           read() and write() go in sequence from offset 0.
 *
 * mmap() refuses, with -EINVAL, a range that does not lie inside the
 * buffer.  Mappings are VM_DONTEXPAND (mremap() cannot grow them) and
 * VM_DONTDUMP.  read() and write() copy from and to the buffer; write()
 * at or past its end fails with -ENOSPC.
 *
 * Parameters (under /sys/module/lkmc_vmap/parameters/):
 *   pages          (0444) buffer size in pages, 1..1024, default 16;
 *   log_faults     (0644) one log line per fault, default Y;
 *   overmap_pages  (0644) lets mmap() reach past the end, to test SIGBUS;
 *   faults         (0444) page faults handled since load.
 *
 * Every callback logs one line whose first word names it ("open", "mmap",
 * "vm_open", "vm_fault", "read", "write", "vm_close", "release"); the
 * prefault file's own callbacks add the word "prefault" after it.
 * userland/vmalloc/expected.kmsg relies on those words.
 *
 * Each mapping holds a reference on the module from mmap() to its
 * vm_close, so rmmod refuses (EBUSY) while a mapping exists: its
 * vm_operations_struct and the buffer live in this module.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/proc_fs.h>
#include <linux/vmalloc.h>

#include "compat.h"

#define PROC_NAME		"lkmc_vmap"
#define PROC_NAME_PREFAULT	"lkmc_vmap_prefault"

enum { MAX_PAGES = 1024 };

static unsigned int npages = 16;
module_param_named(pages, npages, uint, 0444);
MODULE_PARM_DESC(pages, "Buffer size in pages, 1..1024 (default 16)");

/* Writable at run time: a benchmark turns it off, logging dominates a fault. */
static bool log_faults = true;
module_param(log_faults, bool, 0644);
MODULE_PARM_DESC(log_faults, "Log one line per page fault (default Y)");

/*
 * mmap() of /proc/lkmc_vmap accepts a range that reaches up to this many
 * pages past the end of the buffer; touching those pages gets SIGBUS from
 * the fault handler.  Only a test needs it: with the default 0, mmap()
 * refuses any such range, VM_DONTEXPAND stops mremap() from growing one,
 * and the buffer never shrinks, so no mapping can otherwise reach a page
 * past the end and the handler's SIGBUS answer could never be seen.
 */
static unsigned int overmap_pages;
module_param(overmap_pages, uint, 0644);
MODULE_PARM_DESC(overmap_pages,
		 "Pages past the end of the buffer that mmap() of /proc/lkmc_vmap accepts, to test SIGBUS (default 0)");

/* Calls of the fault handler since load: lets a test count its faults. */
static atomic_long_t fault_count = ATOMIC_LONG_INIT(0);

static int faults_get(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%ld\n", atomic_long_read(&fault_count));
}

static int faults_set(const char *val, const struct kernel_param *kp)
{
	return -EPERM;
}

static const struct kernel_param_ops faults_ops = {
	.set	= faults_set,
	.get	= faults_get,
};
module_param_cb(faults, &faults_ops, NULL, 0444);
MODULE_PARM_DESC(faults, "Page faults handled since load (read only)");

static char *buffer;		/* npages pages from vmalloc_user() */
static size_t buffer_size;	/* npages * PAGE_SIZE */

/* Whether pages [pgoff, pgoff + count) lie below limit, without overflow. */
static bool range_ok(unsigned long pgoff, unsigned long count,
		     unsigned long limit)
{
	return pgoff <= limit && count <= limit - pgoff;
}

/* The MM copied a mapping (fork, split, mremap move): one more reference. */
static void lkmc_vm_open(struct vm_area_struct *vma)
{
	pr_info("vm_open\n");
	__module_get(THIS_MODULE);
}

/*
 * module_put() is the last thing done here, but returning still runs a
 * few instructions of this module: an rmmod that wins the race in that
 * window is the usual, theoretical, hazard of a module dropping its own
 * reference.
 */
static void lkmc_vm_close(struct vm_area_struct *vma)
{
	pr_info("vm_close\n");
	module_put(THIS_MODULE);
}

/*
 * First touch of a page of the mapping.  vmf->pgoff counts from the start
 * of the file, not of the mapping (it includes vma->vm_pgoff), so it is
 * the page's index in the buffer.  The MM drops the reference taken here
 * when it unmaps the page; the buffer keeps its own until vfree().
 */
static vm_fault_t lkmc_vm_fault(struct vm_fault *vmf)
{
	struct page *page;

	atomic_long_inc(&fault_count);

	/* Only reachable with overmap_pages set: see there. */
	if (vmf->pgoff >= npages) {
		pr_info("vm_fault pgoff=%lu past the end: SIGBUS\n", vmf->pgoff);
		return VM_FAULT_SIGBUS;
	}
	if (READ_ONCE(log_faults))
		pr_info("vm_fault pgoff=%lu\n", vmf->pgoff);

	page = vmalloc_to_page(buffer + (vmf->pgoff << PAGE_SHIFT));
	get_page(page);
	vmf->page = page;
	return 0;
}

/*
 * Both files share these.  A prefault mapping normally never calls
 * ->fault, but the MM may still zap its page table entries (e.g.
 * madvise(MADV_DONTNEED)); the handler then maps the pages back one by
 * one instead of answering SIGBUS.
 */
static const struct vm_operations_struct lkmc_vm_ops = {
	.open	= lkmc_vm_open,
	.close	= lkmc_vm_close,
	.fault	= lkmc_vm_fault,
};

/*
 * The MM calls ->open only when it copies a mapping, not for the mmap()
 * that creates it, and ->close for every mapping that goes away.  So
 * mmap() takes the mapping's module reference and logs its vm_open here,
 * once nothing can fail any more: a failed mmap() gets no ->close.
 */
static void lkmc_vmap_attach(struct vm_area_struct *vma)
{
	/* Neither mremap() may grow it nor a core dump copy it. */
	compat_vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = &lkmc_vm_ops;
	pr_info("vm_open\n");
}

static int lkmc_vmap_mmap(struct file *file, struct vm_area_struct *vma)
{
	unsigned long count = vma_pages(vma);
	unsigned long limit = (unsigned long)npages + READ_ONCE(overmap_pages);

	if (!range_ok(vma->vm_pgoff, count, limit)) {
		pr_info("mmap pgoff=%lu pages=%lu refused\n",
			vma->vm_pgoff, count);
		return -EINVAL;
	}
	/* Fails only while rmmod is under way. */
	if (!try_module_get(THIS_MODULE))
		return -ENODEV;

	pr_info("mmap pgoff=%lu pages=%lu\n", vma->vm_pgoff, count);
	lkmc_vmap_attach(vma);
	return 0;
}

/*
 * Pre-populates the whole range.  remap_vmalloc_range() rather than a
 * vm_insert_page() loop: it is that loop (vmalloc_to_page() and
 * vm_insert_page() per page), plus the checks a loop would have to
 * repeat: that the area was allocated for user mapping (VM_USERMAP) and
 * that pgoff and the length of the mapping stay inside it.  It also sets
 * VM_DONTEXPAND | VM_DONTDUMP itself; vm_insert_page() makes the
 * mapping VM_MIXEDMAP, so fork() copies its page table entries and the
 * child does not fault either.
 */
static int lkmc_vmap_prefault_mmap(struct file *file,
				   struct vm_area_struct *vma)
{
	unsigned long count = vma_pages(vma);
	int ret;

	if (!range_ok(vma->vm_pgoff, count, npages)) {
		pr_info("mmap prefault pgoff=%lu pages=%lu refused\n",
			vma->vm_pgoff, count);
		return -EINVAL;
	}
	if (!try_module_get(THIS_MODULE))
		return -ENODEV;

	ret = remap_vmalloc_range(vma, buffer, vma->vm_pgoff);
	if (ret) {
		/* The MM unmaps whatever part was inserted. */
		pr_info("mmap prefault pgoff=%lu pages=%lu failed: %d\n",
			vma->vm_pgoff, count, ret);
		module_put(THIS_MODULE);
		return ret;
	}
	pr_info("mmap prefault pgoff=%lu pages=%lu\n", vma->vm_pgoff, count);
	lkmc_vmap_attach(vma);
	return 0;
}

/* At or past the end: -ENOSPC, since a write(2) returning 0 means "retry". */
static ssize_t lkmc_vmap_copy_in(const char __user *ubuf, size_t len,
				 loff_t *off)
{
	if (len && *off >= (loff_t)buffer_size)
		return -ENOSPC;
	return simple_write_to_buffer(buffer, buffer_size, off, ubuf, len);
}

static int lkmc_vmap_open(struct inode *inode, struct file *file)
{
	pr_info("open\n");
	return 0;
}

static ssize_t lkmc_vmap_read(struct file *file, char __user *ubuf,
			      size_t len, loff_t *off)
{
	pr_info("read off=%lld len=%zu\n", *off, len);
	return simple_read_from_buffer(ubuf, len, off, buffer, buffer_size);
}

static ssize_t lkmc_vmap_write(struct file *file, const char __user *ubuf,
			       size_t len, loff_t *off)
{
	pr_info("write off=%lld len=%zu\n", *off, len);
	return lkmc_vmap_copy_in(ubuf, len, off);
}

static int lkmc_vmap_release(struct inode *inode, struct file *file)
{
	pr_info("release\n");
	return 0;
}

/* As in the seed's answer: the file offset only moves by read and write. */
static int lkmc_vmap_prefault_open(struct inode *inode, struct file *file)
{
	pr_info("open prefault\n");
	return nonseekable_open(inode, file);
}

static ssize_t lkmc_vmap_prefault_read(struct file *file, char __user *ubuf,
				       size_t len, loff_t *off)
{
	pr_info("read prefault off=%lld len=%zu\n", *off, len);
	return simple_read_from_buffer(ubuf, len, off, buffer, buffer_size);
}

static ssize_t lkmc_vmap_prefault_write(struct file *file,
					const char __user *ubuf, size_t len,
					loff_t *off)
{
	pr_info("write prefault off=%lld len=%zu\n", *off, len);
	return lkmc_vmap_copy_in(ubuf, len, off);
}

static int lkmc_vmap_prefault_release(struct inode *inode, struct file *file)
{
	pr_info("release prefault\n");
	return 0;
}

static const struct compat_proc_ops lkmc_vmap_proc_ops = {
	COMPAT_PROC_OP(open)	= lkmc_vmap_open,
	COMPAT_PROC_OP(read)	= lkmc_vmap_read,
	COMPAT_PROC_OP(write)	= lkmc_vmap_write,
	COMPAT_PROC_LSEEK	= default_llseek,
	COMPAT_PROC_OP(mmap)	= lkmc_vmap_mmap,
	COMPAT_PROC_OP(release)	= lkmc_vmap_release,
};

static const struct compat_proc_ops lkmc_vmap_prefault_proc_ops = {
	COMPAT_PROC_OP(open)	= lkmc_vmap_prefault_open,
	COMPAT_PROC_OP(read)	= lkmc_vmap_prefault_read,
	COMPAT_PROC_OP(write)	= lkmc_vmap_prefault_write,
	COMPAT_PROC_LSEEK	= compat_no_llseek,
	COMPAT_PROC_OP(mmap)	= lkmc_vmap_prefault_mmap,
	COMPAT_PROC_OP(release)	= lkmc_vmap_prefault_release,
};

/* A proc file whose size (stat, SEEK_END) is the buffer's. */
static int __init lkmc_vmap_create(const char *name,
				   const struct compat_proc_ops *ops)
{
	struct proc_dir_entry *entry;

	entry = proc_create(name, 0600, NULL, ops);
	if (!entry)
		return -ENOMEM;
	proc_set_size(entry, buffer_size);
	return 0;
}

static int __init lkmc_vmap_init(void)
{
	unsigned int i;
	int ret;

	if (npages < 1 || npages > MAX_PAGES) {
		pr_err("pages=%u out of range 1..%d\n", npages, MAX_PAGES);
		return -EINVAL;
	}
	buffer_size = (size_t)npages * PAGE_SIZE;

	buffer = vmalloc_user(buffer_size);
	if (!buffer)
		return -ENOMEM;
	for (i = 0; i < npages; i++)
		snprintf(buffer + (size_t)i * PAGE_SIZE, PAGE_SIZE, "page%u", i);

	ret = lkmc_vmap_create(PROC_NAME, &lkmc_vmap_proc_ops);
	if (ret)
		goto out_free_buffer;
	ret = lkmc_vmap_create(PROC_NAME_PREFAULT, &lkmc_vmap_prefault_proc_ops);
	if (ret)
		goto out_remove_proc;

	pr_info("loaded pages=%u\n", npages);
	return 0;

out_remove_proc:
	remove_proc_entry(PROC_NAME, NULL);
out_free_buffer:
	vfree(buffer);
	return ret;
}

static void __exit lkmc_vmap_exit(void)
{
	/* Waits for callbacks under way; no mapping is left (module refs). */
	remove_proc_entry(PROC_NAME_PREFAULT, NULL);
	remove_proc_entry(PROC_NAME, NULL);
	vfree(buffer);
	pr_info("unloaded\n");
}

module_init(lkmc_vmap_init);
module_exit(lkmc_vmap_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Map a vmalloc_user() buffer to user space, by fault or all at once");
