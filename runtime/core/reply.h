/* reply: the streaming parser of an XML API reply. Bytes go in as they arrive (libxml2 push
 * parser, SAX2 callbacks); out come the rc, the message, a small tree of everything except
 * the rows, the column metadata of the first <cols>, the result's row count when the reply
 * states it, and a page holding the rows of <data> (<tr><td>) or the records of <csv>.
 *
 * Every reply shape seen in public is read alike (docs/core-api.md, "Reply shapes"): the
 * elements of <out> in any order, unknown elements ignored; <table> is the first one directly
 * under <out>; <cols>, <data> and <csv> directly under <out> or under that <table>; the row
 * count as <table nrows="N">, as <nrows> under <table> or under <out>, or absent. */
#ifndef TT_REPLY_H
#define TT_REPLY_H

#include "page.h"

#include <stdint.h>

typedef struct tt_node {
  const char *tag;
  const char **attrs; /* name, value, name, value, ..., NULL */
  const char *text;   /* the element's own text (children's text not included); "" if none */
  size_t text_len;
  struct tt_node *children; /* first child */
  struct tt_node *next;     /* next sibling */
} tt_node;

typedef struct tt_column {
  char *name;
  char *type;   /* "i", "j", "f", "a" (anything else reads as text) */
  char *format; /* NULL when absent */
  char *label;
  char *desc; /* the <th desc> attribute; NULL when absent */
} tt_column;

typedef struct tt_reply tt_reply;

/* sep, eol: the CSV separators the request asked for (NULL: "," and LF). */
int tt_reply_new(tt_reply **out, const char *sep, const char *eol);
void tt_reply_free(tt_reply **rp);

/* The reply will be about this many bytes (the Content-Length): the page reserves room for
 * its rows up front instead of growing, and copying, as they come. */
void tt_reply_expect(tt_reply *r, size_t bytes);

/* Feed the next bytes. 0, or TT_E_XML / TT_E_NOMEM once the reply is known to be bad (sticky;
 * later calls return the same code without parsing). */
int tt_reply_feed(tt_reply *r, const char *data, size_t len);
/* End of the bytes: 0 when the reply was well-formed and had an integer <rc>. */
int tt_reply_finish(tt_reply *r);
/* Why feed or finish failed, as one line ("" when nothing failed). */
const char *tt_reply_error(const tt_reply *r);

int64_t tt_reply_rc(const tt_reply *r);
const char *tt_reply_msg(const tt_reply *r); /* "" when absent */
/* Text of the first direct child <name> of the root, or NULL. */
const char *tt_reply_field(const tt_reply *r, const char *name, size_t *len);
const tt_node *tt_reply_tree(const tt_reply *r);  /* the root; NULL before any element */
const tt_node *tt_reply_table(const tt_reply *r); /* first <table> under <out>, or NULL */
/* The result's row count, when the reply states it (1; *n set) or not (0). Read from
 * <table nrows="N">, else <nrows> under <table>, else <nrows> under <out>. A stated count
 * that is not a whole number >= 0 fails the parse (TT_E_XML) instead. */
int tt_reply_total(const tt_reply *r, int64_t *n);

const tt_column *tt_reply_columns(const tt_reply *r, size_t *n);
/* Replace the columns (copies them). 0 or TT_E_NOMEM. */
int tt_reply_set_columns(tt_reply *r, const tt_column *cols, size_t n);
const tt_page *tt_reply_page(const tt_reply *r);

/* Read the CSV separators of a request body's <format> (<sep>, <linesep>), trimmed of
 * blanks like the gateway does. Writes "" when absent. Bodies that are not XML give "". */
void tt_reply_csv_delims(const char *body, size_t len, char *sep, char *eol, size_t cap);

#endif
