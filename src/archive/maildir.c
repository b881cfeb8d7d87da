/*
 * Maildir reading and writing: one file per message, flags in the name
 * after ":2," as sorted letters (D draft, F flagged, P passed, R replied,
 * S seen, T trashed), then keywords as Dovecot writes them, lower-case
 * letters that the Maildir's dovecot-keywords file names ("0 $Label1"
 * for 'a'); written to tmp/ and renamed into cur/.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "archive-private.h"
#include "tern/store.h"

unsigned
archive_maildir_flags(const char *name)
{
	static const char letters[] = "DFPRST";
	const char *info = strrchr(name, ':'), *p, *l;
	unsigned flags = 0;

	if (info == NULL || strncmp(info, ":2,", 3) != 0)
		return 0;
	for (p = info + 3; *p != '\0'; p++) {
		if ((l = strchr(letters, *p)) != NULL)
			flags |= 1u << (l - letters);
	}
	return flags;
}

void
archive_kwmap_clear(struct archive_kwmap *map)
{
	size_t i;

	for (i = 0; i < ARCHIVE_MAILDIR_KEYWORDS; i++)
		free(map->word[i]);
	memset(map, 0, sizeof *map);
}

void
archive_kwmap_read(const char *dir, struct archive_kwmap *map)
{
	char *path = xasprintf("%s/dovecot-keywords", dir), *line, *save = NULL;
	struct buf b;

	memset(map, 0, sizeof *map);
	buf_init(&b, 0);
	/* A missing or unreadable file: the letters name nothing. */
	if (read_file(path, 1024 * 1024, &b, NULL) != 0 || b.len == 0)
		goto out;
	for (line = strtok_r(b.data, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char *end, *w;
		unsigned long i = strtoul(line, &end, 10);

		if (end == line || *end != ' ' || i >= ARCHIVE_MAILDIR_KEYWORDS)
			continue;
		w = end + 1;
		w[strcspn(w, "\r")] = '\0';
		if (store_keyword_check(w, NULL) != 0)
			continue;
		free(map->word[i]);
		map->word[i] = xstrdup(w);
	}
out:
	buf_free(&b);
	free(path);
}

char *
archive_maildir_keywords(const char *name, const struct archive_kwmap *map)
{
	const char *info = strrchr(name, ':'), *p;
	struct buf b;

	if (info == NULL || strncmp(info, ":2,", 3) != 0)
		return NULL;
	buf_init(&b, 0);
	for (p = info + 3; *p != '\0'; p++) {
		const char *w;

		if (*p < 'a' || *p > 'z' || (w = map->word[*p - 'a']) == NULL)
			continue;
		(void)buf_printf(&b, "%s%s", b.len ? " " : "", w);
	}
	return buf_steal(&b, NULL);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
archive_maildir_list_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int
archive_maildir_list(const char *dir, char ***names, size_t *n, char **cause)
{
	static const char *subs[] = { "new", "cur" };
	size_t i, first;
	int found = 0;

	*names = NULL;
	*n = 0;
	for (i = 0; i < TERN_NELEM(subs); i++) {
		char *path = xasprintf("%s/%s", dir, subs[i]);
		struct dirent *de;
		DIR *dp = opendir(path);

		free(path);
		if (dp == NULL) {
			if (errno == ENOENT || errno == ENOTDIR)
				continue;
			archive_maildir_list_free(*names, *n);
			return set_cause(
			    cause, "%s/%s: %s", dir, subs[i], strerror(errno));
		}
		found = 1;
		first = *n;
		while ((de = readdir(dp)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			*names = xreallocarray(*names, *n + 1, sizeof **names);
			(*names)[(*n)++] =
			    xasprintf("%s/%s", subs[i], de->d_name);
		}
		closedir(dp);
		/* An empty cur/ leaves *names NULL: qsort may not see it. */
		if (*n > first)
			qsort(*names + first, *n - first, sizeof **names,
			    name_cmp);
	}
	if (!found)
		return set_cause(
		    cause, "%s is not a Maildir (it has no cur/ or new/)", dir);
	return 0;
}

static int
has_maildir(const char *dir)
{
	static const char *subs[] = { "cur", "new" };
	struct stat sb;
	size_t i;

	for (i = 0; i < TERN_NELEM(subs); i++) {
		char *p = xasprintf("%s/%s", dir, subs[i]);
		int rc = stat(p, &sb);

		free(p);
		if (rc == 0 && S_ISDIR(sb.st_mode))
			return 1;
	}
	return 0;
}

int
archive_maildir_tree(const char *dir, char ***subs, size_t *n, char **cause)
{
	struct dirent *de;
	DIR *dp;

	*subs = NULL;
	*n = 0;
	if ((dp = opendir(dir)) == NULL)
		return set_cause(cause, "%s: %s", dir, strerror(errno));
	if (has_maildir(dir)) {
		*subs = xreallocarray(NULL, 1, sizeof **subs);
		(*subs)[(*n)++] = xstrdup("");
	}
	while ((de = readdir(dp)) != NULL) {
		char *p;

		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		p = xasprintf("%s/%s", dir, de->d_name);
		if (has_maildir(p)) {
			*subs = xreallocarray(*subs, *n + 1, sizeof **subs);
			(*subs)[(*n)++] = xstrdup(de->d_name);
		}
		free(p);
	}
	closedir(dp);
	if (*n == 0)
		return set_cause(cause,
		    "%s is not a Maildir++ tree (no cur/ or new/, and no "
		    ".Folder that has them)",
		    dir);
	qsort(*subs, *n, sizeof **subs, name_cmp);
	return 0;
}

int
archive_maildir_make(const char *dir, char **cause)
{
	static const char *subs[] = { "", "/cur", "/new", "/tmp" };
	size_t i;

	for (i = 0; i < TERN_NELEM(subs); i++) {
		char *p = xasprintf("%s%s", dir, subs[i]);
		int rc = mkdir_p(p, 0700, cause);

		free(p);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/*
 * The letters for keywords (space separated), taking new ones into map;
 * *lost counts those past the 26 letters.
 */
static void
keyword_letters(
    const char *keywords, struct archive_kwmap *map, char *out, uint64_t *lost)
{
	const char *p = keywords != NULL ? keywords : "", *end;
	unsigned have = 0;
	size_t i, o = 0;

	while (*p != '\0') {
		char *w;

		if (*p == ' ') {
			p++;
			continue;
		}
		end = p + strcspn(p, " ");
		w = xstrndup(p, (size_t)(end - p));
		for (i = 0;
		     i < ARCHIVE_MAILDIR_KEYWORDS && map->word[i] != NULL &&
		     ascii_strcasecmp(map->word[i], w) != 0;
		     i++)
			;
		if (i == ARCHIVE_MAILDIR_KEYWORDS) {
			(*lost)++;
			free(w);
		} else {
			if (map->word[i] == NULL)
				map->word[i] = w;
			else
				free(w);
			have |= 1u << i;
		}
		p = end;
	}
	/* Sorted, as Dovecot writes them. */
	for (i = 0; i < ARCHIVE_MAILDIR_KEYWORDS; i++) {
		if (have & (1u << i))
			out[o++] = (char)('a' + i);
	}
	out[o] = '\0';
}

int
archive_kwmap_write(
    const char *dir, const struct archive_kwmap *map, char **cause)
{
	struct buf b;
	char *path;
	size_t i;
	int fd, ret = -1;

	if (map->word[0] == NULL)
		return 0;
	buf_init(&b, 0);
	for (i = 0; i < ARCHIVE_MAILDIR_KEYWORDS && map->word[i] != NULL; i++)
		(void)buf_printf(&b, "%zu %s\n", i, map->word[i]);
	path = xasprintf("%s/dovecot-keywords", dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) ==
	        -1 ||
	    write_all(fd, b.data, b.len) != 0)
		set_cause(cause, "%s: %s", path, strerror(errno));
	else
		ret = 0;
	if (fd != -1 && close(fd) != 0 && ret == 0)
		ret = set_cause(cause, "%s: %s", path, strerror(errno));
	free(path);
	buf_free(&b);
	return ret;
}

int
archive_maildir_write(const char *dir, const void *raw, size_t len,
    unsigned flags, const char *keywords, struct archive_kwmap *map,
    int64_t date, uint64_t *lost, char **cause)
{
	static unsigned long counter;
	char host[64], fl[8 + ARCHIVE_MAILDIR_KEYWORDS] = "", *tmp, *cur, *p;
	char kl[ARCHIVE_MAILDIR_KEYWORDS + 1];
	struct timeval tv;
	int fd, ret = -1;

	if (gethostname(host, sizeof host) != 0)
		snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';
	for (p = host; *p != '\0'; p++) {
		if (*p == '/' || *p == ':' || *p == '.')
			*p = '_';
	}
	gettimeofday(&tv, NULL);
	if (flags & STORE_F_ALL)
		store_flags_str(flags & STORE_F_ALL, fl);
	keyword_letters(keywords, map, kl, lost);
	strcat(fl, kl);
	tmp =
	    xasprintf("%s/tmp/%lld.M%ldP%ldQ%lu.%s", dir, (long long)tv.tv_sec,
	        (long)tv.tv_usec, (long)getpid(), ++counter, host);
	cur = xasprintf("%s/cur/%s:2,%s", dir, strrchr(tmp, '/') + 1, fl);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1) {
		set_cause(cause, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (write_all(fd, raw, len) != 0) {
		set_cause(cause, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) != 0 || rename(tmp, cur) != 0) {
		set_cause(cause, "%s: %s", cur, strerror(errno));
		unlink(tmp);
		goto out;
	}
	/* The file's time is the message's date, as mutt and Dovecot read. */
	if (date > 0) {
		struct timeval times[2];

		times[0].tv_sec = times[1].tv_sec = (time_t)date;
		times[0].tv_usec = times[1].tv_usec = 0;
		(void)utimes(cur, times);
	}
	ret = 0;
out:
	free(tmp);
	free(cur);
	return ret;
}
