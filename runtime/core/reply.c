/* reply: SAX2 handlers over a libxml2 push parser. Elements outside the row containers become
 * a small tree in an arena; <data> rows and <csv> text go straight into a page, so the cost of
 * a row is a few memcpy calls and no allocation of its own. Where an element sits is checked
 * only by depth and by the one <table> node, so tolerating every public shape costs nothing
 * per row. */
#include "reply.h"

#include "csv.h"
#include "err.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct chunk {
  struct chunk *next;
  size_t used, cap;
  max_align_t data[];
} chunk;

/* An open element of the tree, with the text gathered for it so far. */
typedef struct frame {
  tt_node *node;
  tt_node *last; /* last child, for appending */
  char *text;
  size_t len, cap;
} frame;

enum { M_TREE, M_DATA, M_CSV };

/* Where the result's row count came from, best first (tt_reply_total's order). */
enum { T_TABLE_ATTR, T_TABLE_ELEM, T_OUT_ELEM, T_SOURCES };

struct tt_reply {
  xmlParserCtxtPtr ctxt;
  chunk *arena;
  frame *stack; /* open tree elements; their buffers are reused */
  size_t nframes, framecap;
  size_t depth;      /* open elements of any kind */
  int mode;          /* what the text at this point is */
  size_t mode_depth; /* depth of the <data> or <csv> element */
  size_t row_depth;  /* depth of the open <tr>, or 0 */
  size_t td_depth;   /* depth of the open <td>, or 0 */
  tt_node *root, *table, *cols_node;
  int cols_seen;
  tt_column *cols;
  size_t ncols;
  tt_page page, header;
  tt_csv csv;
  int has_csv;
  int64_t rc;
  int has_rc;
  int64_t totals[T_SOURCES];
  int has_total[T_SOURCES];
  size_t page_hint; /* <table count>: the rows this page will hold, for reserve(); 0 unknown */
  const char *msg;
  char sep[TT_CSV_DELIM_MAX + 1], eol[TT_CSV_DELIM_MAX + 1];
  size_t fed, expect;
  int scan;   /* where the CDATA splitter is in the raw bytes (S_*) */
  char lt[8]; /* bytes after a '<', while telling what it opens */
  size_t nlt;
  int tail;   /* ']' ending a CDATA run, '-' ending a comment, '?' ending a PI: 0..2 */
  size_t run; /* bytes of the current CDATA section so far */
  char last;  /* the last byte fed, for a "<!" split between two feeds */
  int finished;
  int err;
  char errmsg[256];
};

/* ---- errors ------------------------------------------------------------------------------ */

static void fail(tt_reply *r, int code, const char *fmt, ...)
{
  if (r->err) return;
  r->err = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->errmsg, sizeof r->errmsg, fmt, ap);
  va_end(ap);
  if (r->ctxt) xmlStopParser(r->ctxt);
}

static void on_error(void *ud, xmlErrorPtr e)
{
  tt_reply *r = ud;
  if (!e || e->level == XML_ERR_WARNING) return;
  char msg[200];
  snprintf(msg, sizeof msg, "%s", e->message ? e->message : "parse error");
  size_t n = strlen(msg);
  while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) msg[--n] = '\0';
  fail(r, TT_E_XML, "malformed reply at line %d: %s", e->line, msg);
}

/* ---- arena ------------------------------------------------------------------------------- */

static void *arena_alloc(tt_reply *r, size_t n)
{
  n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
  chunk *c = r->arena;
  if (!c || c->cap - c->used < n) {
    size_t cap = n > 8192 ? n : 8192;
    c = malloc(sizeof *c + cap);
    if (!c) {
      fail(r, TT_E_NOMEM, "out of memory");
      return NULL;
    }
    c->next = r->arena;
    c->used = 0;
    c->cap = cap;
    r->arena = c;
  }
  void *p = (char *)c->data + c->used;
  c->used += n;
  return p;
}

static char *arena_strndup(tt_reply *r, const char *s, size_t n)
{
  char *p = arena_alloc(r, n + 1);
  if (!p) return NULL;
  if (n) memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

/* ---- tree -------------------------------------------------------------------------------- */

static tt_node *push_node(tt_reply *r, const char *tag, int nattrs, const xmlChar **attrs)
{
  if (r->nframes == r->framecap) {
    size_t cap = r->framecap ? 2 * r->framecap : 16;
    frame *f = realloc(r->stack, cap * sizeof *f);
    if (!f) {
      fail(r, TT_E_NOMEM, "out of memory");
      return NULL;
    }
    memset(f + r->framecap, 0, (cap - r->framecap) * sizeof *f);
    r->stack = f;
    r->framecap = cap;
  }
  tt_node *n = arena_alloc(r, sizeof *n);
  const char **av = arena_alloc(r, (2 * (size_t)nattrs + 1) * sizeof *av);
  if (!n || !av) return NULL;
  memset(n, 0, sizeof *n);
  n->tag = arena_strndup(r, tag, strlen(tag));
  n->text = "";
  /* SAX2 gives each attribute as localname, prefix, URI, value start, value end. */
  for (int i = 0; i < nattrs; i++) {
    const xmlChar **a = attrs + 5 * i;
    av[2 * i] = arena_strndup(r, (const char *)a[0], strlen((const char *)a[0]));
    av[2 * i + 1] = arena_strndup(r, (const char *)a[3], (size_t)(a[4] - a[3]));
  }
  av[2 * nattrs] = NULL;
  n->attrs = av;
  if (r->err) return NULL;

  if (r->nframes) {
    frame *parent = &r->stack[r->nframes - 1];
    if (parent->last)
      parent->last->next = n;
    else
      parent->node->children = n;
    parent->last = n;
  } else if (!r->root) {
    r->root = n;
  }
  frame *f = &r->stack[r->nframes++];
  f->node = n;
  f->last = NULL;
  f->len = 0;
  return n;
}

static const char *attr(const tt_node *n, const char *name)
{
  for (const char **a = n->attrs; a && *a; a += 2)
    if (strcmp(a[0], name) == 0) return a[1];
  return NULL;
}

static char *dup_or_null(const char *s)
{
  return s ? strdup(s) : NULL;
}

static void free_columns(tt_reply *r)
{
  for (size_t i = 0; i < r->ncols; i++) {
    free(r->cols[i].name);
    free(r->cols[i].type);
    free(r->cols[i].format);
    free(r->cols[i].label);
    free(r->cols[i].desc);
  }
  free(r->cols);
  r->cols = NULL;
  r->ncols = 0;
}

int tt_reply_set_columns(tt_reply *r, const tt_column *cols, size_t n)
{
  tt_column *c = n ? calloc(n, sizeof *c) : NULL;
  if (n && !c) return TT_E_NOMEM;
  int bad = 0;
  for (size_t i = 0; i < n; i++) {
    const tt_column *s = &cols[i];
    c[i].name = strdup(s->name ? s->name : "");
    c[i].type = strdup(s->type && *s->type ? s->type : "a");
    c[i].format = dup_or_null(s->format);
    c[i].label = strdup(s->label ? s->label : c[i].name ? c[i].name : "");
    c[i].desc = dup_or_null(s->desc);
    if (!c[i].name || !c[i].type || !c[i].label || (s->format && !c[i].format) ||
        (s->desc && !c[i].desc))
      bad = 1;
  }
  free_columns(r);
  r->cols = c;
  r->ncols = n;
  if (bad) {
    free_columns(r);
    return TT_E_NOMEM;
  }
  return 0;
}

static int blank(char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The first <cols> gives the columns: one per <th>, label = its text (or the name). A <th>
 * without a name is named by its heading, trimmed of blanks at the ends (the public Ruby
 * client reads names that way); the label keeps the heading as sent, line breaks and all. */
static void take_columns(tt_reply *r, const tt_node *cols)
{
  size_t n = 0;
  for (const tt_node *c = cols->children; c; c = c->next)
    if (strcmp(c->tag, "th") == 0) n++;
  tt_column *tmp = calloc(n ? n : 1, sizeof *tmp);
  if (!tmp) {
    fail(r, TT_E_NOMEM, "out of memory");
    return;
  }
  size_t i = 0;
  for (const tt_node *c = cols->children; c; c = c->next) {
    if (strcmp(c->tag, "th") != 0) continue;
    const char *name = attr(c, "name");
    if (!name) {
      const char *s = c->text, *e = c->text + c->text_len;
      while (s < e && blank(*s)) s++;
      while (e > s && blank(e[-1])) e--;
      name = arena_strndup(r, s, (size_t)(e - s));
      if (!name) break;
    }
    tmp[i].name = (char *)name;
    tmp[i].type = (char *)attr(c, "type");
    tmp[i].format = (char *)attr(c, "format");
    tmp[i].label = (char *)(c->text_len ? c->text : name);
    tmp[i].desc = (char *)attr(c, "desc");
    i++;
  }
  if (!r->err && tt_reply_set_columns(r, tmp, n)) fail(r, TT_E_NOMEM, "out of memory");
  free(tmp);
}

/* A row count: a whole decimal number >= 0 in int64 range, blanks around it allowed. */
static int parse_count(const char *s, int64_t *out)
{
  while (blank(*s)) s++;
  if (*s < '0' || *s > '9') return -1;
  int64_t v = 0;
  for (; *s >= '0' && *s <= '9'; s++) {
    if (v > (INT64_MAX - (*s - '0')) / 10) return -1;
    v = 10 * v + (*s - '0');
  }
  while (blank(*s)) s++;
  if (*s) return -1;
  *out = v;
  return 0;
}

static void take_total(tt_reply *r, int source, const char *what, const char *text)
{
  if (parse_count(text, &r->totals[source]))
    fail(r, TT_E_XML, "the reply's %s is not a whole number: '%.40s'", what, text);
  else
    r->has_total[source] = 1;
}

/* The first <table> under <out>: its count attributes, checked as they arrive. */
static void take_table(tt_reply *r, tt_node *n)
{
  r->table = n;
  const char *count = attr(n, "count"), *nrows = attr(n, "nrows");
  int64_t v;
  if (count && parse_count(count, &v))
    fail(r, TT_E_XML, "the reply's <table count> is not a whole number: '%.40s'", count);
  else if (count)
    r->page_hint = v > (int64_t)(SIZE_MAX / 2) ? 0 : (size_t)v;
  if (nrows) take_total(r, T_TABLE_ATTR, "<table nrows>", nrows);
}

static void parse_rc(tt_reply *r, const tt_node *n)
{
  const char *s = n->text;
  while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
  char *end;
  long long v = strtoll(s, &end, 10);
  while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r') end++;
  if (end == s || *end) {
    fail(r, TT_E_XML, "the reply's <rc> is not an integer: '%.40s'", n->text);
    return;
  }
  r->rc = v;
  r->has_rc = 1;
}

static void pop_node(tt_reply *r)
{
  frame *f = &r->stack[--r->nframes];
  tt_node *n = f->node;
  if (f->len) {
    n->text = arena_strndup(r, f->text, f->len);
    n->text_len = f->len;
    if (!n->text) return;
  }
  if (r->nframes == 1) { /* a direct child of the root */
    if (!r->has_rc && strcmp(n->tag, "rc") == 0) parse_rc(r, n);
    if (!r->msg && strcmp(n->tag, "msg") == 0) r->msg = n->text;
    if (!r->has_total[T_OUT_ELEM] && strcmp(n->tag, "nrows") == 0)
      take_total(r, T_OUT_ELEM, "<nrows>", n->text);
  } else if (r->nframes == 2 && r->stack[1].node == r->table && !r->has_total[T_TABLE_ELEM] &&
             strcmp(n->tag, "nrows") == 0) {
    take_total(r, T_TABLE_ELEM, "<table><nrows>", n->text);
  }
  if (n == r->cols_node) take_columns(r, n);
}

static void add_tree_text(tt_reply *r, const char *s, size_t n)
{
  if (!r->nframes) return; /* blanks around the root */
  frame *f = &r->stack[r->nframes - 1];
  if (n > f->cap - f->len) {
    size_t cap = f->cap ? f->cap : 64;
    while (cap - f->len < n) cap *= 2;
    char *p = realloc(f->text, cap);
    if (!p) {
      fail(r, TT_E_NOMEM, "out of memory");
      return;
    }
    f->text = p;
    f->cap = cap;
  }
  memcpy(f->text + f->len, s, n);
  f->len += n;
}

/* Size the page before its rows arrive: the rows from <table count> (the page's rows; nrows is
 * the whole result's), the cells from the columns too, the bytes from the whole reply's length
 * (cell text is never longer). Reservations above 1 GB are left to growth. */
static void reserve(tt_reply *r)
{
  size_t rows = r->page_hint;
  size_t cols = r->ncols ? r->ncols : 1;
  const size_t cap = (size_t)1 << 30;
  if (rows > cap / sizeof(size_t) / cols) rows = 0;
  if (tt_page_reserve(&r->page, rows, rows * cols, r->expect < cap ? r->expect : 0))
    fail(r, TT_E_NOMEM, "out of memory");
}

/* ---- SAX handlers ------------------------------------------------------------------------- */

static void on_start(void *ud, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
                     int nb_namespaces, const xmlChar **namespaces, int nb_attributes,
                     int nb_defaulted, const xmlChar **attributes)
{
  tt_reply *r = ud;
  const char *tag = (const char *)localname;
  r->depth++;
  if (r->err) return;
  if (r->mode == M_DATA) {
    if (r->td_depth) return; /* markup inside a cell: its text still counts */
    if (strcmp(tag, "tr") == 0 && !r->row_depth) {
      r->row_depth = r->depth;
      if (tt_page_begin_row(&r->page)) fail(r, TT_E_NOMEM, "out of memory");
    } else if (strcmp(tag, "td") == 0 && r->row_depth) {
      r->td_depth = r->depth;
    }
    return;
  }
  if (r->mode == M_CSV) return;

  tt_node *n = push_node(r, tag, nb_attributes, attributes);
  if (!n) return;
  /* n's parent is the root, or the <table> under it: the places a result's parts may be. */
  int top = r->nframes == 2 || (r->nframes == 3 && r->table && r->stack[1].node == r->table);
  if (!top) return;
  if (!r->table && r->nframes == 2 && strcmp(tag, "table") == 0) take_table(r, n);
  if (!r->cols_seen && strcmp(tag, "cols") == 0) {
    r->cols_node = n;
    r->cols_seen = 1;
  }
  if (strcmp(tag, "data") == 0) {
    r->mode = M_DATA;
    r->mode_depth = r->depth;
    reserve(r);
  } else if (strcmp(tag, "csv") == 0) {
    r->mode = M_CSV;
    r->mode_depth = r->depth;
    r->has_csv = 1;
    tt_page_clear(&r->header);
    tt_csv_init(&r->csv, &r->header, &r->page, r->sep, r->eol);
    reserve(r);
  }
}

static void on_end(void *ud, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
  tt_reply *r = ud;
  size_t d = r->depth--;
  if (r->err) return;
  if (r->mode == M_DATA && d != r->mode_depth) {
    if (d == r->td_depth) {
      r->td_depth = 0;
      if (tt_page_end_cell(&r->page)) fail(r, TT_E_NOMEM, "out of memory");
    } else if (d == r->row_depth) {
      r->row_depth = 0;
    }
    return;
  }
  if (r->mode == M_CSV && d != r->mode_depth) return;
  if (r->mode == M_CSV && tt_csv_finish(&r->csv)) fail(r, TT_E_NOMEM, "out of memory");
  r->mode = M_TREE;
  pop_node(r);
}

static void on_text(void *ud, const xmlChar *ch, int len)
{
  tt_reply *r = ud;
  if (r->err || len <= 0) return;
  const char *s = (const char *)ch;
  switch (r->mode) {
  case M_DATA:
    if (r->td_depth && tt_page_add_text(&r->page, s, (size_t)len))
      fail(r, TT_E_NOMEM, "out of memory");
    break;
  case M_CSV: /* the text of <csv> itself; an element inside it is ignored, text and all */
    if (r->depth == r->mode_depth && tt_csv_feed(&r->csv, s, (size_t)len))
      fail(r, TT_E_NOMEM, "out of memory");
    break;
  default:
    add_tree_text(r, s, (size_t)len);
    break;
  }
}

static xmlSAXHandler handler = {
    .characters = on_text,
    .ignorableWhitespace = on_text,
    .cdataBlock = on_text,
    .initialized = XML_SAX2_MAGIC,
    .startElementNs = on_start,
    .endElementNs = on_end,
    .serror = on_error,
};

/* ---- life cycle -------------------------------------------------------------------------- */

/* No network, no external DTD. NOENT so that &amp; in attribute values reaches us decoded;
 * it expands nothing else, since without a getEntity handler a declared entity is never found
 * (a reference to one is an error, so no entity bomb). HUGE because a page can hold a text
 * node beyond libxml2's default 10 MB cap. */
#define PARSE_OPTIONS                                                                              \
  (XML_PARSE_NONET | XML_PARSE_NOENT | XML_PARSE_HUGE | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

int tt_reply_new(tt_reply **out, const char *sep, const char *eol)
{
  *out = NULL;
  xmlInitParser();
  tt_reply *r = calloc(1, sizeof *r);
  if (!r) return TT_E_NOMEM;
  snprintf(r->sep, sizeof r->sep, "%s", sep ? sep : "");
  snprintf(r->eol, sizeof r->eol, "%s", eol ? eol : "");
  r->ctxt = xmlCreatePushParserCtxt(&handler, r, NULL, 0, NULL);
  if (!r->ctxt) {
    free(r);
    return TT_E_NOMEM;
  }
  xmlCtxtUseOptions(r->ctxt, PARSE_OPTIONS);
  *out = r;
  return 0;
}

static void free_parser(tt_reply *r)
{
  /* A DTD in the reply makes libxml2 keep its entities in a document of its own, which the
   * context does not free. */
  if (r->ctxt && r->ctxt->myDoc) xmlFreeDoc(r->ctxt->myDoc);
  if (r->ctxt) xmlFreeParserCtxt(r->ctxt);
  r->ctxt = NULL;
  for (size_t i = 0; i < r->framecap; i++) free(r->stack[i].text);
  free(r->stack);
  r->stack = NULL;
  r->nframes = r->framecap = 0;
}

void tt_reply_free(tt_reply **rp)
{
  if (!rp || !*rp) return;
  tt_reply *r = *rp;
  *rp = NULL;
  free_parser(r);
  while (r->arena) {
    chunk *next = r->arena->next;
    free(r->arena);
    r->arena = next;
  }
  free_columns(r);
  tt_page_free(&r->page);
  tt_page_free(&r->header);
  free(r);
}

void tt_reply_expect(tt_reply *r, size_t bytes)
{
  r->expect = bytes;
}

/* ---- feeding ------------------------------------------------------------------------------ */

static void push(tt_reply *r, const char *data, size_t len)
{
  /* xmlParseChunk takes an int size. */
  while (len && !r->err) {
    int n = len > (1u << 30) ? 1 << 30 : (int)len;
    int rc = xmlParseChunk(r->ctxt, data, n, 0);
    if (!r->err && (rc || !r->ctxt->wellFormed)) fail(r, TT_E_XML, "malformed reply");
    data += n;
    len -= (size_t)n;
  }
}

/* libxml2's push parser holds a CDATA section until its "]]>" is in (and rescans the held
 * bytes whenever a chunk holds a '>', and on every chunk past 10 MB): a page of CSV would be
 * buffered whole, and a big one parsed in quadratic time. Splitting long sections into
 * several ("]]><![CDATA[" between two bytes of content) changes no character of the document
 * and keeps that work linear. So the raw bytes go through a small scanner that knows just
 * enough XML to tell CDATA from comments, processing instructions and markup; a DOCTYPE turns
 * it off. */
enum { S_TEXT, S_LT, S_COMMENT, S_PI, S_CDATA, S_OFF };
#define SPLIT_EVERY ((size_t)1 << 16)
static const char split_marker[] = "]]><![CDATA[";

/* After '<': what the bytes so far can still open. */
static void classify(tt_reply *r)
{
  static const struct {
    const char *s;
    int state;
  } opens[] = {{"![CDATA[", S_CDATA}, {"!--", S_COMMENT}, {"?", S_PI}, {"!DOCTYPE", S_OFF}};
  int maybe = 0;
  for (size_t k = 0; k < sizeof opens / sizeof opens[0]; k++) {
    size_t n = strlen(opens[k].s);
    if (r->nlt > n || memcmp(r->lt, opens[k].s, r->nlt) != 0) continue;
    if (r->nlt < n) {
      maybe = 1;
      continue;
    }
    r->scan = opens[k].state;
    r->tail = 0;
    r->run = 0;
    return;
  }
  if (maybe) return;
  if (r->lt[r->nlt - 1] == '<') { /* "<<": the second may open something */
    r->nlt = 0;
    return;
  }
  r->scan = S_TEXT;
}

int tt_reply_feed(tt_reply *r, const char *data, size_t len)
{
  if (r->err || r->finished) return r->err ? r->err : TT_E_INVAL;
  r->fed += len;
  size_t start = 0, i = 0;
  while (i < len && !r->err) {
    char c = data[i];
    switch (r->scan) {
    case S_TEXT: {
      /* Only "<!" and "<?" open anything of interest: look for their second byte, which rows
       * hardly ever hold, rather than stop at every tag. */
      const char *b = memchr(data + i, '!', len - i), *q = memchr(data + i, '?', len - i);
      const char *m = !b ? q : !q ? b : b < q ? b : q;
      if (!m) {
        i = len;
        break;
      }
      size_t k = (size_t)(m - data);
      char prev = k ? data[k - 1] : r->last;
      i = k + 1;
      if (prev == '<') {
        r->scan = S_LT;
        r->lt[0] = *m;
        r->nlt = 1;
        classify(r);
      }
      break;
    }
    case S_LT:
      r->lt[r->nlt++] = c;
      i++;
      classify(r);
      break;
    case S_COMMENT:
      i++;
      if (c == '>' && r->tail >= 2) r->scan = S_TEXT;
      r->tail = c == '-' ? r->tail + (r->tail < 2) : 0;
      break;
    case S_PI:
      i++;
      if (c == '>' && r->tail) r->scan = S_TEXT;
      r->tail = c == '?';
      break;
    case S_CDATA:
      if (r->tail || c == ']') { /* byte by byte near a possible "]]>" */
        i++;
        r->run++;
        if (c == '>' && r->tail >= 2) r->scan = S_TEXT;
        r->tail = c == ']' ? r->tail + (r->tail < 2) : 0;
      } else if (r->run >= SPLIT_EVERY) { /* the content so far does not end in ']' */
        push(r, data + start, i - start);
        push(r, split_marker, sizeof split_marker - 1);
        start = i;
        r->run = 0;
      } else {
        size_t lim = len - i < SPLIT_EVERY - r->run ? len - i : SPLIT_EVERY - r->run;
        const char *q = memchr(data + i, ']', lim);
        size_t n = q ? (size_t)(q - (data + i)) : lim;
        i += n;
        r->run += n;
      }
      break;
    default: /* S_OFF */
      i = len;
      break;
    }
  }
  push(r, data + start, len - start);
  if (len) r->last = data[len - 1];
  return r->err;
}

/* Every CSV record must have as many fields as the header: a record with more or fewer is a
 * value that held an unquoted separator, or a cut record, and its cells cannot be placed. A
 * blank line (one empty field) stays a row of N/A, as a writer may leave such a row. */
static void check_csv_shape(tt_reply *r)
{
  size_t first, want = r->header.nrows ? tt_page_row(&r->header, 0, &first) : r->ncols;
  if (!want) return;
  for (size_t i = 0; i < r->page.nrows; i++) {
    size_t len, n = tt_page_row(&r->page, i, &first);
    if (n != want && !(n == 1 && (tt_page_cell(&r->page, first, &len), len == 0))) {
      fail(r, TT_E_XML,
           "CSV record %zu has %zu field%s where the header has %zu (a value with an unquoted "
           "separator, or a cut record)",
           i + 1, n, n == 1 ? "" : "s", want);
      return;
    }
  }
}

int tt_reply_finish(tt_reply *r)
{
  if (r->finished) return r->err;
  r->finished = 1;
  if (!r->err && r->fed == 0) fail(r, TT_E_XML, "the reply is empty");
  if (!r->err) {
    int rc = xmlParseChunk(r->ctxt, NULL, 0, 1);
    if (!r->err && (rc || !r->ctxt->wellFormed)) fail(r, TT_E_XML, "malformed reply");
  }
  if (!r->err && !r->has_rc) fail(r, TT_E_XML, "the reply has no <rc>");
  if (!r->err && r->has_csv) check_csv_shape(r);
  /* Without <cols>, a CSV header still names the columns. */
  if (!r->err && !r->ncols && r->has_csv && r->header.nrows) {
    size_t first, n = tt_page_row(&r->header, 0, &first);
    tt_column *c = calloc(n ? n : 1, sizeof *c);
    if (!c) fail(r, TT_E_NOMEM, "out of memory");
    for (size_t i = 0; c && i < n && !r->err; i++) {
      size_t len;
      const char *s = tt_page_cell(&r->header, first + i, &len);
      c[i].name = arena_strndup(r, s, len);
    }
    if (c && !r->err && tt_reply_set_columns(r, c, n)) fail(r, TT_E_NOMEM, "out of memory");
    free(c);
  }
  free_parser(r);
  return r->err;
}

/* ---- accessors ----------------------------------------------------------------------------- */

const char *tt_reply_error(const tt_reply *r)
{
  return r->errmsg;
}

int64_t tt_reply_rc(const tt_reply *r)
{
  return r->rc;
}

const char *tt_reply_msg(const tt_reply *r)
{
  return r->msg ? r->msg : "";
}

const char *tt_reply_field(const tt_reply *r, const char *name, size_t *len)
{
  for (const tt_node *c = r->root ? r->root->children : NULL; c; c = c->next) {
    if (strcmp(c->tag, name) == 0) {
      if (len) *len = c->text_len;
      return c->text;
    }
  }
  return NULL;
}

const tt_node *tt_reply_tree(const tt_reply *r)
{
  return r->root;
}

const tt_node *tt_reply_table(const tt_reply *r)
{
  return r->table;
}

int tt_reply_total(const tt_reply *r, int64_t *n)
{
  for (int k = 0; k < T_SOURCES; k++) {
    if (r->has_total[k]) {
      *n = r->totals[k];
      return 1;
    }
  }
  return 0;
}

const tt_column *tt_reply_columns(const tt_reply *r, size_t *n)
{
  *n = r->ncols;
  return r->cols;
}

const tt_page *tt_reply_page(const tt_reply *r)
{
  return &r->page;
}

/* ---- request bodies ------------------------------------------------------------------------ */

static void silent(void *ud, xmlErrorPtr e) {}

static void child_text(xmlNodePtr parent, const char *name, char *out, size_t cap)
{
  out[0] = '\0';
  for (xmlNodePtr c = parent->children; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE || xmlStrcmp(c->name, BAD_CAST name) != 0) continue;
    xmlChar *t = xmlNodeGetContent(c);
    const char *s = t ? (const char *)t : "";
    size_t n = strlen(s);
    while (n && strchr(" \t\r\n", s[n - 1])) n--;
    while (n && strchr(" \t\r\n", *s)) {
      s++;
      n--;
    }
    if (n >= cap) n = cap - 1;
    memcpy(out, s, n);
    out[n] = '\0';
    xmlFree(t);
    return;
  }
}

void tt_reply_csv_delims(const char *body, size_t len, char *sep, char *eol, size_t cap)
{
  sep[0] = eol[0] = '\0';
  if (!body || !len || len > (1u << 30) || !memchr(body, '<', len)) return;
  xmlInitParser();
  xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
  if (!ctxt) return;
  ctxt->sax->serror = silent;
  /* RECOVER: the gateway accepts a raw '<' in attribute values, which strict XML does not. */
  xmlDocPtr doc = xmlCtxtReadMemory(ctxt, body, (int)len, NULL, NULL,
                                    XML_PARSE_NONET | XML_PARSE_RECOVER | XML_PARSE_NOERROR |
                                        XML_PARSE_NOWARNING);
  xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
  for (xmlNodePtr c = root ? root->children : NULL; c; c = c->next) {
    if (c->type == XML_ELEMENT_NODE && xmlStrcmp(c->name, BAD_CAST "format") == 0) {
      child_text(c, "sep", sep, cap);
      child_text(c, "linesep", eol, cap);
      break;
    }
  }
  xmlFreeDoc(doc);
  xmlFreeParserCtxt(ctxt);
}
