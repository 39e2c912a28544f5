/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ktest.h - TAP output and exit codes for kmod-harness userland tests.
 *
 * Header-only, after the kernel's tools/testing/selftests/kselftest.h,
 * with the same exit codes, so the harness (or a person) can judge a run
 * from the exit status alone and a TAP reader per subtest:
 *
 *	#include <kmod-harness/ktest.h>
 *
 *	ktest_print_header();		TAP version 13
 *	ktest_set_plan(3);		1..3
 *	ktest_print_msg("fd %d", fd);	# fd 3
 *	ktest_test_pass("open");	ok 1 - open
 *	ktest_test_result(n == 4, "read %d bytes", 4);
 *					ok 2 - read 4 bytes (or not ok 2)
 *	ktest_test_skip("no %s", "kmemleak");
 *					ok 3 # SKIP no kmemleak
 *	ktest_finished();		exits 0, 1 or 4, see below
 *
 * Descriptions and messages are printf formats (checked by the compiler)
 * without the trailing newline: the header ends each line itself.  A '#'
 * or '\' in a description is escaped, a newline becomes a space, and each
 * line of a message gets its own "# ", so text never breaks the TAP.
 *
 * For a named result with a reason (a skip that keeps the test's name):
 *
 *	ktest_test_result_code(KTEST_SKIP, "unload", "not root");
 *					ok N - unload # SKIP not root
 *
 * For tests whose later checks build on earlier ones, stop at the first
 * failure: ktest_test_fail_exit(name, why...) prints "not ok N - name",
 * "# why", repeats it on stderr (the harness shows the test's last line
 * of output as the reason) and exits 1.  ktest_exit_fail_msg() (also
 * spelled ktest_bail_out()) prints "Bail out! ..." and exits 1;
 * ktest_exit_skip() skips the tests left and exits as ktest_finished().
 *
 * Exit codes of ktest_finished(): KTEST_PASS (0) when every test passed
 * or was skipped, at least one passed; KTEST_FAIL (1) on any failure, or
 * when the count of tests run differs from the plan; KTEST_SKIP (4) when
 * all of them were skipped.  Without ktest_set_plan() the plan is printed
 * at the end (valid TAP too) and cannot mismatch.
 *
 * The counters are static: report from one thread of one translation
 * unit.  A fork()ed child inherits them; let only one process report.
 * stdout is made line-buffered and flushed after every line, so TAP lines
 * neither interleave with stderr nor repeat in a fork()ed child.
 */
#ifndef KMOD_HARNESS_KTEST_H
#define KMOD_HARNESS_KTEST_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Exit codes, kselftest's values. */
#define KTEST_PASS	0
#define KTEST_FAIL	1
#define KTEST_SKIP	4

#if defined(__GNUC__) || defined(__clang__)
#define KTEST_PRINTF(fmt, args) __attribute__((__format__(__printf__, fmt, args)))
#define KTEST_NORETURN		__attribute__((__noreturn__))
#else
#define KTEST_PRINTF(fmt, args)
#define KTEST_NORETURN
#endif

/* Room kept for the first failed test, "N - desc", for the stderr summary. */
#define KTEST_FIRST_FAIL_MAX	160

static struct {
	unsigned int pass;
	unsigned int fail;
	unsigned int skip;
	unsigned int plan;
	int planned;
	char first_fail[KTEST_FIRST_FAIL_MAX];
} ktest_cnt;

static inline unsigned int ktest_test_num(void)
{
	return ktest_cnt.pass + ktest_cnt.fail + ktest_cnt.skip;
}

/* The program's name for stderr lines, as the shell showed it. */
static inline const char *ktest__prog(void)
{
#ifdef __GLIBC__
	/* Same type as glibc's own declaration (errno.h, _GNU_SOURCE only). */
	extern char *program_invocation_short_name;

	return program_invocation_short_name;
#else
	return "ktest";
#endif
}

/*
 * fmt formatted into buf, or into a malloc()ed buffer when it does not
 * fit; the caller frees the result when it is not buf.  Out of memory,
 * it is buf, truncated.
 */
static inline char *ktest__vformat(char *buf, size_t size, const char *fmt,
				   va_list ap)
{
	va_list again;
	char *big;
	int n;

	va_copy(again, ap);
	n = vsnprintf(buf, size, fmt, ap);
	if (n < 0 || (size_t)n < size) {
		va_end(again);
		return buf;
	}
	big = (char *)malloc((size_t)n + 1);
	if (big)
		vsnprintf(big, (size_t)n + 1, fmt, again);
	va_end(again);
	return big ? big : buf;
}

/* Each line of text as a TAP diagnostic; a trailing newline is dropped. */
static inline void ktest__print_lines(const char *text)
{
	size_t len = strlen(text);
	const char *nl;
	size_t n;

	if (len && text[len - 1] == '\n')
		len--;
	for (;;) {
		nl = (const char *)memchr(text, '\n', len);
		n = nl ? (size_t)(nl - text) : len;
		printf("# %.*s\n", (int)n, text);
		if (!nl)
			break;
		len -= n + 1;
		text = nl + 1;
	}
}

/*
 * text on one line: newlines become spaces (a trailing one is dropped);
 * in a description TAP's two special characters, '#' and '\', escaped.
 */
static inline void ktest__print_inline(const char *text, int escape)
{
	for (; *text; text++) {
		if (text[0] == '\n' && !text[1])
			break;
		if (escape && (*text == '#' || *text == '\\'))
			putchar('\\');
		putchar(*text == '\n' || *text == '\r' ? ' ' : *text);
	}
}

/*
 * One result line: "ok N - desc", "not ok N - desc", "ok N - desc # SKIP
 * reason", or with desc NULL kselftest's "ok N # SKIP reason".  Any other
 * code than KTEST_PASS and KTEST_SKIP is a failure.
 */
static inline void ktest__result(int code, const char *desc,
				 const char *skip_reason)
{
	int ok = code == KTEST_PASS || code == KTEST_SKIP;

	if (code == KTEST_PASS)
		ktest_cnt.pass++;
	else if (code == KTEST_SKIP)
		ktest_cnt.skip++;
	else if (++ktest_cnt.fail == 1)
		snprintf(ktest_cnt.first_fail, sizeof(ktest_cnt.first_fail),
			 "%u - %s", ktest_test_num(), desc ? desc : "");
	printf("%s %u", ok ? "ok" : "not ok", ktest_test_num());
	if (desc) {
		fputs(" - ", stdout);
		ktest__print_inline(desc, 1);
	}
	if (code == KTEST_SKIP) {
		fputs(" # SKIP", stdout);
		if (skip_reason && *skip_reason) {
			putchar(' ');
			ktest__print_inline(skip_reason, 0);
		}
	}
	putchar('\n');
	fflush(stdout);
}

/* A result whose description is fmt (code KTEST_SKIP: whose reason is). */
static inline void ktest__vresult(int code, const char *fmt, va_list ap)
{
	char buf[256];
	char *text;

	text = ktest__vformat(buf, sizeof(buf), fmt, ap);
	if (code == KTEST_SKIP)
		ktest__result(code, NULL, text);
	else
		ktest__result(code, text, NULL);
	if (text != buf)
		free(text);
}

static inline void ktest_print_header(void)
{
	/*
	 * Line-buffered even into a pipe: a crash keeps every line printed
	 * so far, and a fork()ed child has nothing buffered to repeat.
	 * Call this before any other output.
	 */
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n");
	fflush(stdout);
}

static inline void ktest_set_plan(unsigned int plan)
{
	ktest_cnt.plan = plan;
	ktest_cnt.planned = 1;
	printf("1..%u\n", plan);
	fflush(stdout);
}

static inline KTEST_PRINTF(1, 2) void ktest_print_msg(const char *fmt, ...)
{
	int saved_errno = errno;
	char buf[256];
	char *text;
	va_list ap;

	va_start(ap, fmt);
	errno = saved_errno;	/* for %m */
	text = ktest__vformat(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ktest__print_lines(text);
	fflush(stdout);
	if (text != buf)
		free(text);
	errno = saved_errno;
}

static inline KTEST_PRINTF(1, 2) void ktest_test_pass(const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	va_start(ap, fmt);
	ktest__vresult(KTEST_PASS, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

static inline KTEST_PRINTF(1, 2) void ktest_test_fail(const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	va_start(ap, fmt);
	ktest__vresult(KTEST_FAIL, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

/* "ok N # SKIP reason": the test did not run, for the reason fmt gives. */
static inline KTEST_PRINTF(1, 2) void ktest_test_skip(const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	va_start(ap, fmt);
	ktest__vresult(KTEST_SKIP, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

/* Passes when cond is true, fails otherwise; fmt describes the test. */
static inline KTEST_PRINTF(2, 3) void ktest_test_result(int cond,
							 const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	va_start(ap, fmt);
	ktest__vresult(cond ? KTEST_PASS : KTEST_FAIL, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

/*
 * Test name's result by exit code (KTEST_PASS, KTEST_SKIP, anything else
 * fails), with a reason fmt that may be NULL: after " # SKIP" on a skip,
 * as a "# " line after the result otherwise.
 */
static inline KTEST_PRINTF(3, 4)
void ktest_test_result_code(int code, const char *name, const char *fmt, ...)
{
	int saved_errno = errno;
	char buf[512];
	char *why = NULL;
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		why = ktest__vformat(buf, sizeof(buf), fmt, ap);
		va_end(ap);
	}
	ktest__result(code, name, code == KTEST_SKIP ? why : NULL);
	if (why && code != KTEST_SKIP) {
		ktest__print_lines(why);
		fflush(stdout);
	}
	if (why && why != buf)
		free(why);
	errno = saved_errno;
}

/*
 * Prints the plan if none was set, a plan mismatch, the totals, and
 * returns the exit code they make.
 */
static inline int ktest__totals(void)
{
	unsigned int run = ktest_test_num();

	if (!ktest_cnt.planned) {
		ktest_cnt.plan = run;
		printf("1..%u\n", run);
	}
	if (ktest_cnt.plan != run)
		printf("# Planned tests != run tests (%u != %u)\n",
		       ktest_cnt.plan, run);
	printf("# Totals: pass:%u fail:%u skip:%u\n",
	       ktest_cnt.pass, ktest_cnt.fail, ktest_cnt.skip);
	fflush(stdout);
	if (ktest_cnt.fail || ktest_cnt.plan != run)
		return KTEST_FAIL;
	return ktest_cnt.pass ? KTEST_PASS : KTEST_SKIP;
}

/* Exits with the code the results make (see the top of this file). */
static inline KTEST_NORETURN void ktest_finished(void)
{
	int code = ktest__totals();

	if (ktest_cnt.fail)
		fprintf(stderr, "%s: %u of %u tests failed, the first: %s\n",
			ktest__prog(), ktest_cnt.fail, ktest_test_num(),
			ktest_cnt.first_fail);
	else if (code == KTEST_FAIL)
		fprintf(stderr, "%s: planned %u tests, ran %u\n",
			ktest__prog(), ktest_cnt.plan, ktest_test_num());
	exit(code);
}

/*
 * Test name failed for the reason fmt gives, and the tests after it
 * cannot run: reports it, then exits KTEST_FAIL.
 */
static inline KTEST_PRINTF(2, 3) KTEST_NORETURN
void ktest_test_fail_exit(const char *name, const char *fmt, ...)
{
	char buf[512];
	char *why;
	va_list ap;

	va_start(ap, fmt);
	why = ktest__vformat(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ktest_test_result_code(KTEST_FAIL, name, "%s", why);
	/*
	 * No totals: a TAP reader gives the lines after a last failed result
	 * to it, and the reason is all it needs.  A plan to end a stream that
	 * had none, though: without one, TAP 13 says the test died.
	 */
	if (!ktest_cnt.planned) {
		printf("1..%u\n", ktest_test_num());
		fflush(stdout);
	}
	fprintf(stderr, "%s: test %u (%s) failed: %s\n", ktest__prog(),
		ktest_test_num(), name, why);
	exit(KTEST_FAIL);
}

/* The whole program cannot go on: "Bail out! reason", exit KTEST_FAIL. */
static inline KTEST_PRINTF(1, 2) KTEST_NORETURN
void ktest_exit_fail_msg(const char *fmt, ...)
{
	char buf[512];
	char *why;
	va_list ap;

	va_start(ap, fmt);
	why = ktest__vformat(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fputs("Bail out! ", stdout);
	ktest__print_inline(why, 0);
	putchar('\n');
	fflush(stdout);
	fprintf(stderr, "%s: %s\n", ktest__prog(), why);
	exit(KTEST_FAIL);
}

/* TAP's name for it. */
#define ktest_bail_out ktest_exit_fail_msg

/*
 * The tests left cannot run here (not root, a kernel without the
 * feature), for the reason fmt gives.  Before any plan and test: "1..0 #
 * SKIP reason" and exit KTEST_SKIP.  Else each test left of the plan (or
 * the next, without a plan) is skipped, and it exits as ktest_finished().
 */
static inline KTEST_PRINTF(1, 2) KTEST_NORETURN
void ktest_exit_skip(const char *fmt, ...)
{
	char buf[512];
	char *why;
	va_list ap;

	va_start(ap, fmt);
	why = ktest__vformat(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (!ktest_cnt.planned && !ktest_test_num()) {
		fputs("1..0 # SKIP ", stdout);
		ktest__print_inline(why, 0);
		putchar('\n');
		fflush(stdout);
		exit(KTEST_SKIP);
	}
	if (!ktest_cnt.planned)
		ktest__result(KTEST_SKIP, NULL, why);
	while (ktest_test_num() < ktest_cnt.plan)
		ktest__result(KTEST_SKIP, NULL, why);
	ktest_finished();
}

#endif /* KMOD_HARNESS_KTEST_H */
