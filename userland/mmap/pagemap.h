/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Read the /proc/self/pagemap entry of a virtual address.
 *
 * Format (Documentation/admin-guide/mm/pagemap.rst): one little-endian
 * u64 per virtual page, at offset (vaddr / page size) * 8.
 *   bits 0-54  page frame number, if present (reads as 0 without
 *              CAP_SYS_ADMIN since 4.2)
 *   bit  63    page present
 */
#ifndef PAGEMAP_H
#define PAGEMAP_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#define PAGEMAP_PFN_MASK	((UINT64_C(1) << 55) - 1)
#define PAGEMAP_PRESENT		(UINT64_C(1) << 63)

static inline int pagemap_present(uint64_t entry)
{
	return (entry & PAGEMAP_PRESENT) != 0;
}

/* The frame number; bits 55-62 (soft-dirty, exclusive, file, swap) are not part of it. */
static inline uint64_t pagemap_pfn(uint64_t entry)
{
	return entry & PAGEMAP_PFN_MASK;
}

/* Fills *entry for vaddr; returns 0, or -1 with errno set. */
static inline int pagemap_entry(uintptr_t vaddr, long page_size,
				uint64_t *entry)
{
	off_t offset = (off_t)(vaddr / (uintptr_t)page_size * sizeof(*entry));
	int saved_errno;
	ssize_t n;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return -1;
	n = pread(fd, entry, sizeof(*entry), offset);
	saved_errno = errno;
	close(fd);
	if (n < 0) {
		errno = saved_errno;
		return -1;
	}
	if (n != (ssize_t)sizeof(*entry)) {
		errno = EIO;
		return -1;
	}
	return 0;
}

#endif /* PAGEMAP_H */
