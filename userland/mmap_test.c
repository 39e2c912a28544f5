// SPDX-License-Identifier: GPL-2.0
/*
 * mmap_test - user-space half of kernel-module/lkmc_mmap.c.
 *
 * Maps the module's per-open buffer twice and checks that both mappings,
 * read() and write() all see one and the same page.  Run as root: the
 * page frame numbers in /proc/self/pagemap read as 0 otherwise.
 *
 *   mmap_test [PATH]        PATH defaults to /proc/lkmc_mmap
 *
 * Prints TAP, one line per check.  Exit status 0 when every check passed,
 * 1 at the first failed check (later checks build on earlier ones).
 *
 * The kernel log lines this sequence produces are in expected.kmsg: keep
 * the two in step.
 */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pagemap.h"

#define DEFAULT_PATH	"/proc/lkmc_mmap"
#define NUM_CHECKS	11

/* Bytes of the page that the module's read() and write() reach. */
enum { BUFFER_SIZE = 4 };

struct ctx {
	const char *path;
	long page_size;
	int fd;
	char *map[2];
};

static int checks_done;

static void pass(const char *name)
{
	printf("ok %d - %s\n", ++checks_done, name);
}

/* Reports the failed check and why, then stops the test. */
static noreturn void fail(const char *name, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);

	printf("not ok %d - %s\n# %s\n", ++checks_done, name, why);
	fflush(stdout);
	fprintf(stderr, "mmap_test: check %d (%s) failed: %s\n",
		checks_done, name, why);
	exit(1);
}

/* BUFFER_SIZE bytes at p, printable, for messages (one use per message). */
static const char *show(const char *p)
{
	static char out[BUFFER_SIZE * 4 + 3];
	char *o = out;
	int i;

	*o++ = '"';
	for (i = 0; i < BUFFER_SIZE; i++) {
		unsigned char c = (unsigned char)p[i];

		if (isprint(c))
			*o++ = (char)c;
		else
			o += sprintf(o, "\\x%02x", c);
	}
	*o++ = '"';
	*o = '\0';
	return out;
}

/* Fails check name unless both mappings hold want. */
static void expect_both(const struct ctx *c, const char *name,
			const char *want)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (memcmp(c->map[i], want, BUFFER_SIZE))
			fail(name, "mapping %d holds %s, expected \"%.*s\"",
			     i + 1, show(c->map[i]), BUFFER_SIZE, want);
	}
}

static void check_open(struct ctx *c)
{
	const char *name = "open O_RDWR";

	c->fd = open(c->path, O_RDWR);
	if (c->fd < 0)
		fail(name, "open %s: %s", c->path, strerror(errno));
	pass(name);
}

static void check_map_twice(struct ctx *c)
{
	const char *name = "mmap twice at distinct addresses";
	int i;

	for (i = 0; i < 2; i++) {
		c->map[i] = mmap(NULL, (size_t)c->page_size,
				  PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
		if (c->map[i] == MAP_FAILED)
			fail(name, "mmap %d: %s", i + 1, strerror(errno));
	}
	if (c->map[0] == c->map[1])
		fail(name, "both mappings at %p", (void *)c->map[0]);
	printf("# mappings at %p and %p\n",
	       (void *)c->map[0], (void *)c->map[1]);
	pass(name);
}

/* The first touch of each mapping is what makes the module fault. */
static void check_initial(struct ctx *c)
{
	const char *name = "both mappings read asdf";

	expect_both(c, name, "asdf");
	pass(name);
}

static void check_user_write(struct ctx *c)
{
	const char *name = "write through mapping 1 is seen through mapping 2";

	memcpy(c->map[0], "qwer", BUFFER_SIZE);
	expect_both(c, name, "qwer");
	pass(name);
}

static void check_same_page(struct ctx *c)
{
	const char *name = "both mappings map the same physical page";
	uint64_t entry[2];
	uint64_t pfn[2];
	int i;

	for (i = 0; i < 2; i++) {
		if (pagemap_entry((uintptr_t)c->map[i], c->page_size,
				  &entry[i]))
			fail(name, "/proc/self/pagemap for mapping %d: %s",
			     i + 1, strerror(errno));
		if (!pagemap_present(entry[i]))
			fail(name, "mapping %d not present, entry %#" PRIx64,
			     i + 1, entry[i]);
		pfn[i] = pagemap_pfn(entry[i]);
		if (!pfn[i])
			fail(name, "mapping %d has pfn 0 (not root?)", i + 1);
	}
	if (pfn[0] != pfn[1])
		fail(name, "pfn %#" PRIx64 " != pfn %#" PRIx64,
		     pfn[0], pfn[1]);
	printf("# pfn %#" PRIx64 "\n", pfn[0]);
	pass(name);
}

static void check_read(struct ctx *c)
{
	const char *name = "read() sees what user space wrote";
	char buf[BUFFER_SIZE];
	ssize_t n;

	n = read(c->fd, buf, sizeof(buf));
	if (n < 0)
		fail(name, "read: %s", strerror(errno));
	if (n != BUFFER_SIZE)
		fail(name, "read returned %zd, expected %d", n, BUFFER_SIZE);
	if (memcmp(buf, "qwer", BUFFER_SIZE))
		fail(name, "read gave %s, expected \"qwer\"", show(buf));
	pass(name);
}

static void check_kernel_write(struct ctx *c)
{
	const char *name = "write() is seen in both mappings";
	ssize_t n;

	/* At offset 0: the read() above left the file offset at the end. */
	n = pwrite(c->fd, "zxcv", BUFFER_SIZE, 0);
	if (n < 0)
		fail(name, "pwrite: %s", strerror(errno));
	if (n != BUFFER_SIZE)
		fail(name, "pwrite returned %zd, expected %d", n, BUFFER_SIZE);
	expect_both(c, name, "zxcv");
	pass(name);
}

/* The module has one page to map: anything else must fail with EINVAL. */
static void check_refused(struct ctx *c, const char *name, size_t len,
			  off_t offset)
{
	void *p;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, offset);
	if (p != MAP_FAILED) {
		munmap(p, len);
		fail(name, "mmap succeeded at %p", p);
	}
	if (errno != EINVAL)
		fail(name, "mmap failed with %s, expected EINVAL",
		     strerror(errno));
	pass(name);
}

static void check_munmap(struct ctx *c)
{
	const char *name = "munmap both mappings";
	int i;

	for (i = 0; i < 2; i++) {
		if (munmap(c->map[i], (size_t)c->page_size))
			fail(name, "munmap %d: %s", i + 1, strerror(errno));
	}
	pass(name);
}

static void check_close(struct ctx *c)
{
	const char *name = "close";

	if (close(c->fd))
		fail(name, "close: %s", strerror(errno));
	pass(name);
}

int main(int argc, char **argv)
{
	struct ctx c = {
		.path = argc > 1 ? argv[1] : DEFAULT_PATH,
		.fd = -1,
	};

	/* Line-buffered even into a pipe: a crash must not eat the log. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	c.page_size = sysconf(_SC_PAGESIZE);
	if (c.page_size <= 0) {
		fprintf(stderr, "mmap_test: sysconf(_SC_PAGESIZE): %s\n",
			strerror(errno));
		return 1;
	}

	printf("1..%d\n", NUM_CHECKS);
	printf("# %s, page size %ld\n", c.path, c.page_size);

	check_open(&c);
	check_map_twice(&c);
	check_initial(&c);
	check_user_write(&c);
	check_same_page(&c);
	check_read(&c);
	check_kernel_write(&c);
	check_refused(&c, "mmap of 2 pages fails with EINVAL",
		      2 * (size_t)c.page_size, 0);
	check_refused(&c, "mmap at offset 1 page fails with EINVAL",
		      (size_t)c.page_size, (off_t)c.page_size);
	check_munmap(&c);
	check_close(&c);
	return 0;
}
