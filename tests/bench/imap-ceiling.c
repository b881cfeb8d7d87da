/*
 * The wire ceiling for the IMAP index benchmark: log in over plain TCP,
 * SELECT INBOX, send one UID FETCH 1:* of the items tern's index asks for,
 * and read the response to its tagged end without parsing it. Whatever
 * tern does beyond this (TLS aside) is its cost.
 *
 * With "newest N", the UID FETCH asks only for the N highest UIDs (from
 * the UIDNEXT of the SELECT): the least any client must wait for before
 * it can show the newest messages of a folder it has never seen. With
 * "bodies", it asks for whole messages (BODY.PEEK[]) instead: the
 * ceiling of a download of every body.
 *
 * usage: imap-ceiling PORT USER PASS [newest N | bodies]
 * Prints "MESSAGES BYTES SECONDS": the folder's EXISTS, the bytes of the
 * FETCH response, and the time from connect to LOGOUT.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ITEMS \
	"(UID FLAGS INTERNALDATE RFC822.SIZE MODSEQ BODY.PEEK[HEADER.FIELDS " \
	"(DATE FROM TO CC SUBJECT MESSAGE-ID IN-REPLY-TO REFERENCES " \
	"CONTENT-TYPE)])"

static int fd;
static char buf[1 << 20];
/* The last bytes read by until(): its tagged line, and what came before. */
static char tail[8192];
static size_t tlen;

static void
say(const char *s)
{
	if (write(fd, s, strlen(s)) < 0)
		exit(1);
}

/*
 * Read until a line starting with tag has arrived; returns the bytes read.
 * Keeps the last bytes across reads so a line split between two reads is
 * still found. exists gets the last "* N EXISTS" seen, when not NULL.
 */
static size_t
until(const char *tag, unsigned long *exists)
{
	size_t total = 0, tg = strlen(tag);

	tlen = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n <= 0) {
			fprintf(stderr, "imap-ceiling: connection closed\n");
			exit(1);
		}
		total += (size_t)n;
		/* Keep at most the last 4096 bytes of the old tail. */
		if (tlen > 4096) {
			memmove(tail, tail + tlen - 4096, 4096);
			tlen = 4096;
		}
		size_t take = (size_t)n > 4096 ? 4096 : (size_t)n;
		memcpy(tail + tlen, buf + n - take, take);
		tlen += take;
		if (exists) {
			char *p = buf;
			while ((p = memmem(p, (size_t)(buf + n - p),
			            " EXISTS\r\n", 9)) != NULL) {
				char *q = p;
				while (q > buf && q[-1] >= '0' && q[-1] <= '9')
					q--;
				*exists = strtoul(q, NULL, 10);
				p += 9;
			}
		}
		for (size_t i = 0; i + tg <= tlen; i++) {
			if ((i == 0 || tail[i - 1] == '\n') &&
			    memcmp(tail + i, tag, tg) == 0 &&
			    memchr(tail + i, '\n', tlen - i) != NULL) {
				if (memcmp(tail + i + tg, "OK", 2) != 0) {
					fprintf(stderr, "imap-ceiling: %.*s",
					    (int)(tlen - i), tail + i);
					exit(1);
				}
				return total;
			}
		}
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa;
	struct timespec t0, t1;
	char cmd[1024];
	unsigned long exists = 0, newest = 0, uidnext = 0;
	size_t bytes;
	const char *p;
	int bodies = 0;

	if (argc == 6 && strcmp(argv[4], "newest") == 0)
		newest = strtoul(argv[5], NULL, 10);
	else if (argc == 5 && strcmp(argv[4], "bodies") == 0)
		bodies = 1;
	else if (argc != 4)
		return 2;
	if (argc == 6 && newest == 0)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
		return 1;
	snprintf(cmd, sizeof cmd,
	    "a1 LOGIN \"%s\" \"%s\"\r\na2 ENABLE CONDSTORE\r\n"
	    "a3 SELECT INBOX\r\n",
	    argv[2], argv[3]);
	say(cmd);
	until("a3 ", &exists);
	if (bodies)
		say("a4 UID FETCH 1:* (UID BODY.PEEK[])\r\n");
	else if (newest == 0)
		say("a4 UID FETCH 1:* " ITEMS "\r\n");
	else {
		/* The SELECT's answer is short: it is all in the tail. */
		if ((p = memmem(tail, tlen, "[UIDNEXT ", 9)) != NULL)
			uidnext = strtoul(p + 9, NULL, 10);
		if (uidnext == 0) {
			fprintf(stderr, "imap-ceiling: no UIDNEXT\n");
			return 1;
		}
		snprintf(cmd, sizeof cmd, "a4 UID FETCH %lu:* " ITEMS "\r\n",
		    uidnext > newest ? uidnext - newest : 1);
		say(cmd);
	}
	bytes = until("a4 ", NULL);
	say("a5 LOGOUT\r\n");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(fd);
	printf("%lu %zu %.3f\n", exists, bytes,
	    (double)(t1.tv_sec - t0.tv_sec) +
	        (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}
