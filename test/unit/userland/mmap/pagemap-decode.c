// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side check of userland/mmap/pagemap.h: decodes fixed entries, then reads the entry of a
 * touched anonymous page of this process. Prints one "name value" line per fact.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../../../userland/mmap/pagemap.h"

int main(void)
{
	static const uint64_t samples[] = {
		UINT64_C(0x8000000000012345),	/* present, pfn 0x12345 */
		UINT64_C(0x8180000000000001),	/* present, soft-dirty, exclusive, pfn 1 */
		UINT64_C(0x4000000000000abc),	/* swapped: not present */
		UINT64_C(0x807fffffffffffff),	/* present, the largest pfn */
	};
	long page_size = sysconf(_SC_PAGESIZE);
	uint64_t entry;
	char *page;
	size_t i;

	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++)
		printf("sample%zu %d %" PRIx64 "\n", i, pagemap_present(samples[i]),
		       pagemap_pfn(samples[i]));

	page = mmap(NULL, (size_t)page_size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return 2;
	if (pagemap_entry((uintptr_t)page, page_size, &entry))
		return 3;
	printf("untouched %d %" PRIx64 "\n", pagemap_present(entry), pagemap_pfn(entry));
	page[0] = 1;
	if (pagemap_entry((uintptr_t)page, page_size, &entry))
		return 4;
	printf("touched %d %" PRIx64 "\n", pagemap_present(entry), pagemap_pfn(entry));
	return 0;
}
