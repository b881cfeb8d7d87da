/*
 * Recalling a postponed draft from the account's Drafts.
 */
#include "ui-private.h"

void
ui_recall(struct ui *u)
{
	ui_message(u, 1, "recall-message is not available yet");
}
