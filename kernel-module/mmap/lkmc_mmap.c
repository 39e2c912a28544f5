// SPDX-License-Identifier: GPL-2.0
/*
 * lkmc_mmap - map a kernel buffer into user space through a fault handler.
 *
 * Creates /proc/lkmc_mmap.  Each open() gets its own zeroed page whose
 * first BUFFER_SIZE bytes hold "asdf".  mmap() of that file maps the page
 * into the caller: nothing is mapped up front, the vm_operations_struct
 * fault handler hands the page to the MM on first access.  read() and
 * write() reach the same bytes from the kernel side, so user space can
 * check that both views agree.
 *
 * Every callback logs one line whose first word names it ("open",
 * "mmap", "vm_open", "vm_fault", "read", "write", "vm_close", "release"):
 * userland/mmap/expected.kmsg relies on those words.
 *
 * Each mapping holds a reference on the module from mmap() to its
 * vm_close (a copy the MM makes, e.g. by fork(), takes its own in vm_open),
 * so rmmod refuses ("in use") while a mapping exists, even one whose file
 * was closed: its vm_operations_struct lives in this module.  An open file
 * without a mapping does not pin it: on unload procfs waits for callbacks
 * under way and releases the files still open.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "compat.h"

#define PROC_NAME	"lkmc_mmap"

/* Bytes of the page that read() and write() reach. */
enum { BUFFER_SIZE = 4 };

/* State of one open file, shared by all of its mappings. */
struct lkmc_mmap_info {
	char *data;	/* one page from get_zeroed_page() */
};

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
 * First access to a page of the mapping: hand the buffer page to the MM,
 * with a reference of its own that is dropped when it is unmapped.
 */
static vm_fault_t lkmc_vm_fault(struct vm_fault *vmf)
{
	struct lkmc_mmap_info *info = vmf->vma->vm_private_data;
	struct page *page;

	pr_info("vm_fault pgoff=%lu\n", vmf->pgoff);

	/* mmap() refuses larger mappings; stay safe if one slips through. */
	if (vmf->pgoff != 0)
		return VM_FAULT_SIGBUS;

	page = virt_to_page(info->data);
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct lkmc_vm_ops = {
	.open	= lkmc_vm_open,
	.close	= lkmc_vm_close,
	.fault	= lkmc_vm_fault,
};

static int lkmc_mmap(struct file *file, struct vm_area_struct *vma)
{
	unsigned long pages = vma_pages(vma);

	/* There is one page to map: only at offset 0, and nothing beyond. */
	if (pages > 1 || vma->vm_pgoff != 0) {
		pr_info("mmap pages=%lu pgoff=%lu refused\n",
			pages, vma->vm_pgoff);
		return -EINVAL;
	}
	/* Fails only while rmmod is under way. */
	if (!try_module_get(THIS_MODULE))
		return -ENODEV;

	pr_info("mmap pages=%lu pgoff=%lu\n", pages, vma->vm_pgoff);

	/* Neither mremap() may grow it nor a core dump copy it. */
	compat_vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = &lkmc_vm_ops;
	vma->vm_private_data = file->private_data;
	/*
	 * The MM calls ->open only when it copies a VMA (fork, split), not
	 * for the mmap() that creates it, and ->close for every VMA that goes
	 * away.  So the reference taken above is this mapping's, and its
	 * vm_open is logged here, once nothing can fail any more: a failed
	 * mmap() gets no ->close.  Every mapping has one vm_open for its one
	 * vm_close.
	 */
	pr_info("vm_open\n");
	return 0;
}

static int lkmc_open(struct inode *inode, struct file *file)
{
	struct lkmc_mmap_info *info;

	pr_info("open\n");

	info = kzalloc(sizeof(*info), GFP_KERNEL);
	if (!info)
		return -ENOMEM;

	info->data = (char *)get_zeroed_page(GFP_KERNEL);
	if (!info->data)
		goto out_free_info;
	memcpy(info->data, "asdf", BUFFER_SIZE);

	file->private_data = info;
	return 0;

out_free_info:
	kfree(info);
	return -ENOMEM;
}

static ssize_t lkmc_read(struct file *file, char __user *buf, size_t len,
			 loff_t *off)
{
	struct lkmc_mmap_info *info = file->private_data;

	pr_info("read off=%lld len=%zu\n", *off, len);

	/* Copies from *off up to BUFFER_SIZE, returns 0 at or past it. */
	return simple_read_from_buffer(buf, len, off, info->data, BUFFER_SIZE);
}

static ssize_t lkmc_write(struct file *file, const char __user *buf,
			  size_t len, loff_t *off)
{
	struct lkmc_mmap_info *info = file->private_data;

	pr_info("write off=%lld len=%zu\n", *off, len);

	/*
	 * No room left: fail with -ENOSPC rather than return 0.  A write(2)
	 * that returns 0 for a non-empty request tells the caller "try
	 * again", so retry loops (stdio, shell redirections) would spin
	 * forever; -ENOSPC is what block devices report at their end.
	 */
	if (len && *off >= BUFFER_SIZE)
		return -ENOSPC;

	/* Copies at *off, short up to BUFFER_SIZE, and advances *off. */
	return simple_write_to_buffer(info->data, BUFFER_SIZE, off, buf, len);
}

/* Last close of the file: every mapping is gone by now. */
static int lkmc_release(struct inode *inode, struct file *file)
{
	struct lkmc_mmap_info *info = file->private_data;

	pr_info("release\n");

	free_page((unsigned long)info->data);
	kfree(info);
	file->private_data = NULL;
	return 0;
}

static const struct compat_proc_ops lkmc_proc_ops = {
	COMPAT_PROC_OP(open)	= lkmc_open,
	COMPAT_PROC_OP(read)	= lkmc_read,
	COMPAT_PROC_OP(write)	= lkmc_write,
	COMPAT_PROC_LSEEK	= default_llseek,
	COMPAT_PROC_OP(mmap)	= lkmc_mmap,
	COMPAT_PROC_OP(release)	= lkmc_release,
};

static int __init lkmc_mmap_init(void)
{
	if (!proc_create(PROC_NAME, 0600, NULL, &lkmc_proc_ops))
		return -ENOMEM;

	pr_info("loaded\n");
	return 0;
}

static void __exit lkmc_mmap_exit(void)
{
	remove_proc_entry(PROC_NAME, NULL);
	pr_info("unloaded\n");
}

module_init(lkmc_mmap_init);
module_exit(lkmc_mmap_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Map a kernel buffer to user space through a fault handler");
