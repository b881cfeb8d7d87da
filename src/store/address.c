/*
 * Address completion: the senders of stored mail, most frequent first.
 */
#include <stdlib.h>
#include <string.h>

#include "store-private.h"

int
store_senders(struct store *s, const char *text, size_t limit, char ***v,
    size_t *n, char **cause)
{
	static const char q[] =
	    "SELECT from_ FROM message WHERE from_ LIKE ? ESCAPE '\\'"
	    " GROUP BY from_ ORDER BY count(*) DESC, from_ LIMIT ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);
	struct buf pat;
	const char *p;
	int rc;

	*v = NULL;
	*n = 0;
	if (st == NULL)
		return -1;
	/* What was typed, anywhere in the name or the address. */
	buf_init(&pat, 0);
	buf_addc(&pat, '%');
	for (p = text; *p != '\0'; p++) {
		if (*p == '%' || *p == '_' || *p == '\\')
			buf_addc(&pat, '\\');
		buf_addc(&pat, *p);
	}
	buf_addc(&pat, '%');
	store_bind_text(st, 1, pat.data);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)(limit ? limit : 20));
	buf_free(&pat);
	*v = xcalloc(1, sizeof **v);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char *from = store_column_text(st, 0);

		if (from == NULL)
			continue;
		*v = xreallocarray(*v, *n + 2, sizeof **v);
		(*v)[(*n)++] = from;
		(*v)[*n] = NULL;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		size_t i;

		for (i = 0; i < *n; i++)
			free((*v)[i]);
		free(*v);
		*v = NULL;
		*n = 0;
		return store_error(s, "looking up addresses", cause);
	}
	return 0;
}
