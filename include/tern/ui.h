/*
 * ui: the full-screen client (ncurses). Reads everything from the store,
 * so it works offline; one worker thread per account runs the account's
 * driver (sync, IDLE, body fetches) and reports back through a pipe, so
 * the keyboard never waits for the network.
 */
#ifndef TERN_UI_H
#define TERN_UI_H

#include "tern/core.h"

struct ui_opts {
	int demo; /* open the generated demo store */
	const char *log; /* append timestamped events to this file */
};

/* Run the client until the user quits; returns an exit status. */
int ui_main(struct tern *t, const struct ui_opts *o);

/*
 * Create the demo store (a few hundred generated messages in folders of
 * the local account) in dir, replacing any earlier one. Deterministic.
 */
int ui_demo_create(const char *dir, char **cause);

#endif
