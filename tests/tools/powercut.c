/*
 * powercut: an LD_PRELOAD library that shows what a power cut would leave.
 *
 * A killed process loses nothing the kernel holds, so a kill -9 test
 * cannot tell a store that syncs before it deletes on the server from one
 * that does not. Here every fsync or fdatasync of a file under
 * $POWERCUT_WATCH copies that file, as it is then, into $POWERCUT_OUT/
 * synced/: the disk as a power cut would find it, whatever was written
 * since being lost. Each time the program sends a POP3 DELE, synced/ is
 * copied to $POWERCUT_OUT/cut-K (K = 1, 2, ...), and the message numbers
 * of the DELEs in that send are written to cut-K.dele, one a line. A test
 * opens each cut-K as a store: every message whose DELE had gone by then
 * must be in it, whole.
 *
 * Directory entries are taken as synced with their file, a file never
 * synced as absent, and unlink and ftruncate as lasting at once. Only for
 * tests.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int cuts;

static void
die(const char *what)
{
	fprintf(stderr, "powercut: %s: %s\n", what, strerror(errno));
	_exit(99);
}

static void
mkdirs(const char *path)
{
	char tmp[PATH_MAX], *p;

	snprintf(tmp, sizeof tmp, "%s", path);
	for (p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
			die(tmp);
		*p = '/';
	}
	if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
		die(tmp);
}

static void
copy_file(const char *from, const char *to)
{
	char buf[65536], tmp[PATH_MAX + 32];
	int in, out;
	ssize_t n;

	if ((in = open(from, O_RDONLY | O_CLOEXEC)) < 0)
		die(from);
	snprintf(tmp, sizeof tmp, "%s.part", to);
	if ((out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) <
	    0)
		die(tmp);
	while ((n = read(in, buf, sizeof buf)) > 0) {
		if (write(out, buf, (size_t)n) != n)
			die(tmp);
	}
	if (n < 0)
		die(from);
	close(in);
	close(out);
	if (rename(tmp, to) != 0)
		die(to);
}

/* The copy in synced/ of path, if path is watched: 1, else 0. */
static int
synced_path(const char *path, char *dst, size_t size)
{
	const char *watch = getenv("POWERCUT_WATCH");
	const char *out = getenv("POWERCUT_OUT");
	size_t wl;

	if (watch == NULL || out == NULL)
		return 0;
	wl = strlen(watch);
	if (strncmp(path, watch, wl) != 0 || path[wl] != '/')
		return 0;
	snprintf(dst, size, "%s/synced%s", out, path + wl);
	return 1;
}

/* The path of fd, if it is a watched regular file: 1, else 0. */
static int
fd_path(int fd, char *path, size_t size)
{
	char link[64];
	struct stat sb;
	ssize_t n;

	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
		return 0;
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	if ((n = readlink(link, path, size - 1)) <= 0)
		return 0;
	path[n] = '\0';
	return 1;
}

/* The file behind fd, as it is now, into synced/ (lock held). */
static void
record(int fd)
{
	char path[PATH_MAX], dst[PATH_MAX + 16], dir[PATH_MAX + 16], *slash;

	if (!fd_path(fd, path, sizeof path) ||
	    !synced_path(path, dst, sizeof dst))
		return;
	snprintf(dir, sizeof dir, "%s", dst);
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		mkdirs(dir);
	}
	copy_file(path, dst);
}

static void
copy_tree(const char *from, const char *to)
{
	char cmd[3 * PATH_MAX];

	snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", from, to);
	if (system(cmd) != 0)
		die("cp");
}

/* A send: if it carries DELEs, the disk as it stands is a cut. */
static void
on_send(const void *data, size_t len)
{
	const char *out = getenv("POWERCUT_OUT"), *p, *end;
	char synced[PATH_MAX], cut[PATH_MAX], list[PATH_MAX + 8];
	FILE *f;

	if (out == NULL || len < 5 || memmem(data, len, "DELE ", 5) == NULL)
		return;
	pthread_mutex_lock(&lock);
	cuts++;
	snprintf(synced, sizeof synced, "%s/synced", out);
	snprintf(cut, sizeof cut, "%s/cut-%d", out, cuts);
	mkdirs(synced);
	copy_tree(synced, cut);
	snprintf(list, sizeof list, "%s.dele", cut);
	if ((f = fopen(list, "w")) == NULL)
		die(list);
	for (p = data, end = p + len;
	     (p = memmem(p, (size_t)(end - p), "DELE ", 5)) != NULL; p += 5)
		fprintf(f, "%ld\n", strtol(p + 5, NULL, 10));
	fclose(f);
	pthread_mutex_unlock(&lock);
}

typedef int (*sync_fn)(int);
typedef int (*unlink_fn)(const char *);
typedef int (*ftruncate_fn)(int, off_t);
typedef ssize_t (*send_fn)(int, const void *, size_t, int);
typedef ssize_t (*sendto_fn)(
    int, const void *, size_t, int, const struct sockaddr *, socklen_t);

/* The next definition of name, the C library's. */
static void *
next(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (p == NULL) {
		fprintf(stderr, "powercut: no %s\n", name);
		_exit(99);
	}
	return p;
}

static int
synced(sync_fn *real, const char *name, int fd)
{
	int rc;

	if (*real == NULL) {
		void *p = next(name);

		memcpy(real, &p, sizeof p);
	}
	if ((rc = (*real)(fd)) == 0) {
		pthread_mutex_lock(&lock);
		record(fd);
		pthread_mutex_unlock(&lock);
	}
	return rc;
}

int
fsync(int fd)
{
	static sync_fn real;

	return synced(&real, "fsync", fd);
}

int
fdatasync(int fd)
{
	static sync_fn real;

	return synced(&real, "fdatasync", fd);
}

ssize_t
send(int fd, const void *data, size_t len, int flags)
{
	static send_fn real;

	if (real == NULL) {
		void *p = next("send");

		memcpy(&real, &p, sizeof p);
	}
	on_send(data, len);
	return real(fd, data, len, flags);
}

/*
 * Removing and cutting a file are taken as lasting at once, as a
 * journalled file system orders them: the copy follows.
 */
int
unlink(const char *path)
{
	static unlink_fn real;
	char dst[PATH_MAX + 16];
	int rc;

	if (real == NULL) {
		void *p = next("unlink");

		memcpy(&real, &p, sizeof p);
	}
	if ((rc = real(path)) == 0 && synced_path(path, dst, sizeof dst)) {
		pthread_mutex_lock(&lock);
		(void)real(dst);
		pthread_mutex_unlock(&lock);
	}
	return rc;
}

static int
cut(const char *name, int fd, off_t len)
{
	static ftruncate_fn real;
	char path[PATH_MAX], dst[PATH_MAX + 16];
	struct stat sb;
	int rc;

	if (real == NULL) {
		void *p = next(name);

		memcpy(&real, &p, sizeof p);
	}
	if ((rc = real(fd, len)) == 0 && fd_path(fd, path, sizeof path) &&
	    synced_path(path, dst, sizeof dst)) {
		pthread_mutex_lock(&lock);
		if (stat(dst, &sb) == 0 && sb.st_size > len)
			(void)truncate(dst, len);
		pthread_mutex_unlock(&lock);
	}
	return rc;
}

/* ftruncate64 with 64-bit offsets, as the store and SQLite are built. */
int
ftruncate(int fd, off_t len)
{
	return cut(sizeof(off_t) == 8 ? "ftruncate64" : "ftruncate", fd, len);
}
