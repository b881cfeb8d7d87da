/*
 * A minimal unit-test layer: each check prints a TAP line; a failed check
 * is reported with its file and line, and the program's exit status is the
 * number of failures (capped), so meson sees any failure.
 */
#ifndef TERN_TEST_H
#define TERN_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_count, test_failed;

/* Print s with control characters escaped: TAP lines must stay lines. */
static inline void
test_print_escaped(const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			printf("\\x%02x", (unsigned char)*s);
		else
			putchar(*s);
	}
}

#define CHECK(cond) \
	do { \
		test_count++; \
		if (cond) \
			printf("ok %d - %s\n", test_count, #cond); \
		else { \
			test_failed++; \
			printf("not ok %d - %s (%s:%d)\n", test_count, #cond, \
			    __FILE__, __LINE__); \
		} \
	} while (0)

#define CHECK_STR(a, b) \
	do { \
		const char *a_ = (a), *b_ = (b); \
		test_count++; \
		if (a_ != NULL && b_ != NULL && strcmp(a_, b_) == 0) { \
			printf("ok %d - %s == \"", test_count, #a); \
			test_print_escaped(b_); \
			printf("\"\n"); \
		} else { \
			test_failed++; \
			printf("not ok %d - %s: got \"", test_count, #a); \
			test_print_escaped(a_ ? a_ : "(null)"); \
			printf("\", want \""); \
			test_print_escaped(b_ ? b_ : "(null)"); \
			printf("\" (%s:%d)\n", __FILE__, __LINE__); \
		} \
	} while (0)

static inline int
test_done(void)
{
	printf("1..%d\n", test_count);
	if (test_failed)
		printf("# %d of %d checks failed\n", test_failed, test_count);
	return test_failed > 100 ? 100 : test_failed;
}

#endif
