/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences that lkmc_vmap.c meets between 5.10 and 7.x,
 * each behind one small named helper so the module itself reads as
 * plain current kernel code.  (The helpers are those of
 * kernel-module/mmap/compat.h that this module needs, plus compat_no_llseek.)
 */
#ifndef LKMC_VMAP_COMPAT_H
#define LKMC_VMAP_COMPAT_H

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/proc_fs.h>
#include <linux/version.h>

/*
 * proc_create() takes a struct proc_ops since 5.6; before that it took a
 * struct file_operations whose members lack the proc_ prefix.  Declare
 * the table as "struct compat_proc_ops" and name its members with
 * COMPAT_PROC_OP(open), COMPAT_PROC_OP(read), ...
 *
 * The seek member is the exception (proc_lseek vs llseek), hence
 * COMPAT_PROC_LSEEK.  A seekable proc file must name a real function
 * there: 5.10 calls proc_lseek without checking it, 5.11+ treat a NULL
 * one as "not seekable".
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 6, 0)
#define compat_proc_ops		proc_ops
#define COMPAT_PROC_OP(op)	.proc_##op
#define COMPAT_PROC_LSEEK	.proc_lseek
#else
#define compat_proc_ops		file_operations
#define COMPAT_PROC_OP(op)	.op
#define COMPAT_PROC_LSEEK	.llseek
#endif

/*
 * The seek method of a file opened with nonseekable_open().  That call
 * clears FMODE_LSEEK, and lseek() then fails with -ESPIPE before the
 * method is looked at, on every version; naming one only says so in the
 * table.  no_llseek is a function in 5.10, "#define no_llseek NULL" in
 * 6.1 and gone since 6.12, where NULL is the way to say it.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#define compat_no_llseek	NULL
#else
#define compat_no_llseek	no_llseek
#endif

/*
 * vma->vm_flags is read-only since 6.3: it must be changed through
 * vm_flags_set(), which also checks that the mmap lock is held.
 */
static inline void compat_vm_flags_set(struct vm_area_struct *vma,
				       vm_flags_t flags)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

#endif /* LKMC_VMAP_COMPAT_H */
