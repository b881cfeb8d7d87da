/*
 * Internals shared by the files of the archive module.
 */
#ifndef TERN_ARCHIVE_PRIVATE_H
#define TERN_ARCHIVE_PRIVATE_H

#include "tern/archive.h"

/* The largest message read from a Maildir file. */
#define ARCHIVE_MSG_MAX (256u * 1024 * 1024)

/*
 * The message files of a Maildir (new/ then cur/, each sorted by name),
 * as paths relative to dir ("cur/NAME"). -1 with cause if dir has neither
 * cur/ nor new/.
 */
int archive_maildir_list(
    const char *dir, char ***names, size_t *n, char **cause);
void archive_maildir_list_free(char **names, size_t n);
/*
 * The Maildirs of a Maildir++ tree, sorted: "" for dir itself when it
 * has cur/ or new/, and each ".A.B" below it that has; free with
 * archive_maildir_list_free. -1 with cause when there is none.
 */
int archive_maildir_tree(
    const char *dir, char ***subs, size_t *n, char **cause);
/* Make dir/cur, dir/new, dir/tmp. */
int archive_maildir_make(const char *dir, char **cause);
/*
 * Write one message into dir/cur under a unique name with its flags and
 * keywords (letters from map, which takes in new words; *lost counts
 * those past its 26 letters).
 */
int archive_maildir_write(const char *dir, const void *raw, size_t len,
    unsigned flags, const char *keywords, struct archive_kwmap *map,
    int64_t date, uint64_t *lost, char **cause);
/* Write map as dir/dovecot-keywords (nothing when it is empty). */
int archive_kwmap_write(
    const char *dir, const struct archive_kwmap *map, char **cause);

#endif
