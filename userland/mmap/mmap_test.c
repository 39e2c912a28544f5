// SPDX-License-Identifier: GPL-2.0
/*
 * mmap_test - user-space half of kernel-module/mmap/lkmc_mmap.c.
 *
 * Maps the module's per-open buffer twice and checks that both mappings,
 * read() and write() all see one and the same page.  Then that a mapping
 * pins the module: with its file closed and a fork()ed copy of it left,
 * delete_module() is refused, the module's refcnt counts one reference per
 * mapping, and the last munmap() brings refcnt back to its value before.
 * Run as root: the page frame numbers in /proc/self/pagemap read as 0
 * otherwise, and delete_module() needs CAP_SYS_MODULE.
 *
 *   mmap_test [PATH]        PATH defaults to /proc/lkmc_mmap
 *
 * Prints TAP (kmod-harness/ktest.h), one line per check.  Exit status 0
 * when every check passed, 1 at the first failed check (later checks
 * build on earlier ones).
 *
 * The kernel log lines this sequence produces are in expected.kmsg: keep
 * the two in step.
 */
#define _DEFAULT_SOURCE		/* POSIX 2008, and syscall() */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <kmod-harness/ktest.h>

#include "pagemap.h"

#define DEFAULT_PATH	"/proc/lkmc_mmap"
#define MODULE_NAME	"lkmc_mmap"
#define REFCNT_PATH	"/sys/module/" MODULE_NAME "/refcnt"
#define NUM_CHECKS	14

/* Bytes of the page that the module's read() and write() reach. */
enum { BUFFER_SIZE = 4 };

struct ctx {
	const char *path;
	long page_size;
	int fd;
	char *map[2];
	/* Checks 12-14: a mapping of a closed file, copied by fork(). */
	long refcnt_before;	/* the module's refcnt before that mmap() */
	long refcnt_both;	/* with the original and the copy mapped */
	long refcnt_copy;	/* with only the copy mapped */
	pid_t child;		/* holds the copy */
	int release_fd;		/* closing it makes the child unmap the copy */
};

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
			ktest_test_fail_exit(name,
					     "mapping %d holds %s, expected \"%.*s\"",
					     i + 1, show(c->map[i]),
					     BUFFER_SIZE, want);
	}
}

static void check_open(struct ctx *c)
{
	const char *name = "open O_RDWR";

	c->fd = open(c->path, O_RDWR);
	if (c->fd < 0)
		ktest_test_fail_exit(name, "open %s: %s", c->path,
				     strerror(errno));
	ktest_test_pass("%s", name);
}

static void check_map_twice(struct ctx *c)
{
	const char *name = "mmap twice at distinct addresses";
	int i;

	for (i = 0; i < 2; i++) {
		c->map[i] = mmap(NULL, (size_t)c->page_size,
				  PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
		if (c->map[i] == MAP_FAILED)
			ktest_test_fail_exit(name, "mmap %d: %s", i + 1,
					     strerror(errno));
	}
	if (c->map[0] == c->map[1])
		ktest_test_fail_exit(name, "both mappings at %p",
				     (void *)c->map[0]);
	ktest_print_msg("mappings at %p and %p",
			(void *)c->map[0], (void *)c->map[1]);
	ktest_test_pass("%s", name);
}

/* The first touch of each mapping is what makes the module fault. */
static void check_initial(struct ctx *c)
{
	const char *name = "both mappings read asdf";

	expect_both(c, name, "asdf");
	ktest_test_pass("%s", name);
}

static void check_user_write(struct ctx *c)
{
	const char *name = "write through mapping 1 is seen through mapping 2";

	memcpy(c->map[0], "qwer", BUFFER_SIZE);
	expect_both(c, name, "qwer");
	ktest_test_pass("%s", name);
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
			ktest_test_fail_exit(name,
					     "/proc/self/pagemap for mapping %d: %s",
					     i + 1, strerror(errno));
		if (!pagemap_present(entry[i]))
			ktest_test_fail_exit(name,
					     "mapping %d not present, entry %#" PRIx64,
					     i + 1, entry[i]);
		pfn[i] = pagemap_pfn(entry[i]);
		if (!pfn[i])
			ktest_test_fail_exit(name,
					     "mapping %d has pfn 0 (not root?)",
					     i + 1);
	}
	if (pfn[0] != pfn[1])
		ktest_test_fail_exit(name, "pfn %#" PRIx64 " != pfn %#" PRIx64,
				     pfn[0], pfn[1]);
	ktest_print_msg("pfn %#" PRIx64, pfn[0]);
	ktest_test_pass("%s", name);
}

static void check_read(struct ctx *c)
{
	const char *name = "read() sees what user space wrote";
	char buf[BUFFER_SIZE];
	ssize_t n;

	n = read(c->fd, buf, sizeof(buf));
	if (n < 0)
		ktest_test_fail_exit(name, "read: %s", strerror(errno));
	if (n != BUFFER_SIZE)
		ktest_test_fail_exit(name, "read returned %zd, expected %d", n,
				     BUFFER_SIZE);
	if (memcmp(buf, "qwer", BUFFER_SIZE))
		ktest_test_fail_exit(name, "read gave %s, expected \"qwer\"",
				     show(buf));
	ktest_test_pass("%s", name);
}

static void check_kernel_write(struct ctx *c)
{
	const char *name = "write() is seen in both mappings";
	ssize_t n;

	/* At offset 0: the read() above left the file offset at the end. */
	n = pwrite(c->fd, "zxcv", BUFFER_SIZE, 0);
	if (n < 0)
		ktest_test_fail_exit(name, "pwrite: %s", strerror(errno));
	if (n != BUFFER_SIZE)
		ktest_test_fail_exit(name, "pwrite returned %zd, expected %d",
				     n, BUFFER_SIZE);
	expect_both(c, name, "zxcv");
	ktest_test_pass("%s", name);
}

/* The module has one page to map: anything else must fail with EINVAL. */
static void check_refused(struct ctx *c, const char *name, size_t len,
			  off_t offset)
{
	void *p;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, offset);
	if (p != MAP_FAILED) {
		munmap(p, len);
		ktest_test_fail_exit(name, "mmap succeeded at %p", p);
	}
	if (errno != EINVAL)
		ktest_test_fail_exit(name,
				     "mmap failed with %s, expected EINVAL",
				     strerror(errno));
	ktest_test_pass("%s", name);
}

static void check_munmap(struct ctx *c)
{
	const char *name = "munmap both mappings";
	int i;

	for (i = 0; i < 2; i++) {
		if (munmap(c->map[i], (size_t)c->page_size))
			ktest_test_fail_exit(name, "munmap %d: %s", i + 1,
					     strerror(errno));
	}
	ktest_test_pass("%s", name);
}

static void check_close(struct ctx *c)
{
	const char *name = "close";

	if (close(c->fd))
		ktest_test_fail_exit(name, "close: %s", strerror(errno));
	ktest_test_pass("%s", name);
}

/* The module's reference count, from sysfs; fails check name without it. */
static long read_refcnt(const char *name)
{
	char text[32];
	ssize_t n;
	int fd;

	fd = open(REFCNT_PATH, O_RDONLY);
	if (fd < 0)
		ktest_test_fail_exit(name, "open %s: %s", REFCNT_PATH,
				     strerror(errno));
	n = read(fd, text, sizeof(text) - 1);
	if (n <= 0)
		ktest_test_fail_exit(name, "read %s: %s", REFCNT_PATH,
				     n ? strerror(errno) : "empty");
	close(fd);
	text[n] = '\0';
	return strtol(text, NULL, 10);
}

/*
 * The child's part of check 12: keep the copy of the mapping until the
 * parent closes its end of the pipe (on purpose, or by exiting), then
 * unmap it.  It closes its standard streams first: should the module be
 * gone, this munmap() runs freed module text, and a process killed there
 * (or left stuck, its mmap lock held) must not keep the test's output
 * open.
 */
static noreturn void hold_copy(char *map, size_t len, int release_fd)
{
	char byte;

	close(STDIN_FILENO);
	close(STDOUT_FILENO);
	close(STDERR_FILENO);
	while (read(release_fd, &byte, 1) < 0 && errno == EINTR)
		;
	_exit(munmap(map, len) ? 1 : 0);
}

/*
 * The case rmmod got wrong before mappings held a module reference: a
 * process maps the file, closes it and keeps the mapping; the unload
 * succeeded, and the munmap() then ran vm_close in freed module text.
 * Here the mapping that is left when delete_module() is called is a
 * fork()ed copy in a child (the parent unmaps its original first), so
 * that if the unload does succeed, the freed text is run by the child,
 * not by this process: it still reports and exits.  O_NONBLOCK makes a
 * refused unload fail at once.
 */
static void check_unload_refused(struct ctx *c)
{
	const char *name = "delete_module() is refused while a mapping outlives close()";
	char *map;
	int release[2];
	int fd;

	c->refcnt_before = read_refcnt(name);
	fd = open(c->path, O_RDWR);
	if (fd < 0)
		ktest_test_fail_exit(name, "open %s: %s", c->path,
				     strerror(errno));
	/* Never touched: the seed's two faults stay the only ones. */
	map = mmap(NULL, (size_t)c->page_size, PROT_READ | PROT_WRITE,
		   MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		ktest_test_fail_exit(name, "mmap: %s", strerror(errno));
	/* Not the last reference to the file: the mapping holds one. */
	if (close(fd))
		ktest_test_fail_exit(name, "close: %s", strerror(errno));

	if (pipe(release))
		ktest_test_fail_exit(name, "pipe: %s", strerror(errno));
	fflush(stdout);
	c->child = fork();
	if (c->child < 0)
		ktest_test_fail_exit(name, "fork: %s", strerror(errno));
	if (c->child == 0) {
		close(release[1]);
		hold_copy(map, (size_t)c->page_size, release[0]);
	}
	close(release[0]);
	c->release_fd = release[1];

	c->refcnt_both = read_refcnt(name);
	if (munmap(map, (size_t)c->page_size))
		ktest_test_fail_exit(name, "munmap of the original: %s",
				     strerror(errno));
	c->refcnt_copy = read_refcnt(name);

	if (syscall(SYS_delete_module, MODULE_NAME, O_NONBLOCK) == 0)
		ktest_test_fail_exit(name,
				     "delete_module unloaded the module under a live mapping (its munmap runs freed module text)");
	/*
	 * "In use": EWOULDBLOCK (the same value as EAGAIN) for references
	 * held; EBUSY, rmmod's own answer, is accepted too.
	 */
	if (errno != EWOULDBLOCK && errno != EBUSY)
		ktest_test_fail_exit(name,
				     "delete_module failed with %s, expected EWOULDBLOCK or EBUSY",
				     strerror(errno));
	ktest_test_pass("%s", name);
}

static void check_refcnt_mapped(struct ctx *c)
{
	const char *name = "each mapping holds one module reference, the fork()ed copy too";

	ktest_print_msg("refcnt %ld before mmap, %ld with both mappings, %ld with the copy",
			c->refcnt_before, c->refcnt_both, c->refcnt_copy);
	if (c->refcnt_both != c->refcnt_before + 2)
		ktest_test_fail_exit(name,
				     "refcnt %ld with both mappings, expected %ld",
				     c->refcnt_both, c->refcnt_before + 2);
	if (c->refcnt_copy != c->refcnt_before + 1)
		ktest_test_fail_exit(name,
				     "refcnt %ld with the copy, expected %ld",
				     c->refcnt_copy, c->refcnt_before + 1);
	ktest_test_pass("%s", name);
}

static void check_refcnt_unmapped(struct ctx *c)
{
	const char *name = "munmap of the last mapping brings refcnt back to its value before mmap";
	long now;
	int status;

	if (close(c->release_fd))
		ktest_test_fail_exit(name, "close: %s", strerror(errno));
	if (waitpid(c->child, &status, 0) != c->child)
		ktest_test_fail_exit(name, "waitpid: %s", strerror(errno));
	if (WIFSIGNALED(status))
		ktest_test_fail_exit(name,
				     "the child unmapping the copy was killed by signal %d",
				     WTERMSIG(status));
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		ktest_test_fail_exit(name,
				     "the child could not unmap the copy (status %#x)",
				     (unsigned int)status);
	now = read_refcnt(name);
	if (now != c->refcnt_before)
		ktest_test_fail_exit(name, "refcnt %ld, expected %ld", now,
				     c->refcnt_before);
	ktest_test_pass("%s", name);
}

int main(int argc, char **argv)
{
	struct ctx c = {
		.path = argc > 1 ? argv[1] : DEFAULT_PATH,
		.fd = -1,
		.child = -1,
		.release_fd = -1,
	};

	ktest_print_header();
	c.page_size = sysconf(_SC_PAGESIZE);
	if (c.page_size <= 0)
		ktest_exit_fail_msg("sysconf(_SC_PAGESIZE): %s",
				    strerror(errno));

	ktest_set_plan(NUM_CHECKS);
	ktest_print_msg("%s, page size %ld", c.path, c.page_size);

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
	check_unload_refused(&c);
	check_refcnt_mapped(&c);
	check_refcnt_unmapped(&c);
	ktest_finished();
}
