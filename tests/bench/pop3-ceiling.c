/*
 * The wire ceiling for the POP3 benchmark: log in over plain TCP, pipeline
 * RETR 1..N with the same window as tern, find each reply's end and throw
 * the bytes away. Whatever tern does beyond this (TLS aside) is its cost.
 *
 * usage: pop3-ceiling PORT USER PASS [dele]
 * With "dele", each message is also deleted (DELE after its RETR, and the
 * QUIT that applies them): the ceiling of download-and-delete.
 * Prints "MESSAGES BYTES SECONDS".
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WINDOW 32

static int fd;
static char buf[65536];
static size_t blen, boff;

static int
fill(void)
{
	ssize_t n;

	if (boff == blen)
		boff = blen = 0;
	n = read(fd, buf + blen, sizeof buf - blen);
	if (n <= 0) {
		fprintf(stderr, "pop3-ceiling: connection closed\n");
		exit(1);
	}
	blen += (size_t)n;
	return 0;
}

/* One status line into line; exits unless it is +OK. */
static void
status(char *line, size_t max)
{
	size_t n = 0;

	for (;;) {
		char *nl;

		if (boff == blen)
			fill();
		nl = memchr(buf + boff, '\n', blen - boff);
		size_t take =
		    nl ? (size_t)(nl - (buf + boff)) + 1 : blen - boff;
		if (n + take < max) {
			memcpy(line + n, buf + boff, take);
			n += take;
		}
		boff += take;
		if (nl)
			break;
	}
	line[n < max ? n : max - 1] = '\0';
	if (strncmp(line, "+OK", 3) != 0) {
		fprintf(stderr, "pop3-ceiling: %s", line);
		exit(1);
	}
}

/* Skip a dot-terminated body; returns its size on the wire. */
static size_t
body(void)
{
	int st = 0; /* 0 BOL, 1 MID, 2 DOT, 3 DOTCR */
	size_t n = 0;

	for (;;) {
		if (boff == blen)
			fill();
		char c = buf[boff];
		if (st == 1) {
			char *nl = memchr(buf + boff, '\n', blen - boff);
			size_t take =
			    nl ? (size_t)(nl - (buf + boff)) + 1 : blen - boff;
			boff += take;
			n += take;
			if (nl)
				st = 0;
			continue;
		}
		boff++;
		n++;
		if (st == 0)
			st = c == '.' ? 2 : (c == '\n' ? 0 : 1);
		else if (st == 2)
			st = c == '\r' ? 3 : (c == '\n' ? 4 : 1);
		else if (st == 3)
			st = c == '\n' ? 4 : 1;
		if (st == 4)
			return n;
	}
}

static void
say(const char *s)
{
	if (write(fd, s, strlen(s)) < 0)
		exit(1);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa;
	struct timespec t0, t1;
	char line[512], cmd[4096];
	unsigned long n, sent = 1, got = 0;
	size_t bytes = 0, len;
	int dele;

	if (argc != 4 && argc != 5)
		return 2;
	dele = argc == 5;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
		return 1;
	status(line, sizeof line);
	snprintf(cmd, sizeof cmd, "USER %s\r\n", argv[2]);
	say(cmd);
	status(line, sizeof line);
	snprintf(cmd, sizeof cmd, "PASS %s\r\n", argv[3]);
	say(cmd);
	status(line, sizeof line);
	say("STAT\r\n");
	status(line, sizeof line);
	n = strtoul(line + 4, NULL, 10);
	while (got < n) {
		len = 0;
		while (sent <= n && sent - got - 1 < WINDOW) {
			len += (size_t)snprintf(cmd + len, sizeof cmd - len,
			    dele ? "RETR %lu\r\nDELE %lu\r\n" : "RETR %lu\r\n",
			    sent, sent);
			sent++;
		}
		if (len)
			say(cmd);
		status(line, sizeof line);
		bytes += body();
		if (dele)
			status(line, sizeof line);
		got++;
	}
	say("QUIT\r\n");
	status(line, sizeof line);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%lu %zu %.3f\n", n, bytes,
	    (double)(t1.tv_sec - t0.tv_sec) +
	        (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}
