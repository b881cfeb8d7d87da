/*
 * Flags and keywords as the user and the queue write them: checking a
 * keyword, the "flags" op's argument that carries a change ("+S -F
 * +kw:$Label1 -kw:work"), and applying a change to a keyword list. The
 * store only keeps what these give it.
 */
#include <stdlib.h>
#include <string.h>

#include "tern/core.h"
#include "tern/util.h"

int
core_keyword_check(const char *kw, char **cause)
{
	const char *p;
	size_t len = strlen(kw);

	if (len == 0)
		return set_cause(cause, "an empty keyword");
	if (len > CORE_KEYWORD_MAX)
		return set_cause(
		    cause, "a keyword longer than %d bytes", CORE_KEYWORD_MAX);
	if (kw[0] == '\\')
		return set_cause(cause,
		    "'%s': a keyword cannot start with \\ (system flags are "
		    "letters of DFPRST)",
		    kw);
	for (p = kw; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		/* An IMAP atom: no atom-specials, no ']', ASCII only. */
		if (c <= 0x20 || c >= 0x7f || strchr("(){}%*\"\\]", c) != NULL)
			return set_cause(cause,
			    "a keyword is one word of ASCII letters, digits "
			    "and punctuation but ( ) { } %% * \" \\ ]");
	}
	return 0;
}

void
core_flag_change_clear(struct core_flag_change *c)
{
	size_t i;

	for (i = 0; i < c->nkw_add; i++)
		free(c->kw_add[i]);
	for (i = 0; i < c->nkw_del; i++)
		free(c->kw_del[i]);
	free(c->kw_add);
	free(c->kw_del);
	memset(c, 0, sizeof *c);
}

/* Is kw in v[0..n) (ASCII case-insensitively)? */
static int
kw_in(char *const *v, size_t n, const char *kw)
{
	for (size_t i = 0; i < n; i++) {
		if (ascii_strcasecmp(v[i], kw) == 0)
			return 1;
	}
	return 0;
}

static void
kw_remove(char **v, size_t *n, const char *kw)
{
	size_t i, j;

	for (i = j = 0; i < *n; i++) {
		if (ascii_strcasecmp(v[i], kw) == 0)
			free(v[i]);
		else
			v[j++] = v[i];
	}
	*n = j;
}

int
core_flag_change_keyword(
    struct core_flag_change *c, int add, const char *kw, char **cause)
{
	if (core_keyword_check(kw, cause) != 0)
		return -1;
	/* The server's name for the passed (forwarded) flag. */
	if (ascii_strcasecmp(kw, "$Forwarded") == 0) {
		if (add) {
			c->add |= STORE_F_PASSED;
			c->del &= ~(unsigned)STORE_F_PASSED;
		} else {
			c->del |= STORE_F_PASSED;
			c->add &= ~(unsigned)STORE_F_PASSED;
		}
		return 0;
	}
	/* The last word on a keyword wins. */
	kw_remove(c->kw_add, &c->nkw_add, kw);
	kw_remove(c->kw_del, &c->nkw_del, kw);
	if (c->nkw_add + c->nkw_del >= CORE_KEYWORD_CHANGES)
		return set_cause(
		    cause, "more than %d keywords", CORE_KEYWORD_CHANGES);
	if (add) {
		c->kw_add =
		    xreallocarray(c->kw_add, c->nkw_add + 1, sizeof *c->kw_add);
		c->kw_add[c->nkw_add++] = xstrdup(kw);
	} else {
		c->kw_del =
		    xreallocarray(c->kw_del, c->nkw_del + 1, sizeof *c->kw_del);
		c->kw_del[c->nkw_del++] = xstrdup(kw);
	}
	return 0;
}

int
core_flag_change_parse(
    const char *spec, struct core_flag_change *c, char **cause)
{
	const char *p = spec, *end;
	char *word;
	int ret;

	while (*p != '\0') {
		if (*p == ' ') {
			p++;
			continue;
		}
		end = strchr(p, ' ');
		if (end == NULL)
			end = p + strlen(p);
		if ((*p == '+' || *p == '-') &&
		    strncmp(p + 1, CORE_KW_PREFIX, strlen(CORE_KW_PREFIX)) ==
		        0) {
			word = xstrndup(p + 1 + strlen(CORE_KW_PREFIX),
			    (size_t)(end - p) - 1 - strlen(CORE_KW_PREFIX));
			ret =
			    core_flag_change_keyword(c, *p == '+', word, cause);
			free(word);
			if (ret != 0)
				return -1;
		} else {
			word = xstrndup(p, (size_t)(end - p));
			ret = store_flags_parse(word, &c->add, &c->del);
			if (ret != 0)
				set_cause(cause,
				    "'%s': flags are letters of DFPRST after + "
				    "or -, keywords +" CORE_KW_PREFIX
				    "WORD or -" CORE_KW_PREFIX "WORD",
				    word);
			free(word);
			if (ret != 0)
				return -1;
		}
		p = end;
	}
	return 0;
}

char *
core_flag_change_format(const struct core_flag_change *c)
{
	struct buf b;
	char letters[8];
	size_t i;

	buf_init(&b, 0);
	if (c->add) {
		store_flags_str(c->add, letters);
		buf_printf(&b, "+%s", letters);
	}
	if (c->del) {
		store_flags_str(c->del, letters);
		buf_printf(&b, "%s-%s", b.len ? " " : "", letters);
	}
	for (i = 0; i < c->nkw_add; i++)
		buf_printf(&b, "%s+" CORE_KW_PREFIX "%s", b.len ? " " : "",
		    c->kw_add[i]);
	for (i = 0; i < c->nkw_del; i++)
		buf_printf(&b, "%s-" CORE_KW_PREFIX "%s", b.len ? " " : "",
		    c->kw_del[i]);
	return buf_steal(&b, NULL);
}

char *
core_keywords_apply(const char *keywords, const struct core_flag_change *c)
{
	char **v = NULL;
	size_t n = 0, i;
	const char *p = keywords != NULL ? keywords : "", *end;
	struct buf b;

	while (*p != '\0') {
		if (*p == ' ') {
			p++;
			continue;
		}
		end = strchr(p, ' ');
		if (end == NULL)
			end = p + strlen(p);
		v = xreallocarray(v, n + 1, sizeof *v);
		v[n++] = xstrndup(p, (size_t)(end - p));
		p = end;
	}
	for (i = 0; i < c->nkw_del; i++)
		kw_remove(v, &n, c->kw_del[i]);
	for (i = 0; i < c->nkw_add; i++) {
		if (!kw_in(v, n, c->kw_add[i])) {
			v = xreallocarray(v, n + 1, sizeof *v);
			v[n++] = xstrdup(c->kw_add[i]);
		}
	}
	buf_init(&b, 0);
	for (i = 0; i < n; i++) {
		buf_printf(&b, "%s%s", i ? " " : "", v[i]);
		free(v[i]);
	}
	free(v);
	return buf_steal(&b, NULL);
}
