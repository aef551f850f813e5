/* txn_query: query, getdata, querydata, tabinfo and dir. */
#include "macro.h"
#include "rc.h"
#include "txn.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- metadata --------------------------------------------------------------------------- */

/* pos is ours: the column's 0-based place in the whole result (or table). index is the table
 * tree's: 1 when the column is indexed (query results never are; see gw_store_resolve). */
static void render_th(gw_buf *b, const gw_column *c, size_t pos)
{
  gw_buf_puts(b, "<th name=\"");
  gw_buf_xmls(b, c->name);
  gw_buf_printf(b, "\" type=\"%c\"", c->type);
  if (c->format) {
    gw_buf_puts(b, " format=\"");
    gw_buf_xmls(b, c->format);
    gw_buf_puts(b, "\"");
  }
  gw_buf_printf(b, " pos=\"%zu\" index=\"%d\">", pos, c->indexed ? 1 : 0);
  gw_buf_xmls(b, c->label ? c->label : c->name);
  gw_buf_puts(b, "</th>");
}

static void render_cols(gw_buf *b, const gw_column *cols, const size_t *pick, size_t n)
{
  gw_buf_puts(b, "<cols>");
  for (size_t i = 0; i < n; i++) render_th(b, &cols[pick ? pick[i] : i], pick ? pick[i] : i);
  gw_buf_puts(b, "</cols>");
}

static void iso_time(double t, char *out, size_t len)
{
  time_t secs = (time_t)t;
  struct tm tm;
  gmtime_r(&secs, &tm);
  strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The row count again as an element of <out>: a public client reads it from there. */
static void render_nrows(gw_buf *b, int64_t nrows)
{
  gw_buf_printf(b, "<nrows>%lld</nrows>", (long long)nrows);
}

/* ---- query ------------------------------------------------------------------------------ */

/* default.lonely as it is, with no ops: its one row and no columns. The compiler cannot say
 * that (a worksheet must keep a column), so the plan is written here. */
static int lonely_plan(gw_plan *plan)
{
  memset(plan, 0, sizeof *plan);
  plan->sql = strdup("SELECT NULL FROM tt_v0");
  plan->cols = calloc(1, sizeof *plan->cols);
  if (plan->sql && plan->cols) return 0;
  gw_plan_free(plan);
  return -1;
}

/* The elements under <ops>, nested ones too, stopping once past `cap`. Iterative, so any
 * depth libxml2 accepted costs no stack. */
static long count_ops(xmlNodePtr ops, long cap)
{
  long n = 0;
  xmlNodePtr c = ops ? ops->children : NULL;
  while (c && n <= cap) {
    if (c->type == XML_ELEMENT_NODE) n++;
    if (c->type == XML_ELEMENT_NODE && c->children) {
      c = c->children;
      continue;
    }
    while (c && !c->next && c->parent != ops) c = c->parent;
    c = c ? c->next : NULL;
  }
  return n;
}

/* Run the query of the request into the session's current result. 0 or -1 with rp set. */
static int run_query(gw_gateway *gw, gw_session *s, const gw_request *rq, gw_reply *rp)
{
  char *name = gw_req_child_text(rq->in, "name");
  if (!name || !*name) {
    free(name);
    gw_reply_set(rp, GW_RC_MISSING_ELEMENT, "Missing element <name> (the table to query)");
    return -1;
  }
  if (!gw_store_valid_name(name)) {
    gw_reply_set(rp, GW_RC_BAD_TABLE_NAME, "Invalid table name '%.200s'", name);
    free(name);
    return -1;
  }
  char *ops = NULL;
  char msg[1024];
  /* SQLite's planner runs inside prepare, where nothing can interrupt it, and its time
   * grows faster than the op count: the cap is what bounds it (20,000 ops took 83 s). */
  long max_ops = gw->cfg.max_ops;
  if (count_ops(gw_req_child(rq->in, "ops"), max_ops) > max_ops) {
    gw_reply_set(
        rp, GW_RC_BAD_CONTENTS,
        "Too many ops: a query may have at most %ld (config 'max_ops'), nested ones included",
        max_ops);
    free(name);
    return -1;
  }
  int rc = gw_req_ops(rq->in, &ops, msg, sizeof msg);
  gw_plan plan;
  int err = rc != 0;
  if (!err && strcmp(name, GW_STORE_LONELY) == 0 && (!ops || !*ops)) {
    if ((err = lonely_plan(&plan)) != 0) {
      rc = GW_RC_FAILED;
      snprintf(msg, sizeof msg, "out of memory");
    }
  } else if (!err) {
    err = gw_macro_compile(gw->macro, s->db, s->gen, name, ops, &plan, &rc, msg, sizeof msg);
  }
  free(ops);
  if (err && gw_sess_is_ended(s)) {
    /* Ending the session interrupts the compiler's catalog reads, which then find no table:
     * the caller's problem is the session, not the name. */
    gw_reply_set(rp, GW_RC_NOT_LOGGED_IN,
                 "Not logged in: the session ended while the query was compiled");
    free(name);
    return -1;
  }
  if (err) {
    /* Refused before anything ran: the previous result and cursor stay. */
    gw_reply_set(rp, rc, "%s", msg);
    free(name);
    return -1;
  }

  /* From here the previous result is gone, whatever happens: a failed run leaves none. */
  gw_sess_clear_result(s);
  gw_buf sql = {0};
  gw_buf_puts(&sql, "CREATE TEMP TABLE res(");
  for (size_t i = 0; i < plan.ncols; i++) gw_buf_printf(&sql, "%sc%zu", i ? "," : "", i);
  if (!plan.ncols) gw_buf_puts(&sql, "c0"); /* SQLite wants a column; nothing reads it */
  gw_buf_puts(&sql, ")");
  int src = sqlite3_exec(s->db, sql.data, 0, 0, 0);
  gw_buf_reset(&sql);
  gw_buf_puts(&sql, "INSERT INTO temp.res ");
  gw_buf_puts(&sql, plan.sql);
  sqlite3_stmt *st = NULL;
  s->has_result = 1; /* so clear_result drops the temp table whatever happens next */
  /* A session ended during the compile must not start a prepare nobody will read. Once
   * started, sqlite3_interrupt stops it only while SQLite is still reading the text. */
  if (src == SQLITE_OK && gw_sess_is_ended(s)) src = SQLITE_INTERRUPT;
  if (src == SQLITE_OK) src = sqlite3_prepare_v2(s->db, sql.data, -1, &st, NULL);
  if (src == SQLITE_OK && gw_sess_is_ended(s)) src = SQLITE_INTERRUPT;
  if (src == SQLITE_OK && gw_plan_bind(&plan, st)) src = SQLITE_RANGE;
  if (src == SQLITE_OK) {
    src = sqlite3_step(st);
    if (src == SQLITE_DONE) src = SQLITE_OK;
  }
  gw_buf_free(&sql);
  if (src != SQLITE_OK) {
    const char *why = sqlite3_errmsg(s->db);
    size_t pl = strlen(GW_MACRO_ERROR_PREFIX);
    if (gw_sess_is_ended(s))
      gw_reply_set(rp, GW_RC_NOT_LOGGED_IN, "Not logged in: the session ended while the query ran");
    else if (strncmp(why, GW_MACRO_ERROR_PREFIX, pl) == 0)
      gw_reply_set(rp, GW_RC_BAD_VALUE, "%s", why + pl); /* the data broke a rule of the macro */
    else
      gw_reply_set(rp, GW_RC_FAILED, "Query failed: %s", why);
    sqlite3_finalize(st);
    gw_sess_clear_result(s);
    gw_plan_free(&plan);
    free(name);
    return -1;
  }
  sqlite3_finalize(st);
  s->res_rows = sqlite3_last_insert_rowid(s->db);
  if (sqlite3_changes64(s->db) == 0) s->res_rows = 0;
  s->res_cols = plan.cols;
  s->res_ncols = plan.ncols;
  plan.cols = NULL;
  plan.ncols = 0;
  s->res_table = name;
  s->cursor = 0;
  gw_plan_free(&plan);
  return 0;
}

static void render_query_meta(gw_buf *b, gw_session *s)
{
  gw_buf_puts(b, "<table name=\"");
  gw_buf_xmls(b, s->res_table);
  gw_buf_printf(b, "\" nrows=\"%lld\" ncols=\"%zu\">", (long long)s->res_rows, s->res_ncols);
  render_cols(b, s->res_cols, NULL, s->res_ncols);
  gw_buf_puts(b, "</table>");
  render_nrows(b, s->res_rows);
}

/* ---- getdata ---------------------------------------------------------------------------- */

typedef struct page_request {
  int64_t first; /* 0-based */
  int64_t count;
  int relative;
  int csv;
  char sep[16];
  char linesep[16];
  size_t *pick; /* column indexes */
  size_t npick;
  int64_t max_rows, max_cells; /* the caller's download limits; 0 = none */
} page_request;

static int parse_int(const char *s, int64_t *v)
{
  if (!s || !*s) return -1;
  char *end;
  errno = 0;
  long long x = strtoll(s, &end, 10);
  if (errno || *end || x < 0) return -1;
  *v = x;
  return 0;
}

static int child_int(xmlNodePtr parent, const char *name, int64_t *v, int *present, gw_reply *rp)
{
  char *t = gw_req_child_text(parent, name);
  *present = t != NULL;
  if (!t) return 0;
  int bad = parse_int(t, v);
  if (bad)
    gw_reply_set(rp, GW_RC_BAD_VALUE, "Invalid value of <%s>: '%.40s' (a whole number >= 0)", name,
                 t);
  free(t);
  return bad ? -1 : 0;
}

/* Read <cols>, <rows> and <format> of a getdata or querydata body. */
static int parse_page(gw_gateway *gw, gw_session *s, xmlNodePtr in, page_request *pr, gw_reply *rp)
{
  int64_t cap = gw->cfg.page_rows;
  memset(pr, 0, sizeof *pr);
  pr->max_rows = gw->cfg.users[s->user].max_download_rows;
  pr->max_cells = gw->cfg.users[s->user].max_download_cells;
  pr->relative = 1;
  pr->first = s->cursor;
  pr->count = cap;
  strcpy(pr->sep, ",");
  strcpy(pr->linesep, "\n");

  xmlNodePtr rows = gw_req_child(in, "rows");
  if (rows) {
    xmlChar *mode = xmlGetProp(rows, BAD_CAST "mode");
    int m = mode ? atoi((const char *)mode) : 0;
    int known = mode && (xmlStrcmp(mode, BAD_CAST "1") == 0 || xmlStrcmp(mode, BAD_CAST "2") == 0);
    xmlFree(mode);
    if (!known) {
      gw_reply_set(rp, mode ? GW_RC_BAD_ATTRIBUTE : GW_RC_MISSING_ATTRIBUTE,
                   "<rows> needs mode=\"1\" (relative) or mode=\"2\" (absolute)");
      return -1;
    }
    int present;
    if (m == 1) {
      int64_t next;
      if (child_int(rows, "next", &next, &present, rp)) return -1;
      if (!present) {
        gw_reply_set(rp, GW_RC_MISSING_ELEMENT, "Missing element <next> in <rows mode=\"1\">");
        return -1;
      }
      pr->count = next;
    } else {
      int64_t start = 0, end = 0;
      int has_end;
      if (child_int(rows, "start", &start, &present, rp)) return -1;
      if (!present) {
        gw_reply_set(rp, GW_RC_MISSING_ELEMENT, "Missing element <start> in <rows mode=\"2\">");
        return -1;
      }
      if (child_int(rows, "end", &end, &has_end, rp)) return -1;
      if (!has_end) {
        gw_reply_set(rp, GW_RC_MISSING_ELEMENT, "Missing element <end> in <rows mode=\"2\">");
        return -1;
      }
      if (end < start) {
        gw_reply_set(rp, GW_RC_BAD_VALUE, "<rows mode=\"2\">: <end> %lld is before <start> %lld",
                     (long long)end, (long long)start);
        return -1;
      }
      pr->relative = 0;
      pr->first = start;
      pr->count = end - start;
    }
  }
  if (pr->count > cap) pr->count = cap;

  xmlNodePtr format = gw_req_child(in, "format");
  if (format) {
    xmlChar *type = xmlGetProp(format, BAD_CAST "type");
    if (type && xmlStrcmp(type, BAD_CAST "csv") == 0)
      pr->csv = 1;
    else if (type && xmlStrcmp(type, BAD_CAST "xml") != 0) {
      gw_reply_set(rp, GW_RC_BAD_ATTRIBUTE, "Invalid format type '%.40s' (xml or csv)",
                   (const char *)type);
      xmlFree(type);
      return -1;
    }
    xmlFree(type);
    /* values="formatted" is what public clients send; values always go raw here (the <th>
     * format says how to show them), so it changes nothing. */
    xmlChar *values = xmlGetProp(format, BAD_CAST "values");
    if (values && xmlStrcmp(values, BAD_CAST "formatted") != 0) {
      gw_reply_set(rp, GW_RC_BAD_ATTRIBUTE,
                   "Invalid format values '%.40s' (formatted, or leave it out)",
                   (const char *)values);
      xmlFree(values);
      return -1;
    }
    xmlFree(values);
    /* Separators are taken as sent: a tab or CRLF is a blank a trim would lose. */
    char *sep = gw_req_child_raw(format, "sep");
    char *linesep = gw_req_child_raw(format, "linesep");
    /* An empty <sep> means no separator, which nobody can read back: keep the default. */
    if (sep && *sep) snprintf(pr->sep, sizeof pr->sep, "%s", sep);
    if (linesep && *linesep) snprintf(pr->linesep, sizeof pr->linesep, "%s", linesep);
    free(sep);
    free(linesep);
  }

  xmlNodePtr cols = gw_req_child(in, "cols");
  size_t want = 0;
  for (xmlNodePtr c = cols ? cols->children : NULL; c; c = c->next)
    if (c->type == XML_ELEMENT_NODE && xmlStrcmp(c->name, BAD_CAST "col") == 0) want++;
  pr->npick = want ? want : s->res_ncols;
  pr->pick = calloc(pr->npick ? pr->npick : 1, sizeof *pr->pick);
  if (!pr->pick) {
    gw_reply_set(rp, GW_RC_FAILED, "out of memory");
    return -1;
  }
  if (!want) {
    for (size_t i = 0; i < pr->npick; i++) pr->pick[i] = i;
    return 0;
  }
  gw_buf missing = {0};
  size_t k = 0;
  for (xmlNodePtr c = cols->children; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE || xmlStrcmp(c->name, BAD_CAST "col") != 0) continue;
    xmlChar *t = xmlNodeGetContent(c);
    const char *nm = t ? (const char *)t : "";
    while (*nm == ' ' || *nm == '\t' || *nm == '\n' || *nm == '\r') nm++;
    size_t nl = strlen(nm);
    while (nl &&
           (nm[nl - 1] == ' ' || nm[nl - 1] == '\t' || nm[nl - 1] == '\n' || nm[nl - 1] == '\r'))
      nl--;
    size_t i;
    for (i = 0; i < s->res_ncols; i++)
      if (strlen(s->res_cols[i].name) == nl && strncasecmp(s->res_cols[i].name, nm, nl) == 0) break;
    if (nl == 0) {
      /* No column has an empty name: an empty <col> names none, and is said so. */
      gw_buf_printf(&missing, "%s(an empty <col>)", missing.len ? ", " : "");
    } else if (i == s->res_ncols) {
      gw_buf_printf(&missing, "%s%.*s", missing.len ? ", " : "", (int)(nl > 64 ? 64 : nl), nm);
    } else {
      pr->pick[k++] = i;
    }
    xmlFree(t);
  }
  int bad = missing.len > 0;
  if (bad)
    gw_reply_set(rp, GW_RC_NO_SUCH_COLUMNS, "<cols> names columns absent from the result: %s",
                 missing.data);
  gw_buf_free(&missing);
  return bad ? -1 : 0;
}

static void add_cdata(gw_buf *b, const char *s, size_t n)
{
  /* "]]>" cannot stand inside CDATA: close and reopen around it. Control characters are not
   * allowed in XML at all, so they are dropped. */
  gw_buf_puts(b, "<![CDATA[");
  size_t start = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == ']' && i + 2 < n && s[i + 1] == ']' && s[i + 2] == '>') {
      gw_buf_add(b, s + start, i + 2 - start);
      gw_buf_puts(b, "]]><![CDATA[");
      start = i + 2;
    } else if (c < 0x20 && c != '\n' && c != '\r' && c != '\t') {
      gw_buf_add(b, s + start, i - start);
      start = i + 1;
    }
  }
  gw_buf_add(b, s + start, n - start);
  gw_buf_puts(b, "]]>");
}

static void format_value(gw_buf *b, sqlite3_stmt *st, int i, char type)
{
  switch (type) {
  case 'i':
  case 'j':
    gw_buf_int(b, sqlite3_column_int64(st, i));
    break;
  case 'f':
    gw_buf_double(b, sqlite3_column_double(st, i));
    break;
  default:
    break;
  }
}

/* An overflow gives an infinity in SQLite; the platform has no such value, so it is N/A. */
static int is_na(sqlite3_stmt *st, int i, char type)
{
  return sqlite3_column_type(st, i) == SQLITE_NULL ||
         (type == 'f' && !isfinite(sqlite3_column_double(st, i)));
}

/* Render one page of the current result. */
static void render_page(gw_session *s, const page_request *pr, gw_reply *rp)
{
  int64_t first = pr->first < s->res_rows ? pr->first : s->res_rows;
  int64_t count = pr->count;
  if (count > s->res_rows - first) count = s->res_rows - first;
  /* The platform's per-user limits apply to what this page would carry. Refused, the page
   * leaves the cursor where it was, so a client can ask again for fewer rows. */
  int64_t cells = count * (int64_t)pr->npick;
  if (pr->max_rows && count > pr->max_rows) {
    gw_reply_set(rp, GW_RC_TOO_MANY,
                 "Download limit exceeded: %lld rows is over max_download_rows (%lld)",
                 (long long)count, (long long)pr->max_rows);
    return;
  }
  if (pr->max_cells && cells > pr->max_cells) {
    gw_reply_set(rp, GW_RC_TOO_MANY,
                 "Download limit exceeded: %lld rows x %zu columns = %lld cells is over "
                 "max_download_cells (%lld)",
                 (long long)count, pr->npick, (long long)cells, (long long)pr->max_cells);
    return;
  }

  gw_buf sql = {0};
  gw_buf_puts(&sql, "SELECT ");
  for (size_t i = 0; i < pr->npick; i++) gw_buf_printf(&sql, "%sc%zu", i ? "," : "", pr->pick[i]);
  if (!pr->npick) gw_buf_puts(&sql, "NULL");
  gw_buf_puts(&sql, " FROM temp.res WHERE rowid > ?1 AND rowid <= ?2 ORDER BY rowid");
  sqlite3_stmt *st = NULL;
  int src = sqlite3_prepare_v2(s->db, sql.data, -1, &st, NULL);
  gw_buf_free(&sql);
  if (src != SQLITE_OK) {
    gw_reply_set(rp, GW_RC_FAILED, "getdata failed: %s", sqlite3_errmsg(s->db));
    return;
  }
  sqlite3_bind_int64(st, 1, first);
  sqlite3_bind_int64(st, 2, first + count);

  gw_buf *b = &rp->body;
  gw_buf_puts(b, "<table name=\"");
  gw_buf_xmls(b, s->res_table);
  gw_buf_printf(b, "\" nrows=\"%lld\" first=\"%lld\" count=\"%lld\">", (long long)s->res_rows,
                (long long)first, (long long)count);
  render_cols(b, s->res_cols, pr->pick, pr->npick);
  gw_buf_puts(b, "</table>");
  render_nrows(b, s->res_rows);

  gw_buf csv = {0}, num = {0};
  int64_t got = 0;
  if (pr->csv) {
    for (size_t i = 0; i < pr->npick; i++) {
      if (i) gw_buf_puts(&csv, pr->sep);
      const char *nm = s->res_cols[pr->pick[i]].name;
      gw_buf_csv(&csv, nm, strlen(nm), pr->sep, pr->linesep);
    }
    gw_buf_puts(&csv, pr->linesep);
  } else {
    gw_buf_puts(b, "<data>");
  }
  while ((src = sqlite3_step(st)) == SQLITE_ROW) {
    got++;
    if (!pr->csv) gw_buf_puts(b, "<tr>");
    for (size_t i = 0; i < pr->npick; i++) {
      char type = s->res_cols[pr->pick[i]].type;
      int null = is_na(st, (int)i, type);
      if (pr->csv) {
        if (i) gw_buf_puts(&csv, pr->sep);
        if (null) continue;
        if (type == 'a') {
          gw_buf_csv(&csv, (const char *)sqlite3_column_text(st, (int)i),
                     (size_t)sqlite3_column_bytes(st, (int)i), pr->sep, pr->linesep);
        } else {
          /* numbers too: a separator such as "." or "-" may stand in one */
          num.len = 0;
          format_value(&num, st, (int)i, type);
          gw_buf_csv(&csv, num.data, num.len, pr->sep, pr->linesep);
        }
      } else if (null) {
        gw_buf_puts(b, "<td/>");
      } else {
        gw_buf_puts(b, "<td>");
        if (type == 'a')
          gw_buf_xml(b, (const char *)sqlite3_column_text(st, (int)i),
                     (size_t)sqlite3_column_bytes(st, (int)i));
        else
          format_value(b, st, (int)i, type);
        gw_buf_puts(b, "</td>");
      }
    }
    if (pr->csv)
      gw_buf_puts(&csv, pr->linesep);
    else
      gw_buf_puts(b, "</tr>");
  }
  if (src != SQLITE_DONE) {
    gw_reply_set(rp, gw_sess_is_ended(s) ? GW_RC_NOT_LOGGED_IN : GW_RC_FAILED, "getdata failed: %s",
                 sqlite3_errmsg(s->db));
    gw_buf_reset(b);
  } else {
    if (pr->csv) {
      gw_buf_puts(b, "<csv>");
      add_cdata(b, csv.data, csv.len);
      gw_buf_puts(b, "</csv>");
    } else {
      gw_buf_puts(b, "</data>");
    }
    if (pr->relative) s->cursor = first + got;
    gw_reply_set(rp, GW_RC_OK, "%lld rows", (long long)got);
  }
  gw_buf_free(&csv);
  gw_buf_free(&num);
  sqlite3_finalize(st);
}

static void getdata_locked(gw_gateway *gw, gw_session *s, const gw_request *rq, gw_reply *rp)
{
  if (!s->has_result) {
    gw_reply_set(rp, GW_RC_NO_QUERY, "No query specified: run query before getdata");
    return;
  }
  page_request pr;
  if (parse_page(gw, s, rq->in, &pr, rp) == 0) render_page(s, &pr, rp);
  free(pr.pick);
}

void gw_txn_query(gw_gateway *gw, const gw_request *rq, gw_reply *rp)
{
  gw_session *s = gw_txn_session(gw, rq, rp);
  if (!s) return;
  pthread_mutex_lock(&s->lock);
  if (run_query(gw, s, rq, rp) == 0) {
    gw_reply_set(rp, GW_RC_OK, "%lld rows", (long long)s->res_rows);
    render_query_meta(&rp->body, s);
  }
  pthread_mutex_unlock(&s->lock);
  gw_sess_release(gw, s);
}

void gw_txn_getdata(gw_gateway *gw, const gw_request *rq, gw_reply *rp)
{
  gw_session *s = gw_txn_session(gw, rq, rp);
  if (!s) return;
  pthread_mutex_lock(&s->lock);
  getdata_locked(gw, s, rq, rp);
  pthread_mutex_unlock(&s->lock);
  gw_sess_release(gw, s);
}

void gw_txn_querydata(gw_gateway *gw, const gw_request *rq, gw_reply *rp)
{
  gw_session *s = gw_txn_session(gw, rq, rp);
  if (!s) return;
  pthread_mutex_lock(&s->lock);
  if (run_query(gw, s, rq, rp) == 0) getdata_locked(gw, s, rq, rp);
  pthread_mutex_unlock(&s->lock);
  gw_sess_release(gw, s);
}

/* ---- tabinfo and dir -------------------------------------------------------------------- */

static void render_table_info(gw_buf *b, const gw_table_info *t, int with_cols)
{
  char when[32];
  iso_time(t->loaded_at, when, sizeof when);
  gw_buf_puts(b, "<table name=\"");
  gw_buf_xmls(b, t->name);
  gw_buf_printf(b, "\" nrows=\"%lld\" ncols=\"%zu\" version=\"%lld\" loaded=\"%s\" loadedunix=\"",
                (long long)t->nrows, t->ncols, (long long)t->version, when);
  gw_buf_double(b, t->loaded_at);
  gw_buf_puts(b, "\"><title>");
  gw_buf_xmls(b, t->title ? t->title : "");
  gw_buf_puts(b, "</title>");
  if (with_cols) render_cols(b, t->cols, NULL, t->ncols);
  gw_buf_puts(b, "</table>");
}

void gw_txn_tabinfo(gw_gateway *gw, const gw_request *rq, gw_reply *rp)
{
  gw_session *s = gw_txn_session(gw, rq, rp);
  if (!s) return;
  char *name = gw_req_child_text(rq->in, "name");
  if (!name || !*name) {
    gw_reply_set(rp, GW_RC_MISSING_ELEMENT, "Missing element <name> (the table)");
  } else if (!gw_store_valid_name(name)) {
    gw_reply_set(rp, GW_RC_BAD_TABLE_NAME, "Invalid table name '%.200s'", name);
  } else {
    gw_table_info t;
    char err[256];
    memset(&t, 0, sizeof t);
    pthread_mutex_lock(&s->lock);
    int e = gw_store_resolve(s->db, name, s->gen, &t, err, sizeof err);
    pthread_mutex_unlock(&s->lock);
    if (e && gw_sess_is_ended(s))
      gw_reply_set(rp, GW_RC_NOT_LOGGED_IN,
                   "Not logged in: the session ended while the catalog was read");
    else if (e == GW_STORE_ERR_NOTABLE)
      gw_reply_set(rp, GW_RC_NO_SUCH_TABLE, "No such table: %.200s", name);
    else if (e)
      gw_reply_set(rp, GW_RC_FAILED, "tabinfo failed: %s", err);
    else {
      gw_reply_set(rp, GW_RC_OK, "OK");
      render_table_info(&rp->body, &t, 1);
      render_nrows(&rp->body, t.nrows);
    }
    gw_table_info_free(&t);
  }
  free(name);
  gw_sess_release(gw, s);
}

typedef struct dir_ctx {
  gw_buf *b;
  const char *prefix;
  size_t n;
} dir_ctx;

static int dir_entry(void *ud, const gw_table_info *t)
{
  dir_ctx *d = ud;
  size_t pl = strlen(d->prefix);
  if (pl && (strncmp(t->name, d->prefix, pl) != 0 || t->name[pl] != '.')) return 0;
  render_table_info(d->b, t, 0);
  d->n++;
  return 0;
}

void gw_txn_dir(gw_gateway *gw, const gw_request *rq, gw_reply *rp)
{
  gw_session *s = gw_txn_session(gw, rq, rp);
  if (!s) return;
  char *path = gw_req_child_text(rq->in, "path");
  gw_buf list = {0};
  dir_ctx d = {&list, path ? path : "", 0};
  char err[256];
  pthread_mutex_lock(&s->lock);
  int e = gw_store_list(s->db, s->gen, dir_entry, &d, err, sizeof err);
  pthread_mutex_unlock(&s->lock);
  if (e && gw_sess_is_ended(s)) {
    gw_reply_set(rp, GW_RC_NOT_LOGGED_IN,
                 "Not logged in: the session ended while the catalog was read");
  } else if (e) {
    gw_reply_set(rp, GW_RC_FAILED, "dir failed: %s", err);
  } else if (d.n == 0 && path && *path) {
    gw_reply_set(rp, GW_RC_NO_SUCH_DIR, "No such directory: %.200s", path);
  } else {
    gw_reply_set(rp, GW_RC_OK, "%zu tables", d.n);
    gw_buf_puts(&rp->body, "<dir path=\"");
    gw_buf_xmls(&rp->body, d.prefix);
    gw_buf_puts(&rp->body, "\">");
    if (list.len) gw_buf_add(&rp->body, list.data, list.len);
    gw_buf_puts(&rp->body, "</dir>");
  }
  gw_buf_free(&list);
  free(path);
  gw_sess_release(gw, s);
}
