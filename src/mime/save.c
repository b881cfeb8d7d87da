/*
 * Attachments to files, and opening them through mailcap (RFC 1524).
 *
 * A name from a message is never a path: only its last component is kept,
 * control characters, bidi overrides and path separators are dropped, a
 * leading dot is removed (no hidden files, no ".."), its length is
 * bounded, and the file is created with O_EXCL|O_NOFOLLOW so nothing that
 * exists is ever overwritten or followed.
 *
 * A mailcap command is the user's own shell text; the file path and the
 * type are passed to it as positional arguments ("$1", "$2"), so the shell
 * never parses a string that came from the message.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mime-private.h"

#define NAME_MAX_BYTES 200

static int
unsafe_cp(uint32_t c)
{
	return c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) ||
	    (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) ||
	    c == 0x200e || c == 0x200f || c == 0x061c || c == 0xfeff ||
	    c == '/' || c == '\\';
}

static uint32_t
cp_at(const unsigned char *s, size_t n)
{
	uint32_t c;

	if (n == 1)
		return s[0];
	c = s[0] & (0xff >> (n + 1));
	for (size_t i = 1; i < n; i++)
		c = (c << 6) | (s[i] & 0x3f);
	return c;
}

/* A safe file name from a message-supplied one; NULL if nothing is left. */
static char *
safe_name(const char *name)
{
	const char *base, *p;
	struct buf b;
	size_t i, len, start;

	if (name == NULL)
		return NULL;
	/* The last component, for '/' and '\\' alike. */
	base = name;
	for (p = name; *p != '\0'; p++) {
		if (*p == '/' || *p == '\\')
			base = p + 1;
	}
	buf_init(&b, 0);
	len = strlen(base);
	for (i = 0; i < len;) {
		size_t n =
		    mime_utf8_seq((const unsigned char *)base + i, len - i);

		if (base[i] == '\0')
			break;
		if (n == 0) {
			i++;
			continue;
		}
		if (!unsafe_cp(cp_at((const unsigned char *)base + i, n)) &&
		    b.len + n <= NAME_MAX_BYTES)
			(void)buf_add(&b, base + i, n);
		i += n;
	}
	/* No leading dots or spaces, no trailing spaces. */
	start = 0;
	while (start < b.len && (b.data[start] == '.' || b.data[start] == ' '))
		start++;
	buf_consume(&b, start);
	while (b.len > 0 && b.data[b.len - 1] == ' ')
		b.data[--b.len] = '\0';
	if (b.len == 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b, NULL);
}

char *
mime_attachment_name(const struct mime_msg *m, size_t i)
{
	const struct part *p;
	char *s;

	if (i >= m->n)
		return xstrdup("attachment");
	p = &m->parts[i];
	if ((s = safe_name(p->filename)) != NULL)
		return s;
	return xasprintf("attachment-%s", p->section[0] ? p->section : "0");
}

static int
write_to(void *arg, const char *data, size_t len)
{
	return write_all(*(int *)arg, data, len);
}

int
mime_attachment_save(const struct mime_msg *m, size_t i, const char *dir,
    char **path_out, char **cause)
{
	char *name = NULL, *path = NULL;
	const char *dot;
	int fd = -1, rc = -1, k;

	*path_out = NULL;
	if (i >= m->n)
		return set_cause(cause, "no part %zu in this message", i);
	name = mime_attachment_name(m, i);
	dot = strrchr(name, '.');
	if (dot == name)
		dot = NULL;
	for (k = 0; k < 1000; k++) {
		free(path);
		if (k == 0)
			path = xasprintf("%s/%s", dir, name);
		else if (dot != NULL)
			path = xasprintf("%s/%.*s-%d%s", dir, (int)(dot - name),
			    name, k, dot);
		else
			path = xasprintf("%s/%s-%d", dir, name, k);
		fd = open(path,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0) {
		set_cause(cause, "cannot create %s: %s", path,
		    k == 1000 ? "too many files of that name"
		              : strerror(errno));
		goto out;
	}
	/* Decoded a piece at a time: a big attachment is never whole in
	 * memory. */
	if (mime_part_decode_to(m, i, write_to, &fd) != 0 || fsync(fd) != 0) {
		set_cause(cause, "cannot write %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		goto out;
	}
	if (close(fd) != 0) {
		set_cause(cause, "cannot write %s: %s", path, strerror(errno));
		unlink(path);
		goto out;
	}
	*path_out = path;
	path = NULL;
	rc = 0;
out:
	free(path);
	free(name);
	return rc;
}

/* Mailcap. */

void
mime_mailcap_clear(struct mime_mailcap *mc)
{
	free(mc->type);
	free(mc->command);
	memset(mc, 0, sizeof *mc);
}

static int
type_matches(const char *pattern, const char *type)
{
	size_t pl = strlen(pattern);

	if (ascii_strcasecmp(pattern, type) == 0)
		return 1;
	/* "image/ *" (without the space) and "image" match every subtype. */
	if (pl >= 2 && strcmp(pattern + pl - 2, "/*") == 0)
		return ascii_strncasecmp(pattern, type, pl - 1) == 0;
	if (strchr(pattern, '/') == NULL)
		return ascii_strncasecmp(pattern, type, pl) == 0 &&
		    type[pl] == '/';
	return 0;
}

/*
 * Turn a mailcap command into shell text that refers to its arguments:
 * %s -> "$1", %t -> "$2", %% -> %, other %-codes dropped. Sets *has_s.
 */
static char *
shell_command(const char *cmd, int *has_s)
{
	struct buf b;
	size_t i;

	*has_s = 0;
	buf_init(&b, 0);
	for (i = 0; cmd[i] != '\0'; i++) {
		if (cmd[i] == '\\' && cmd[i + 1] != '\0') {
			(void)buf_addc(&b, cmd[i]);
			(void)buf_addc(&b, cmd[++i]);
			continue;
		}
		if (cmd[i] != '%') {
			(void)buf_addc(&b, cmd[i]);
			continue;
		}
		switch (cmd[i + 1]) {
		case 's':
			(void)buf_adds(&b, "\"$1\"");
			*has_s = 1;
			i++;
			break;
		case 't':
			(void)buf_adds(&b, "\"$2\"");
			i++;
			break;
		case '%':
			(void)buf_addc(&b, '%');
			i++;
			break;
		case '{': {
			/* %{param}: not passed; an empty string. */
			const char *e = strchr(cmd + i, '}');

			(void)buf_adds(&b, "''");
			i = e ? (size_t)(e - cmd) : strlen(cmd) - 1;
			break;
		}
		case '\0':
			(void)buf_addc(&b, '%');
			break;
		default:
			i++;
			break;
		}
	}
	return buf_steal(&b, NULL);
}

/* Run sh -c cmd with $1 = path, $2 = type; stdin from path if needed. */
static int
run(const char *cmd, const char *path, const char *type, int quiet,
    char **cause)
{
	int has_s, status;
	char *sh = shell_command(cmd, &has_s);
	pid_t pid = fork();

	if (pid < 0) {
		free(sh);
		return set_cause(cause, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		if (!has_s) {
			int fd = open(path, O_RDONLY);

			if (fd >= 0)
				dup2(fd, 0);
		}
		if (quiet) {
			int fd = open("/dev/null", O_WRONLY);

			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
			}
		}
		execl(
		    "/bin/sh", "sh", "-c", sh, "sh", path, type, (char *)NULL);
		_exit(127);
	}
	free(sh);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return set_cause(cause, "waitpid: %s", strerror(errno));
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

int
mime_mailcap_run(const struct mime_mailcap *mc, const char *path,
    const char *type, char **cause)
{
	return run(mc->command, path, type, 0, cause);
}

/* Split a mailcap line into fields at unescaped ';'. */
static size_t
fields(char *line, char **f, size_t max)
{
	size_t n = 0;
	char *p = line, *start = line;

	for (; *p != '\0' && n < max; p++) {
		if (*p == '\\' && p[1] != '\0') {
			p++;
			continue;
		}
		if (*p == ';') {
			*p = '\0';
			f[n++] = start;
			start = p + 1;
		}
	}
	if (n < max)
		f[n++] = start;
	for (size_t i = 0; i < n; i++) {
		char *s = f[i], *e;

		while (*s == ' ' || *s == '\t')
			s++;
		e = s + strlen(s);
		while (
		    e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n'))
			*--e = '\0';
		f[i] = s;
	}
	return n;
}

static int
find_in(const char *file, const char *type, struct mime_mailcap *mc)
{
	struct buf text, line;
	size_t i = 0;
	int found = 0;

	buf_init(&text, 0);
	buf_init(&line, 0);
	if (read_file(file, 4 * 1024 * 1024, &text, NULL) != 0)
		goto out;
	while (i < text.len && !found) {
		char *f[32];
		size_t nf, k;
		struct mime_mailcap e;

		/* A logical line: backslash-newline continues it. */
		buf_reset(&line);
		while (i < text.len && text.data[i] != '\n') {
			if (text.data[i] == '\\' && i + 1 < text.len &&
			    text.data[i + 1] == '\n') {
				i += 2;
				continue;
			}
			(void)buf_addc(&line, text.data[i++]);
		}
		i++;
		if (line.len == 0 || line.data[0] == '#')
			continue;
		nf = fields(line.data, f, TERN_NELEM(f));
		if (nf < 2 || !type_matches(f[0], type))
			continue;
		memset(&e, 0, sizeof e);
		e.type = xstrdup(f[0]);
		e.command = xstrdup(f[1]);
		found = 1;
		for (k = 2; k < nf; k++) {
			if (ascii_strcasecmp(f[k], "needsterminal") == 0)
				e.needsterminal = 1;
			else if (ascii_strcasecmp(f[k], "copiousoutput") == 0)
				e.copiousoutput = 1;
			else if (ascii_strncasecmp(f[k], "test=", 5) == 0 &&
			    run(f[k] + 5, "/dev/null", type, 1, NULL) != 0)
				found = 0;
		}
		if (found)
			*mc = e;
		else
			mime_mailcap_clear(&e);
	}
out:
	buf_free(&text);
	buf_free(&line);
	return found;
}

int
mime_mailcap_find(
    const char *files, const char *type, struct mime_mailcap *mc, char **cause)
{
	char *list, *save = NULL, *f, *home_mc = NULL;
	int found = 0;

	memset(mc, 0, sizeof *mc);
	if (files == NULL)
		files = getenv("MAILCAPS");
	if (files == NULL) {
		const char *home = getenv("HOME");

		home_mc = xasprintf(
		    "%s/.mailcap:/etc/mailcap", home ? home : "/nonexistent");
		files = home_mc;
	}
	list = xstrdup(files);
	for (f = strtok_r(list, ":", &save); f != NULL && !found;
	     f = strtok_r(NULL, ":", &save))
		found = find_in(f, type, mc);
	free(list);
	free(home_mc);
	(void)cause;
	return found;
}

int
mime_attachment_open(
    const struct mime_msg *m, size_t i, const char *mailcap_files, char **cause)
{
	struct mime_mailcap mc;
	char tmpl[] = "/tmp/tern-XXXXXX";
	const char *tmp = getenv("TMPDIR");
	char *dir = NULL, *path = NULL;
	const char *type;
	int rc = -1, r;

	if (i >= m->n)
		return set_cause(cause, "no part %zu in this message", i);
	type = m->parts[i].type;
	if ((r = mime_mailcap_find(mailcap_files, type, &mc, cause)) <= 0)
		return r < 0
		    ? -1
		    : set_cause(cause,
		          "no mailcap entry for %s; save it instead", type);
	if (tmp != NULL && *tmp != '\0')
		dir = xasprintf("%s/tern-XXXXXX", tmp);
	else
		dir = xstrdup(tmpl);
	if (mkdtemp(dir) == NULL) {
		set_cause(cause, "cannot create a temporary directory: %s",
		    strerror(errno));
		goto out;
	}
	if (mime_attachment_save(m, i, dir, &path, cause) != 0)
		goto out;
	rc = mime_mailcap_run(&mc, path, type, cause);
	unlink(path);
out:
	if (dir != NULL)
		rmdir(dir);
	free(path);
	free(dir);
	mime_mailcap_clear(&mc);
	return rc;
}
