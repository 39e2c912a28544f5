/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences that lkmc_mmap.c meets between 5.10 and 7.x,
 * each behind one small named helper so the module itself reads as
 * plain current kernel code.
 */
#ifndef LKMC_MMAP_COMPAT_H
#define LKMC_MMAP_COMPAT_H

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
 * COMPAT_PROC_LSEEK.  proc_lseek became mandatory for seekable proc
 * files after 5.10 (there is no default_llseek fallback any more), and
 * no_llseek is gone since 6.12: always name a real function there.
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

#endif /* LKMC_MMAP_COMPAT_H */
