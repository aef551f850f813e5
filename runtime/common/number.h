/* number: a double as the shortest text that reads back to it, for the client core's JSON
 * writer and the gateway's replies alike. */
#ifndef TT_NUMBER_H
#define TT_NUMBER_H

#include <stddef.h>

#define TT_DOUBLE_TEXT 32 /* room for any finite double's text and its NUL */

/* Write finite v into buf (TT_DOUBLE_TEXT bytes) as the first of %.15g, %.16g and %.17g that
 * reads back to v, and return its length. */
size_t tt_double_text(double v, char *buf);

#endif
