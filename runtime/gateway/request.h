/*
 * request: one XML API call as the transactions see it, and the reply they build.
 *
 * Parameters come from the query string. The optional body is an XML document rooted at <in>;
 * raw '<' inside attribute values (real macros have them) is escaped before libxml2 reads it.
 */
#ifndef GW_REQUEST_H
#define GW_REQUEST_H

#include <libxml/tree.h>
#include <stddef.h>

#include "buf.h"

typedef struct gw_request {
  const char *api, *uid, *pswd, *sid, *kill, *gid; /* NULL when absent */
  const char *peer;                                /* the client's address, or NULL */
  xmlDocPtr doc;
  xmlNodePtr in; /* the <in> element, or NULL when there was no body */
} gw_request;

typedef struct gw_reply {
  int rc;
  gw_buf msg;  /* text of <msg> */
  gw_buf body; /* XML after <msg> */
} gw_reply;

/* Caps on a body, checked in one linear pass before libxml2 parses it (rc 2 past them). No
 * request the platform documents comes near them: a query's ops are capped lower still. */
#define GW_REQ_MAX_ATTRS    256   /* attributes of one element */
#define GW_REQ_MAX_ELEMENTS 20000 /* start tags in the whole body */

/* Parse a body into rq->doc/rq->in. 0, or -1 with a message (the reply is rc 2). */
int gw_req_parse_body(gw_request *rq, const char *body, size_t len, char *err, size_t errlen);
void gw_req_free(gw_request *rq);

/* The first child element of `parent` with this name, or NULL. */
xmlNodePtr gw_req_child(xmlNodePtr parent, const char *name);
/* Text of a child element (malloc'd, caller frees), or NULL when absent. */
char *gw_req_child_text(xmlNodePtr parent, const char *name);
/* Text of a child element exactly as sent (blanks kept), or NULL when absent. */
char *gw_req_child_raw(xmlNodePtr parent, const char *name);
/* The ops of a query: the serialized child elements of <ops> into *out (malloc'd; NULL when
 * there is no <ops>). Returns 0, or the rc with a message: 10 when <ops> holds non-blank
 * text or CDATA (the macro must be markup), 1 when memory runs out. */
int gw_req_ops(xmlNodePtr in, char **out, char *err, size_t errlen);

void gw_reply_set(gw_reply *rp, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The whole <out> document. */
char *gw_reply_render(gw_reply *rp, size_t *len);
void gw_reply_free(gw_reply *rp);

#endif
