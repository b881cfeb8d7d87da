/*
 * Small pieces: UID sets and flag lists.
 */
#include <stdlib.h>
#include <string.h>

#include "imap-private.h"
#include "tern/store.h"
#include "tern/util.h"

void
imap_uidset_add(struct imap_uidset *s, uint32_t uid)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->v = xreallocarray(s->v, s->cap, sizeof *s->v);
	}
	s->v[s->n++] = uid;
}

void
imap_uidset_free(struct imap_uidset *s)
{
	free(s->v);
	memset(s, 0, sizeof *s);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void
imap_uidset_sort(struct imap_uidset *s)
{
	size_t i, j;

	if (s->n == 0)
		return;
	qsort(s->v, s->n, sizeof *s->v, cmp_u32);
	for (i = 1, j = 1; i < s->n; i++) {
		if (s->v[i] != s->v[j - 1])
			s->v[j++] = s->v[i];
	}
	s->n = j;
}

static int
parse_one(const char **pp, uint32_t star, uint32_t *out)
{
	const char *p = *pp;
	uint64_t v = 0;

	if (*p == '*') {
		*out = star;
		*pp = p + 1;
		return 0;
	}
	if (*p < '0' || *p > '9')
		return -1;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			return -1;
		p++;
	}
	*out = (uint32_t)v;
	*pp = p;
	return 0;
}

int
imap_uidset_parse(struct imap_uidset *s, const char *set, uint32_t star)
{
	const char *p = set;
	size_t total = s->n;

	while (*p != '\0') {
		uint32_t a, b, u;

		if (parse_one(&p, star, &a) != 0)
			return -1;
		b = a;
		if (*p == ':') {
			p++;
			if (parse_one(&p, star, &b) != 0)
				return -1;
		}
		if (a > b) {
			u = a;
			a = b;
			b = u;
		}
		if (a == 0)
			return -1;
		total += (size_t)(b - a) + 1;
		if (total > IMAP_UIDSET_MAX)
			return -1;
		for (u = a;; u++) {
			imap_uidset_add(s, u);
			if (u == b)
				break;
		}
		if (*p == ',')
			p++;
		else if (*p != '\0')
			return -1;
	}
	return 0;
}

void
imap_uidset_format(struct buf *out, const uint32_t *v, size_t n)
{
	size_t i = 0, j;

	while (i < n) {
		j = i;
		while (j + 1 < n && v[j + 1] == v[j] + 1)
			j++;
		if (i != 0)
			(void)buf_addc(out, ',');
		if (j == i)
			(void)buf_printf(out, "%u", v[i]);
		else
			(void)buf_printf(out, "%u:%u", v[i], v[j]);
		i = j + 1;
	}
}

static const struct {
	const char *name;
	unsigned bit;
} flagnames[] = {
	{ "\\Draft", STORE_F_DRAFT },
	{ "\\Flagged", STORE_F_FLAGGED },
	{ "$Forwarded", STORE_F_PASSED },
	{ "\\Answered", STORE_F_REPLIED },
	{ "\\Seen", STORE_F_SEEN },
	{ "\\Deleted", STORE_F_DELETED },
};

void
imap_flags_parse(
    const struct imap_resp *r, size_t list, unsigned *flags, char **keywords)
{
	struct buf kw;
	size_t i, k;

	*flags = 0;
	buf_init(&kw, 4096);
	if (list >= r->nitems || r->items[list].type != IMAP_LIST)
		goto out;
	for (i = list + 1; i < imap_next(r, list); i = imap_next(r, i)) {
		const char *s;

		if (r->items[i].type != IMAP_ATOM)
			continue;
		s = imap_str(r, i);
		for (k = 0; k < TERN_NELEM(flagnames); k++) {
			if (ascii_strcasecmp(s, flagnames[k].name) == 0) {
				*flags |= flagnames[k].bit;
				break;
			}
		}
		if (k < TERN_NELEM(flagnames) || s[0] == '\\')
			continue;
		if (kw.len)
			(void)buf_addc(&kw, ' ');
		(void)buf_adds(&kw, s);
	}
out:
	*keywords = kw.len ? buf_steal(&kw, NULL) : NULL;
	buf_free(&kw);
}

void
imap_flags_format(struct buf *out, unsigned flags)
{
	size_t k;
	int first = 1;

	for (k = 0; k < TERN_NELEM(flagnames); k++) {
		if (!(flags & flagnames[k].bit))
			continue;
		if (!first)
			(void)buf_addc(out, ' ');
		(void)buf_adds(out, flagnames[k].name);
		first = 0;
	}
}

uint32_t
imap_last_uid(const char *s)
{
	const char *sp;
	uint64_t v;

	if (s == NULL)
		return 0;
	sp = strrchr(s, ' ');
	sp = sp != NULL ? sp + 1 : s;
	if (parse_uint64(sp, strlen(sp), UINT32_MAX, &v) != 0)
		return 0;
	return (uint32_t)v;
}
