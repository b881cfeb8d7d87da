/*
 * util: allocation that cannot fail, bounded growable buffers, and small
 * string helpers shared by every module.
 *
 * Allocation failure aborts (x* functions), so callers need no NULL checks.
 * Limits that input can hit (a buffer's maximum size) are reported instead:
 * a hostile server must never make tern allocate what it claims.
 *
 * Errors travel as "char **cause": a function that fails returns -1 and,
 * when cause is not NULL, stores a malloc'd message the caller frees.
 */
#ifndef TERN_UTIL_H
#define TERN_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <wchar.h>

#if defined(__GNUC__)
#define TERN_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define TERN_NORETURN __attribute__((noreturn))
#else
#define TERN_PRINTF(a, b)
#define TERN_NORETURN
#endif

#define TERN_NELEM(a) (sizeof(a) / sizeof((a)[0]))

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) TERN_PRINTF(1, 2);
char *xvasprintf(const char *fmt, va_list ap) TERN_PRINTF(1, 0);

/* Set *cause (when cause is not NULL) to a formatted message; returns -1. */
int set_cause(char **cause, const char *fmt, ...) TERN_PRINTF(2, 3);

/* Print "tern: MSG" to stderr. */
void tern_warnx(const char *fmt, ...) TERN_PRINTF(1, 2);
/* Print "tern: MSG" to stderr and exit with status. */
TERN_NORETURN void tern_fatalx(int status, const char *fmt, ...)
    TERN_PRINTF(2, 3);

/*
 * A growable byte buffer with a hard maximum. data is always NUL-terminated
 * (the NUL is not counted in len) so text can be used as a C string.
 */
struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; /* 0: no limit beyond SIZE_MAX/2 */
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
/* Room for add more bytes (and a NUL) after len; -1 if max forbids it. */
int buf_reserve(struct buf *b, size_t add);
/* Append; returns -1 (and appends nothing) if max would be exceeded. */
int buf_add(struct buf *b, const void *data, size_t len);
int buf_addc_slow(struct buf *b, char c);
/*
 * One byte: inline while there is room and the limit allows it, the
 * common case in parsers; buf_addc_slow grows or refuses.
 */
static inline int
buf_addc(struct buf *b, char c)
{
	if (b->len + 2 <= b->cap && (b->max == 0 || b->len < b->max)) {
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
		return 0;
	}
	return buf_addc_slow(b, c);
}
int buf_adds(struct buf *b, const char *s);
/* Append s[0..len) with every line end CRLF (a bare LF becomes CRLF). */
int buf_add_crlf(struct buf *b, const char *s, size_t len);
int buf_printf(struct buf *b, const char *fmt, ...) TERN_PRINTF(2, 3);
/* Remove the first n bytes. */
void buf_consume(struct buf *b, size_t n);
/* Take ownership of the data (NUL-terminated); the buffer is left empty. */
char *buf_steal(struct buf *b, size_t *lenp);

/* Case-insensitive ASCII comparisons, independent of locale. */
int ascii_strcasecmp(const char *a, const char *b);
int ascii_strncasecmp(const char *a, const char *b, size_t n);

/* Parse a decimal unsigned number no larger than max; -1 on any error. */
int parse_uint64(const char *s, size_t len, uint64_t max, uint64_t *out);

/*
 * A test hook: with TERN_FAULT=POINT:N in the environment, the Nth time
 * the code reaches point the process is killed with SIGKILL.
 */
void tern_fault(const char *point);

/*
 * Decode one UTF-8 sequence at s (len > 0): its length, with the code point
 * in *cp, or 0 if it is not valid UTF-8 (overlong, surrogate, truncated).
 */
size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);
/* Whether s is entirely valid UTF-8 (NUL bytes allowed when nul_ok). */
int utf8_valid(const char *s, size_t len, int nul_ok);

/*
 * Append s to out with control characters made visible: C0 (except tab and,
 * when keep_newline is set, newline) as ^X, DEL as ^?, C1 and ESC as <U+XXXX>,
 * bidirectional overrides and isolates as <U+XXXX>, invalid UTF-8 as U+FFFD.
 */
void text_visible(struct buf *out, const char *s, size_t len, int keep_newline);
/* Convenience: a malloc'd visible copy of a NUL-terminated string. */
char *text_visible_dup(const char *s);

/*
 * The character at the start of s[0..len) (len > 0) as a terminal shows
 * it, in the current locale: its length in bytes, the character in *wc
 * and its columns in *cols. A byte that starts no character stands alone
 * as '?'; one wcwidth gives no width (a control, a tab) takes a column.
 */
size_t text_char(
    const char *s, size_t len, mbstate_t *mbs, wchar_t *wc, int *cols);
/*
 * How many bytes of s[0..len) fit in width columns (all of it when width
 * < 0), counted as text_char does, with their columns in *cols (if not
 * NULL). A character that does not fit is left out whole.
 */
size_t text_fit(const char *s, size_t len, int width, int *cols);

/* Write all of buf to fd (retrying on EINTR/short writes); -1 on error. */
int write_all(int fd, const void *buf, size_t len);
/* Read a whole file (at most max bytes); -1 with cause on error. */
int read_file(const char *path, size_t max, struct buf *out, char **cause);
/* mkdir -p with the given mode for missing components. */
int mkdir_p(const char *path, mode_t mode, char **cause);

/*
 * A size for people: "512 B", "4.2 MiB", "17 GiB" (binary units); with
 * compact, "512", "4.2K", "17G" for narrow columns.
 */
void format_size(int64_t n, int compact, char *out, size_t len);

/* Monotonic milliseconds. */
uint64_t now_ms(void);

#endif
