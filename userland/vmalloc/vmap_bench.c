// SPDX-License-Identifier: GPL-2.0
/*
 * vmap_bench - in-guest benchmark for kernel-module/vmalloc/lkmc_vmap.c.
 *
 *   vmap_bench [PATH [PREFAULT_PATH]]
 *              defaults /proc/lkmc_vmap and /proc/lkmc_vmap_prefault
 *
 * Measures, over the module's whole buffer:
 *   - bytes/s copied through a mapping (memcpy) against read()/write()
 *     (pread/pwrite of the whole buffer per call);
 *   - the cost per page of the first touch of a fresh mapping of the
 *     faulting file (one fault per page) and of the prefault file (none),
 *     and of the mmap()+munmap() that goes with it, where the prefault
 *     file pays for populating the range.
 * Each figure repeats its operation until it has run ~0.3 s.
 *
 * Prints one "bench <name> [<variant>] <value>" line per figure, and "#"
 * comments.  The module logs one line per fault unless log_faults is off,
 * and that printk dominates a fault: as root the bench turns log_faults
 * off for its fault figures (and restores it), and also reports the
 * logged cost as "first_touch_ns_per_page fault_logged".  Note that the
 * module always logs mmap, vm_open and vm_close (3 lines per mapping) and
 * read/write (1 line per call): they are inside the mmap+munmap and the
 * read()/write() figures.
 *
 * Writes only bytes it read first, so the buffer is left as found.
 * Exit status 0, or 1 if a step fails.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_PATH		"/proc/lkmc_vmap"
#define DEFAULT_PREFAULT_PATH	"/proc/lkmc_vmap_prefault"
#define LOG_FAULTS_PARAM	"/sys/module/lkmc_vmap/parameters/log_faults"

/* Each figure runs its operation this long, at least. */
#define TARGET_S		0.3
/* With per-fault logging on, at most this many mappings (console spam). */
#define LOGGED_MAX_REPS		32

struct bench {
	size_t page_size;
	size_t size;
	size_t npages;
	int fd;
	int pfd;
	char *map;	/* all of the faulting file, already faulted in */
	char *data;	/* the buffer's bytes, as read at start */
	char *sink;	/* where copies out go */
};

static noreturn void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "vmap_bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Next repetition count, aiming at TARGET_S from the last run's time. */
static unsigned long more_reps(unsigned long reps, double took)
{
	double want = took > 0.001 ? reps * TARGET_S / took * 1.2 : reps * 16.0;

	return want > reps * 64.0 ? reps * 64 : (unsigned long)want + 1;
}

typedef void (*op_fn)(struct bench *b);

/* Seconds per call of op, over at least TARGET_S. */
static double time_op(struct bench *b, op_fn op, const char *what)
{
	unsigned long reps = 1, i;
	double t0, took;

	for (;;) {
		t0 = now_s();
		for (i = 0; i < reps; i++)
			op(b);
		took = now_s() - t0;
		if (took >= TARGET_S)
			break;
		reps = more_reps(reps, took);
	}
	printf("# %s: %lu reps in %.3f s\n", what, reps, took);
	return took / reps;
}

static void op_map_read(struct bench *b)
{
	memcpy(b->sink, b->map, b->size);
}

static void op_map_write(struct bench *b)
{
	memcpy(b->map, b->data, b->size);
}

static void op_rw_read(struct bench *b)
{
	if (pread(b->fd, b->sink, b->size, 0) != (ssize_t)b->size)
		die("pread: %s", strerror(errno));
}

static void op_rw_write(struct bench *b)
{
	if (pwrite(b->fd, b->data, b->size, 0) != (ssize_t)b->size)
		die("pwrite: %s", strerror(errno));
}

static void report_rate(const char *name, size_t bytes, double s)
{
	printf("bench %s %.0f\n", name, bytes / s);
}

static void bench_copies(struct bench *b)
{
	double mr = time_op(b, op_map_read, "mmap read");
	double mw = time_op(b, op_map_write, "mmap write");
	double rr = time_op(b, op_rw_read, "pread");
	double rw = time_op(b, op_rw_write, "pwrite");

	report_rate("mmap_read_bytes_per_s", b->size, mr);
	report_rate("mmap_write_bytes_per_s", b->size, mw);
	report_rate("rw_read_bytes_per_s", b->size, rr);
	report_rate("rw_write_bytes_per_s", b->size, rw);
	/* One copy out and one copy in per round. */
	report_rate("mmap_bytes_per_s", 2 * b->size, mr + mw);
	report_rate("rw_bytes_per_s", 2 * b->size, rr + rw);
}

struct touch_times {
	double map_s;	/* mmap() and munmap() */
	double touch_s;	/* reading one byte of each page */
	unsigned long reps;
};

/* One fresh mapping of fd: map, read a byte per page, unmap. */
static void touch_once(struct bench *b, int fd, struct touch_times *t)
{
	volatile char sum = 0;
	double t0, t1, t2;
	size_t i;
	char *p;

	t0 = now_s();
	p = mmap(NULL, b->size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	t1 = now_s();
	for (i = 0; i < b->npages; i++)
		sum += ((volatile char *)p)[i * b->page_size];
	t2 = now_s();
	if (munmap(p, b->size))
		die("munmap: %s", strerror(errno));
	t->map_s += (t1 - t0) + (now_s() - t2);
	t->touch_s += t2 - t1;
	(void)sum;
}

static struct touch_times time_touch(struct bench *b, int fd,
				     unsigned long max_reps)
{
	unsigned long reps = 1, i;
	struct touch_times t;

	for (;;) {
		t = (struct touch_times){ .reps = reps };
		for (i = 0; i < reps; i++)
			touch_once(b, fd, &t);
		if (t.map_s + t.touch_s >= TARGET_S || reps >= max_reps)
			return t;
		reps = more_reps(reps, t.map_s + t.touch_s);
		if (reps > max_reps)
			reps = max_reps;
	}
}

static void report_touch(struct bench *b, const char *variant,
			 struct touch_times t)
{
	double pages = (double)t.reps * b->npages;

	printf("# first touch %s: %lu mappings\n", variant, t.reps);
	printf("bench first_touch_ns_per_page %s %.0f\n", variant,
	       t.touch_s * 1e9 / pages);
	printf("bench mmap_munmap_ns_per_page %s %.0f\n", variant,
	       t.map_s * 1e9 / pages);
}

/* "Y" or "N" from the parameter, '?' if it cannot be read. */
static char log_faults_get(void)
{
	char c = '?';
	int fd = open(LOG_FAULTS_PARAM, O_RDONLY);

	if (fd >= 0) {
		if (read(fd, &c, 1) != 1)
			c = '?';
		close(fd);
	}
	return c;
}

static bool log_faults_set(char c)
{
	int fd = open(LOG_FAULTS_PARAM, O_WRONLY);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, &c, 1) == 1;
	close(fd);
	return ok;
}

static void bench_first_touch(struct bench *b)
{
	char was = log_faults_get();
	bool can_set = log_faults_set('N');

	printf("bench log_faults %c\n", can_set ? 'N' : was);
	report_touch(b, "fault", time_touch(b, b->fd, ~0UL));
	report_touch(b, "prefault", time_touch(b, b->pfd, ~0UL));
	if (can_set && log_faults_set('Y')) {
		report_touch(b, "fault_logged",
			     time_touch(b, b->fd, LOGGED_MAX_REPS));
		if (was == 'N')
			log_faults_set('N');
	} else if (!can_set) {
		printf("# cannot set log_faults (not root?): fault figures as found\n");
	}
}

static void setup(struct bench *b, const char *path, const char *prefault_path)
{
	struct stat st;
	long ps = sysconf(_SC_PAGESIZE);

	b->page_size = (size_t)ps;
	b->fd = open(path, O_RDWR);
	if (b->fd < 0)
		die("open %s: %s", path, strerror(errno));
	b->pfd = open(prefault_path, O_RDONLY);
	if (b->pfd < 0)
		die("open %s: %s", prefault_path, strerror(errno));
	if (fstat(b->fd, &st) || st.st_size <= 0)
		die("fstat %s: no size", path);
	b->size = (size_t)st.st_size;
	b->npages = b->size / b->page_size;

	b->data = malloc(b->size);
	b->sink = malloc(b->size);
	if (!b->data || !b->sink)
		die("malloc: %s", strerror(errno));
	if (pread(b->fd, b->data, b->size, 0) != (ssize_t)b->size)
		die("pread: %s", strerror(errno));

	b->map = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0);
	if (b->map == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	/* Fault it in before timing copies. */
	memcpy(b->sink, b->map, b->size);
}

int main(int argc, char **argv)
{
	struct bench b = { 0 };
	struct utsname u;

	setvbuf(stdout, NULL, _IOLBF, 0);
	setup(&b, argc > 1 ? argv[1] : DEFAULT_PATH,
	      argc > 2 ? argv[2] : DEFAULT_PREFAULT_PATH);

	if (uname(&u) == 0)
		printf("bench kernel %s\n", u.release);
	printf("bench pages %zu\n", b.npages);
	printf("bench page_size %zu\n", b.page_size);

	bench_copies(&b);
	bench_first_touch(&b);

	munmap(b.map, b.size);
	close(b.pfd);
	close(b.fd);
	free(b.sink);
	free(b.data);
	return 0;
}
