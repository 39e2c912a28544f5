// SPDX-License-Identifier: GPL-2.0
/*
 * vmap_test - user-space half of kernel-module/vmalloc/lkmc_vmap.c.
 *
 * Maps the module's multi-page buffer through the faulting file and checks
 * that every page is its own, writable, reached at the right offset, shared
 * with a child after fork and with other threads, and that read()/write()
 * agree with the mapping; that mmap() refuses ranges past the end, mremap()
 * cannot grow a mapping, and a fault past the end raises SIGBUS.  Then it
 * maps the pre-populated file and checks that touching it does not fault.
 * Last, that each mapping holds a module reference, so that rmmod is
 * refused while one exists.  It leaves the buffer as it found it.
 *
 *   vmap_test [PATH [PREFAULT_PATH]]
 *             defaults /proc/lkmc_vmap and /proc/lkmc_vmap_prefault
 *
 * Run as root: the SIGBUS check writes the module parameter overmap_pages
 * and the pinning check calls delete_module() (each is skipped when it
 * cannot).  Fault counts come from the read-only
 * parameter "faults"; without it those parts are skipped.
 *
 * Prints TAP (kmod-harness/ktest.h), one line per check.  Exit status 0
 * when every check passed, 1 at the first failed check (later checks
 * build on earlier ones).
 *
 * The kernel log lines this sequence produces are in expected.kmsg: keep
 * the two in step.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <kmod-harness/ktest.h>

#define DEFAULT_PATH		"/proc/lkmc_vmap"
#define DEFAULT_PREFAULT_PATH	"/proc/lkmc_vmap_prefault"
#define MODULE_NAME		"lkmc_vmap"
#define MODULE_DIR		"/sys/module/" MODULE_NAME "/"
#define PARAM_DIR		MODULE_DIR "parameters/"
#define NUM_CHECKS		30

/* Bytes at the start of each page that hold "page<i>" and its NUL. */
enum { HEADER_BYTES = 16 };
/* The pages the offset checks map: pgoff 3, 2 pages. */
enum { OFFSET_PGOFF = 3, OFFSET_PAGES = 2 };
enum { MAX_THREADS = 4 };

struct ctx {
	const char *path;
	const char *prefault_path;
	size_t page_size;
	size_t size;		/* of the buffer, from fstat() */
	size_t npages;
	int fd;
	int pfd;		/* the prefault file */
	char *map;		/* all pages of the faulting file, checks 4-28 */
	char *pmap;		/* all pages of the prefault file */
	char *orig;		/* the buffer as found, from pread() */
};

/* Reads a number from a sysfs file; false if it cannot. */
static bool read_number(const char *path, long *value)
{
	char text[32];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return false;
	text[n] = '\0';
	*value = strtol(text, NULL, 10);
	return true;
}

static bool param_read(const char *param, long *value)
{
	char path[128];

	snprintf(path, sizeof(path), PARAM_DIR "%s", param);
	return read_number(path, value);
}

static bool param_write(const char *param, long value)
{
	char path[128], text[32];
	int fd, len;
	bool ok;

	snprintf(path, sizeof(path), PARAM_DIR "%s", param);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return false;
	len = snprintf(text, sizeof(text), "%ld\n", value);
	ok = write(fd, text, (size_t)len) == len;
	close(fd);
	return ok;
}

/* Fault handler calls so far, or -1 when the module does not say. */
static long faults_now(void)
{
	long n;

	return param_read("faults", &n) ? n : -1;
}

/* Fails check name unless the handler ran want times since before. */
static void expect_faults(const char *name, long before, long want)
{
	long now = faults_now();

	if (before < 0 || now < 0) {
		ktest_print_msg("fault counter unavailable, not counted");
		return;
	}
	if (now - before != want)
		ktest_test_fail_exit(name, "%ld faults, expected %ld",
				     now - before, want);
}

static char *page_at(char *base, size_t page, const struct ctx *c)
{
	return base + page * c->page_size;
}

/* Fails check name unless base, mapping pages from first on, holds count headers. */
static void expect_headers(const struct ctx *c, const char *name, char *base,
			   size_t first, size_t count)
{
	char want[HEADER_BYTES];
	size_t i;

	for (i = 0; i < count; i++) {
		const char *got = page_at(base, i, c);

		snprintf(want, sizeof(want), "page%zu", first + i);
		if (strncmp(got, want, HEADER_BYTES))
			ktest_test_fail_exit(name,
					     "page %zu of the mapping starts with \"%.*s\", expected \"%s\"",
					     i, HEADER_BYTES, got, want);
	}
}

static char *map_file(int fd, size_t pgoff, size_t pages, size_t page_size)
{
	return mmap(NULL, pages * page_size, PROT_READ | PROT_WRITE,
		    MAP_SHARED, fd, (off_t)(pgoff * page_size));
}

static void must_munmap(const char *name, void *p, size_t len)
{
	if (munmap(p, len))
		ktest_test_fail_exit(name, "munmap: %s", strerror(errno));
}

/* pread() of the whole buffer into buf. */
static void read_all(const struct ctx *c, const char *name, char *buf)
{
	ssize_t n = pread(c->fd, buf, c->size, 0);

	if (n != (ssize_t)c->size)
		ktest_test_fail_exit(name,
				     "pread of %zu bytes returned %zd (%s)",
				     c->size, n,
				     n < 0 ? strerror(errno) : "short");
}

/* Puts bytes [off, off + len) back as found, through the mapping (no log). */
static void restore(const struct ctx *c, size_t off, size_t len)
{
	memcpy(c->map + off, c->orig + off, len);
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

static void check_size(struct ctx *c)
{
	const char *name = "size is pages * page size (fstat, SEEK_END, pages parameter)";
	struct stat st;
	off_t end;
	long pages;

	if (fstat(c->fd, &st))
		ktest_test_fail_exit(name, "fstat: %s", strerror(errno));
	if (st.st_size <= 0 || st.st_size % (off_t)c->page_size)
		ktest_test_fail_exit(name,
				     "st_size %lld is not a positive multiple of %zu",
				     (long long)st.st_size, c->page_size);
	c->size = (size_t)st.st_size;
	c->npages = c->size / c->page_size;
	if (c->npages < OFFSET_PGOFF + OFFSET_PAGES + 1)
		ktest_test_fail_exit(name,
				     "%zu pages, the checks need at least %d",
				     c->npages,
				     OFFSET_PGOFF + OFFSET_PAGES + 1);

	end = lseek(c->fd, 0, SEEK_END);
	if (end != st.st_size)
		ktest_test_fail_exit(name,
				     "lseek SEEK_END gave %lld (%s), expected %lld",
				     (long long)end,
				     end < 0 ? strerror(errno) : "",
				     (long long)st.st_size);
	if (lseek(c->fd, 0, SEEK_SET) != 0)
		ktest_test_fail_exit(name, "lseek back to 0: %s",
				     strerror(errno));

	if (param_read("pages", &pages) && (size_t)pages != c->npages)
		ktest_test_fail_exit(name,
				     "pages parameter %ld, file has %zu pages",
				     pages, c->npages);
	ktest_print_msg("%zu pages of %zu bytes", c->npages, c->page_size);
	ktest_test_pass("%s", name);
}

/* The kernel's view, kept to compare with later and to restore from. */
static void check_snapshot(struct ctx *c)
{
	const char *name = "pread of the whole buffer shows page<i> at each page";

	c->orig = malloc(c->size);
	if (!c->orig)
		ktest_test_fail_exit(name, "malloc %zu: %s", c->size,
				     strerror(errno));
	read_all(c, name, c->orig);
	expect_headers(c, name, c->orig, 0, c->npages);
	ktest_test_pass("%s", name);
}

static void check_map_all(struct ctx *c)
{
	const char *name = "mmap of all pages";

	c->map = map_file(c->fd, 0, c->npages, c->page_size);
	if (c->map == MAP_FAILED)
		ktest_test_fail_exit(name, "mmap %zu pages: %s", c->npages,
				     strerror(errno));
	ktest_test_pass("%s", name);
}

/* First touch, in page order: one vm_fault line each, pgoff 0 up. */
static void check_patterns(struct ctx *c, long *before)
{
	const char *name = "each page of the mapping holds its own page<i>";

	*before = faults_now();
	expect_headers(c, name, c->map, 0, c->npages);
	ktest_test_pass("%s", name);
}

static void check_fault_per_page(struct ctx *c, long before)
{
	const char *name = "first touch faulted exactly once per page";

	if (before < 0 || faults_now() < 0) {
		ktest_test_result_code(KTEST_SKIP, name, "no faults parameter");
		return;
	}
	expect_faults(name, before, (long)c->npages);
	ktest_test_pass("%s", name);
}

/*
 * The read fault left writable entries (procfs has no writeback, the
 * module no page_mkwrite), so writing faults no more.
 */
static void check_writable(struct ctx *c)
{
	const char *name = "each page is writable through the mapping, without new faults";
	size_t mid = c->page_size / 2, i;
	long before = faults_now();
	char *kernel_view;

	for (i = 0; i < c->npages; i++)
		page_at(c->map, i, c)[mid] = (char)(0xa0 ^ i);
	for (i = 0; i < c->npages; i++) {
		if (page_at(c->map, i, c)[mid] != (char)(0xa0 ^ i))
			ktest_test_fail_exit(name, "page %zu reads back %#x",
					     i,
					     (unsigned char)page_at(c->map, i, c)[mid]);
	}
	expect_faults(name, before, 0);

	kernel_view = malloc(c->size);
	if (!kernel_view)
		ktest_test_fail_exit(name, "malloc: %s", strerror(errno));
	read_all(c, name, kernel_view);
	for (i = 0; i < c->npages; i++) {
		if (page_at(kernel_view, i, c)[mid] != (char)(0xa0 ^ i))
			ktest_test_fail_exit(name,
					     "pread shows %#x in page %zu",
					     (unsigned char)page_at(kernel_view, i, c)[mid],
					     i);
		restore(c, i * c->page_size + mid, 1);
	}
	free(kernel_view);
	ktest_test_pass("%s", name);
}

/* Checks 8-10 share this mapping: pgoff 3, 2 pages. */
static char *check_offset_map(struct ctx *c)
{
	const char *name = "mapping at pgoff 3 of 2 pages sees pages 3 and 4";
	long before = faults_now();
	char *p;

	p = map_file(c->fd, OFFSET_PGOFF, OFFSET_PAGES, c->page_size);
	if (p == MAP_FAILED)
		ktest_test_fail_exit(name, "mmap: %s", strerror(errno));
	expect_headers(c, name, p, OFFSET_PGOFF, OFFSET_PAGES);
	expect_faults(name, before, OFFSET_PAGES);

	/* The same bytes as the all-pages mapping. */
	p[HEADER_BYTES] = 'x';
	if (page_at(c->map, OFFSET_PGOFF, c)[HEADER_BYTES] != 'x')
		ktest_test_fail_exit(name,
				     "a write at pgoff 3 is not seen in the all-pages mapping");
	restore(c, OFFSET_PGOFF * c->page_size + HEADER_BYTES, 1);
	ktest_test_pass("%s", name);
	return p;
}

/*
 * Growing to 3 pages would still lie inside the buffer (pages 3-5): only
 * VM_DONTEXPAND refuses it, with EFAULT, before any module callback.
 */
static void check_no_growth(struct ctx *c, char *p, int flags,
			    const char *name)
{
	size_t old_len = OFFSET_PAGES * c->page_size;
	void *q;

	q = mremap(p, old_len, old_len + c->page_size, flags);
	if (q != MAP_FAILED)
		ktest_test_fail_exit(name, "mremap grew the mapping to %p", q);
	if (errno != EFAULT)
		ktest_test_fail_exit(name,
				     "mremap failed with %s, expected EFAULT",
				     strerror(errno));
	expect_headers(c, name, p, OFFSET_PGOFF, OFFSET_PAGES);
	ktest_test_pass("%s", name);
}

/* mmap() must refuse a range past the end before anything is mapped. */
static void check_refused(struct ctx *c, int fd, const char *name,
			  size_t pgoff, size_t pages)
{
	void *p = map_file(fd, pgoff, pages, c->page_size);

	if (p != MAP_FAILED) {
		munmap(p, pages * c->page_size);
		ktest_test_fail_exit(name,
				     "mmap of pgoff %zu, %zu pages succeeded",
				     pgoff, pages);
	}
	if (errno != EINVAL)
		ktest_test_fail_exit(name,
				     "mmap failed with %s, expected EINVAL",
				     strerror(errno));
	ktest_test_pass("%s", name);
}

static sigjmp_buf sigbus_jump;
static void *volatile sigbus_addr;

static void on_sigbus(int sig, siginfo_t *info, void *uctx)
{
	(void)sig;
	(void)uctx;
	sigbus_addr = info->si_addr;
	siglongjmp(sigbus_jump, 1);
}

/* Whether reading *p raised SIGBUS. */
static bool touch_raises_sigbus(volatile char *p)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO };
	struct sigaction old;
	bool raised = false;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old);
	sigbus_addr = NULL;
	if (sigsetjmp(sigbus_jump, 1) == 0)
		(void)*p;
	else
		raised = true;
	sigaction(SIGBUS, &old, NULL);
	return raised;
}

/*
 * With overmap_pages=1 the module accepts a mapping of its last page and
 * one more; the fault handler answers the extra page with SIGBUS.
 */
static void check_sigbus(struct ctx *c)
{
	const char *name = "a fault past the end of the buffer raises SIGBUS";
	size_t last = c->npages - 1;
	long before, old;
	bool raised;
	char *p;

	if (!param_read("overmap_pages", &old) || !param_write("overmap_pages", 1)) {
		ktest_test_result_code(KTEST_SKIP, name,
				       "cannot set overmap_pages (not root?)");
		return;
	}
	p = map_file(c->fd, last, 2, c->page_size);
	param_write("overmap_pages", old);
	if (p == MAP_FAILED)
		ktest_test_fail_exit(name,
				     "mmap of the last page and one more with overmap_pages=1: %s",
				     strerror(errno));

	before = faults_now();
	expect_headers(c, name, p, last, 1);
	raised = touch_raises_sigbus(p + c->page_size);
	must_munmap(name, p, 2 * c->page_size);
	if (!raised)
		ktest_test_fail_exit(name,
				     "reading the page past the end did not raise SIGBUS");
	if (sigbus_addr != p + c->page_size)
		ktest_test_fail_exit(name, "SIGBUS at %p, expected %p",
				     sigbus_addr, (void *)(p + c->page_size));
	expect_faults(name, before, 2);
	ktest_test_pass("%s", name);
}

/*
 * At fork the process has one mapping of the module (c->map): the child
 * gets a copy (vm_open) without page table entries, faults on page 2
 * (vm_fault pgoff=2) and drops it at exit (vm_close).
 */
static void check_fork(struct ctx *c)
{
	const char *name = "a child after fork writes, the parent sees it";
	size_t off = 2 * c->page_size + HEADER_BYTES;
	static const char msg[] = "from the child";
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		ktest_test_fail_exit(name, "fork: %s", strerror(errno));
	if (pid == 0) {
		memcpy(c->map + off, msg, sizeof(msg));
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		ktest_test_fail_exit(name, "waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		ktest_test_fail_exit(name, "child ended with status %#x",
				     status);
	if (memcmp(c->map + off, msg, sizeof(msg)))
		ktest_test_fail_exit(name, "parent reads \"%.*s\"",
				     (int)sizeof(msg), c->map + off);
	restore(c, off, sizeof(msg));
	ktest_test_pass("%s", name);
}

/* Four bytes at off through write() then the mapping, the other way round. */
static void check_rw_agree(struct ctx *c, size_t off, bool seek,
			   const char *name)
{
	char got[4];
	ssize_t n;

	if (seek && lseek(c->fd, (off_t)off, SEEK_SET) != (off_t)off)
		ktest_test_fail_exit(name, "lseek: %s", strerror(errno));
	n = seek ? write(c->fd, "WXYZ", 4) : pwrite(c->fd, "WXYZ", 4, (off_t)off);
	if (n != 4)
		ktest_test_fail_exit(name, "write returned %zd (%s)", n,
				     n < 0 ? strerror(errno) : "short");
	if (memcmp(c->map + off, "WXYZ", 4))
		ktest_test_fail_exit(name,
				     "mapping shows \"%.4s\" after write \"WXYZ\"",
				     c->map + off);

	memcpy(c->map + off, "wxyz", 4);
	if (seek && lseek(c->fd, (off_t)off, SEEK_SET) != (off_t)off)
		ktest_test_fail_exit(name, "lseek: %s", strerror(errno));
	n = seek ? read(c->fd, got, 4) : pread(c->fd, got, 4, (off_t)off);
	if (n != 4)
		ktest_test_fail_exit(name, "read returned %zd (%s)", n,
				     n < 0 ? strerror(errno) : "short");
	if (memcmp(got, "wxyz", 4))
		ktest_test_fail_exit(name,
				     "read gives \"%.4s\" after the mapping wrote \"wxyz\"",
				     got);
	restore(c, off, 4);
	ktest_test_pass("%s", name);
}

static void check_end(struct ctx *c)
{
	const char *name = "at the end: read returns 0, write fails with ENOSPC, a write across it is short";
	char byte;
	ssize_t n;

	n = pread(c->fd, &byte, 1, (off_t)c->size);
	if (n != 0)
		ktest_test_fail_exit(name, "pread at the end returned %zd", n);
	n = pwrite(c->fd, "!", 1, (off_t)c->size);
	if (n != -1 || errno != ENOSPC)
		ktest_test_fail_exit(name,
				     "pwrite at the end returned %zd (%s), expected ENOSPC",
				     n, n < 0 ? strerror(errno) : "");
	n = pwrite(c->fd, "abcd", 4, (off_t)c->size - 2);
	if (n != 2)
		ktest_test_fail_exit(name,
				     "pwrite of 4 bytes 2 before the end returned %zd, expected 2",
				     n);
	if (memcmp(c->map + c->size - 2, "ab", 2))
		ktest_test_fail_exit(name, "the last 2 bytes are not \"ab\"");
	restore(c, c->size - 2, 2);
	ktest_test_pass("%s", name);
}

struct writer {
	const struct ctx *c;
	char *map;
	pthread_barrier_t *start;
	size_t first, step;
};

static char body_byte(size_t page)
{
	return (char)(0x40 + page % 64);
}

/* Fills the body of pages first, first + step, ... after the common start. */
static void *writer_run(void *arg)
{
	const struct writer *w = arg;
	size_t i;

	pthread_barrier_wait(w->start);
	for (i = w->first; i < w->c->npages; i += w->step)
		memset(page_at(w->map, i, w->c) + HEADER_BYTES, body_byte(i),
		       w->c->page_size - HEADER_BYTES);
	return NULL;
}

static void verify_bodies(const struct ctx *c, const char *name)
{
	char *kernel_view = malloc(c->size);
	size_t i, j;

	if (!kernel_view)
		ktest_test_fail_exit(name, "malloc: %s", strerror(errno));
	read_all(c, name, kernel_view);
	expect_headers(c, name, kernel_view, 0, c->npages);
	for (i = 0; i < c->npages; i++) {
		const char *page = page_at(kernel_view, i, c);

		for (j = HEADER_BYTES; j < c->page_size; j++) {
			if (page[j] != body_byte(i))
				ktest_test_fail_exit(name,
						     "page %zu byte %zu is %#x, expected %#x",
						     i, j,
						     (unsigned char)page[j],
						     (unsigned char)body_byte(i));
		}
	}
	free(kernel_view);
}

/*
 * A fresh mapping, so the threads' first touches fault concurrently, each
 * on its own pages: one fault per page, in no set order.
 */
static void check_threads(struct ctx *c)
{
	const char *name = "threads write separate pages through one mapping";
	size_t nthreads = c->npages < MAX_THREADS ? c->npages : MAX_THREADS;
	struct writer w[MAX_THREADS];
	pthread_t tid[MAX_THREADS];
	pthread_barrier_t start;
	long before = faults_now();
	size_t i;
	char *p;
	int err;

	p = map_file(c->fd, 0, c->npages, c->page_size);
	if (p == MAP_FAILED)
		ktest_test_fail_exit(name, "mmap: %s", strerror(errno));
	pthread_barrier_init(&start, NULL, (unsigned int)nthreads);
	for (i = 0; i < nthreads; i++) {
		w[i] = (struct writer){ c, p, &start, i, nthreads };
		err = pthread_create(&tid[i], NULL, writer_run, &w[i]);
		if (err)
			ktest_test_fail_exit(name, "pthread_create: %s",
					     strerror(err));
	}
	for (i = 0; i < nthreads; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&start);
	must_munmap(name, p, c->size);

	expect_faults(name, before, (long)c->npages);
	verify_bodies(c, name);
	for (i = 0; i < c->npages; i++)
		restore(c, i * c->page_size + HEADER_BYTES,
			c->page_size - HEADER_BYTES);
	ktest_print_msg("%zu threads", nthreads);
	ktest_test_pass("%s", name);
}

static void check_prefault_open(struct ctx *c)
{
	const char *name = "prefault file: opens, lseek and pread fail with ESPIPE";
	char byte;

	c->pfd = open(c->prefault_path, O_RDWR);
	if (c->pfd < 0)
		ktest_test_fail_exit(name, "open %s: %s", c->prefault_path,
				     strerror(errno));
	if (lseek(c->pfd, 0, SEEK_SET) != -1 || errno != ESPIPE)
		ktest_test_fail_exit(name,
				     "lseek did not fail with ESPIPE (%s)",
				     strerror(errno));
	if (pread(c->pfd, &byte, 1, 0) != -1 || errno != ESPIPE)
		ktest_test_fail_exit(name,
				     "pread did not fail with ESPIPE (%s)",
				     strerror(errno));
	ktest_test_pass("%s", name);
}

static void check_prefault_map(struct ctx *c)
{
	const char *name = "prefault file: all pages hold page<i> without a fault";
	long before = faults_now();

	c->pmap = map_file(c->pfd, 0, c->npages, c->page_size);
	if (c->pmap == MAP_FAILED)
		ktest_test_fail_exit(name, "mmap: %s", strerror(errno));
	expect_headers(c, name, c->pmap, 0, c->npages);
	expect_faults(name, before, 0);
	ktest_test_pass("%s", name);
}

static void check_prefault_shared(struct ctx *c)
{
	const char *name = "prefault and faulting mappings share the buffer";
	size_t off = 5 * c->page_size + HEADER_BYTES;

	memcpy(c->pmap + off, "prefault", 8);
	if (memcmp(c->map + off, "prefault", 8))
		ktest_test_fail_exit(name,
				     "a write through the prefault mapping is not seen");
	memcpy(c->map + off, "faulting", 8);
	if (memcmp(c->pmap + off, "faulting", 8))
		ktest_test_fail_exit(name,
				     "a write through the faulting mapping is not seen");
	restore(c, off, 8);
	ktest_test_pass("%s", name);
}

/* remap_vmalloc_range() with a pgoff: the same pages as the faulting file. */
static void check_prefault_offset(struct ctx *c)
{
	const char *name = "prefault mapping at pgoff 3 of 2 pages sees pages 3 and 4 without a fault";
	long before = faults_now();
	char *p;

	p = map_file(c->pfd, OFFSET_PGOFF, OFFSET_PAGES, c->page_size);
	if (p == MAP_FAILED)
		ktest_test_fail_exit(name, "mmap: %s", strerror(errno));
	expect_headers(c, name, p, OFFSET_PGOFF, OFFSET_PAGES);
	expect_faults(name, before, 0);
	must_munmap(name, p, OFFSET_PAGES * c->page_size);
	ktest_test_pass("%s", name);
}

/* Not seekable, yet read() goes on from where the last one ended. */
static void check_prefault_read(struct ctx *c)
{
	const char *name = "prefault file: read() in sequence returns the whole buffer";
	char *buf = malloc(c->page_size);
	size_t total = 0;
	ssize_t n;

	if (!buf)
		ktest_test_fail_exit(name, "malloc: %s", strerror(errno));
	while ((n = read(c->pfd, buf, c->page_size)) > 0) {
		if (total + (size_t)n > c->size)
			ktest_test_fail_exit(name, "read more than %zu bytes",
					     c->size);
		if (memcmp(buf, c->map + total, (size_t)n))
			ktest_test_fail_exit(name,
					     "bytes %zu..%zu differ from the mapping",
					     total, total + (size_t)n);
		total += (size_t)n;
	}
	if (n < 0)
		ktest_test_fail_exit(name, "read: %s", strerror(errno));
	if (total != c->size)
		ktest_test_fail_exit(name, "read %zu bytes, expected %zu",
				     total, c->size);
	free(buf);
	ktest_test_pass("%s", name);
}

static void check_prefault_close(struct ctx *c)
{
	const char *name = "prefault file: munmap and close";

	must_munmap(name, c->pmap, c->size);
	if (close(c->pfd))
		ktest_test_fail_exit(name, "close: %s", strerror(errno));
	ktest_test_pass("%s", name);
}

static void check_as_found(struct ctx *c)
{
	const char *name = "the buffer is left as found";
	char *now = malloc(c->size);

	if (!now)
		ktest_test_fail_exit(name, "malloc: %s", strerror(errno));
	read_all(c, name, now);
	if (memcmp(now, c->orig, c->size))
		ktest_test_fail_exit(name,
				     "the buffer differs from the snapshot of check 3");
	free(now);
	ktest_test_pass("%s", name);
}

/* Fails check name unless the module's reference count is want. */
static void expect_refcnt(const char *name, long want)
{
	long refcnt;

	if (!read_number(MODULE_DIR "refcnt", &refcnt)) {
		ktest_print_msg("%srefcnt unreadable, not compared", MODULE_DIR);
		return;
	}
	if (refcnt != want)
		ktest_test_fail_exit(name, "module refcnt %ld, expected %ld",
				     refcnt, want);
}

/*
 * Each mapping holds one module reference from mmap() to vm_close: after
 * all the mappings above (fork, refused, failed mremap, SIGBUS, prefault)
 * only c->map is left.  An rmmod must fail now rather than leave it
 * pointing at freed vm_operations; O_NONBLOCK makes it fail at once.
 */
static void check_pinned(struct ctx *c)
{
	const char *name = "the one mapping left holds the one module reference, rmmod is refused";

	(void)c;
	expect_refcnt(name, 1);
	if (syscall(SYS_delete_module, MODULE_NAME, O_NONBLOCK) == 0)
		ktest_test_fail_exit(name,
				     "delete_module unloaded the module under a live mapping");
	if (errno == EPERM) {
		ktest_test_result_code(KTEST_SKIP, name,
				       "delete_module not permitted (not root?)");
		return;
	}
	if (errno != EWOULDBLOCK)
		ktest_test_fail_exit(name,
				     "delete_module failed with %s, expected EWOULDBLOCK",
				     strerror(errno));
	ktest_test_pass("%s", name);
}

static void check_close(struct ctx *c)
{
	const char *name = "munmap and close drop the last module reference";

	must_munmap(name, c->map, c->size);
	if (close(c->fd))
		ktest_test_fail_exit(name, "close: %s", strerror(errno));
	expect_refcnt(name, 0);
	ktest_test_pass("%s", name);
}

int main(int argc, char **argv)
{
	struct ctx c = {
		.path = argc > 1 ? argv[1] : DEFAULT_PATH,
		.prefault_path = argc > 2 ? argv[2] : DEFAULT_PREFAULT_PATH,
		.fd = -1,
		.pfd = -1,
	};
	long page_size, before;
	char *p;

	ktest_print_header();
	page_size = sysconf(_SC_PAGESIZE);
	if (page_size <= 0)
		ktest_exit_fail_msg("sysconf(_SC_PAGESIZE): %s",
				    strerror(errno));
	c.page_size = (size_t)page_size;

	ktest_set_plan(NUM_CHECKS);
	ktest_print_msg("%s and %s", c.path, c.prefault_path);

	check_open(&c);
	check_size(&c);
	check_snapshot(&c);
	check_map_all(&c);
	check_patterns(&c, &before);
	check_fault_per_page(&c, before);
	check_writable(&c);

	p = check_offset_map(&c);
	check_no_growth(&c, p, 0, "mremap cannot grow a mapping in place (EFAULT)");
	check_no_growth(&c, p, MREMAP_MAYMOVE,
			"mremap cannot grow a mapping with MREMAP_MAYMOVE (EFAULT)");
	must_munmap("munmap of the pgoff 3 mapping", p, OFFSET_PAGES * c.page_size);

	check_refused(&c, c.fd, "mmap of pages+1 pages fails with EINVAL",
		      0, c.npages + 1);
	check_refused(&c, c.fd, "mmap of the last page and one more fails with EINVAL",
		      c.npages - 1, 2);
	check_refused(&c, c.fd, "mmap at pgoff=pages fails with EINVAL",
		      c.npages, 1);
	check_sigbus(&c);
	check_fork(&c);
	check_rw_agree(&c, 0, false, "pwrite/pread agree with the mapping at offset 0");
	check_rw_agree(&c, c.page_size - 2, true,
		       "lseek+write/read agree with the mapping across the page boundary");
	check_rw_agree(&c, c.size - 4, false,
		       "pwrite/pread agree with the mapping at the last 4 bytes");
	check_end(&c);
	check_threads(&c);

	check_prefault_open(&c);
	check_prefault_map(&c);
	check_prefault_shared(&c);
	check_prefault_offset(&c);
	check_refused(&c, c.pfd, "prefault file: mmap of pages+1 pages fails with EINVAL",
		      0, c.npages + 1);
	check_prefault_read(&c);
	check_prefault_close(&c);

	check_as_found(&c);
	check_pinned(&c);
	check_close(&c);
	free(c.orig);
	ktest_finished();
}
