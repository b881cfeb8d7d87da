/*
 * A message's keyword list, as core/flags.c makes it.
 */
#include <stdlib.h>
#include <string.h>

#include "store-private.h"

int
store_msg_set_keywords(
    struct store *s, int64_t id, const char *keywords, char **cause)
{
	static const char q[] = "UPDATE message SET keywords = ? WHERE id = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, keywords != NULL && *keywords ? keywords : NULL);
	sqlite3_bind_int64(st, 2, id);
	return store_step_done(s, st, "changing keywords", cause);
}
