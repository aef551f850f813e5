/*
 * test_core_reply: the client core's reply parser (reply.c, csv.c, page.c) and writers
 * (write.c), fed the canned replies of tests/fixtures/replies/. Every reply is parsed in one
 * piece and in pieces of every size from 1 to 7 bytes, and every way must give the same
 * result. Writers are checked byte for byte against expected files. The conformance corpus of
 * tests/fixtures/platform/ (every reply shape seen in public) must give one and the same data.
 * Prints a line per group and "N passed, M failed"; exits nonzero when anything failed.
 * `test_core_reply --bench [ROWS]` times parsing ROWS (default 1000000) rows instead.
 */
#include "check.h"
#include "csv.h"
#include "err.h"
#include "page.h"
#include "reply.h"
#include "write.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void group(const char *name, int p0, int f0)
{
  printf("%-28s %4d checks, %s\n", name, passed + failed - p0 - f0, failed == f0 ? "ok" : "FAILED");
}

/* ---- helpers ------------------------------------------------------------------------------ */

/* A file of tests/fixtures/replies/, or any absolute path (PLATFORM(name) for the corpus). */
#define PLATFORM(name) TT_PLATFORM_FIXTURES "/" name

static char *slurp(const char *name, size_t *len)
{
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", name[0] == '/' ? "" : TT_FIXTURES, name);
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    exit(2);
  }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  if (!s || fread(s, 1, (size_t)n, f) != (size_t)n) exit(2);
  s[n] = '\0';
  fclose(f);
  *len = (size_t)n;
  return s;
}

/* Parse data in pieces of `chunk` bytes (0: one piece). Returns the code; *out the reply. */
static int parse(const char *data, size_t len, size_t chunk, const char *sep, const char *eol,
                 tt_reply **out)
{
  tt_reply *r;
  if (tt_reply_new(&r, sep, eol)) exit(2);
  int rc = 0;
  if (!chunk) chunk = len ? len : 1;
  for (size_t i = 0; i < len && !rc; i += chunk)
    rc = tt_reply_feed(r, data + i, len - i < chunk ? len - i : chunk);
  if (!rc) rc = tt_reply_finish(r);
  *out = r;
  return rc;
}

typedef struct sbuf {
  char *p;
  size_t len;
  FILE *f;
} sbuf;

static void dump_node(FILE *f, const tt_node *n, int depth)
{
  fprintf(f, "%*s<%s", 2 * depth, "", n->tag);
  for (const char **a = n->attrs; *a; a += 2) fprintf(f, " %s=[%s]", a[0], a[1]);
  fprintf(f, "> text[%zu]=[", n->text_len);
  fwrite(n->text, 1, n->text_len, f);
  fprintf(f, "]\n");
  for (const tt_node *c = n->children; c; c = c->next) dump_node(f, c, depth + 1);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
  const unsigned char *s = p;
  for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
  return h;
}

/* Everything the parser produced, as text (rows as a hash when there are many). */
static char *dump(const tt_reply *r, int code)
{
  sbuf b = {0};
  b.f = open_memstream(&b.p, &b.len);
  fprintf(b.f, "code=%d\n", code);
  if (!code) {
    int64_t total = -1;
    int stated = tt_reply_total(r, &total);
    fprintf(b.f, "rc=%" PRId64 " msg=[%s] total=%d:%" PRId64 "\n", tt_reply_rc(r), tt_reply_msg(r),
            stated, total);
    if (tt_reply_tree(r)) dump_node(b.f, tt_reply_tree(r), 0);
    size_t nc;
    const tt_column *c = tt_reply_columns(r, &nc);
    for (size_t i = 0; i < nc; i++)
      fprintf(b.f, "col %s %s %s [%s] desc=%s\n", c[i].name, c[i].type,
              c[i].format ? c[i].format : "-", c[i].label, c[i].desc ? c[i].desc : "-");
    const tt_page *p = tt_reply_page(r);
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < p->nrows; i++) {
      size_t first, n = tt_page_row(p, i, &first);
      if (p->nrows <= 100) fprintf(b.f, "row %zu:", i);
      for (size_t k = 0; k < n; k++) {
        size_t len;
        const char *s = tt_page_cell(p, first + k, &len);
        if (p->nrows <= 100) {
          fprintf(b.f, len ? " [" : " NA");
          fwrite(s, 1, len, b.f);
          fprintf(b.f, len ? "]" : "");
        }
        h = fnv(h, &len, sizeof len);
        h = fnv(h, s, len);
      }
      h = fnv(h, "\n", 1);
      if (p->nrows <= 100) fprintf(b.f, "\n");
    }
    fprintf(b.f, "page: %zu rows, hash %016" PRIx64 "\n", p->nrows, h);
  }
  fclose(b.f);
  return b.p;
}

/* Parse in one piece and in pieces of 1..7 bytes; check that all agree. Returns the one-piece
 * reply (caller frees) and its code. */
static int parse_all_ways(const char *name, const char *sep, const char *eol, tt_reply **out)
{
  size_t len;
  char *data = slurp(name, &len);
  tt_reply *r;
  int code = parse(data, len, 0, sep, eol, &r);
  char *want = dump(r, code);
  for (size_t chunk = 1; chunk <= 7; chunk++) {
    tt_reply *r2;
    int c2 = parse(data, len, chunk, sep, eol, &r2);
    char *got = dump(r2, c2);
    if (!check(strcmp(got, want) == 0, "same result in every chunk size", __FILE__, __LINE__))
      fprintf(stderr, "    %s in %zu-byte pieces:\n%s\n    in one piece:\n%s\n", name, chunk, got,
              want);
    free(got);
    tt_reply_free(&r2);
  }
  free(want);
  free(data);
  *out = r;
  return code;
}

/* Run a writer into memory. */
static char *write_mem(const tt_reply *r, int format, int header, size_t *len, int *rc)
{
  char *p = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&p, &n);
  size_t nc;
  const tt_column *c = tt_reply_columns(r, &nc);
  uint64_t bytes;
  *rc = tt_write_page(f, format, tt_reply_page(r), c, nc, header, &bytes);
  fclose(f);
  CHECK(bytes == n);
  *len = n;
  return p;
}

static void check_writer(const tt_reply *r, int format, const char *expected_file)
{
  size_t wlen, glen;
  int rc;
  char *want = slurp(expected_file, &wlen);
  char *got = write_mem(r, format, 1, &glen, &rc);
  CHECK(rc == 0);
  if (!check(glen == wlen && memcmp(got, want, wlen) == 0, "writer output as expected", __FILE__,
             __LINE__))
    fprintf(stderr, "    %s: got %zu bytes:\n%s\n    want %zu bytes:\n%s\n", expected_file, glen,
            got, wlen, want);
  free(got);
  free(want);
}

static const char *cell(const tt_reply *r, size_t row, size_t col, size_t *len)
{
  static char buf[256];
  const tt_page *p = tt_reply_page(r);
  size_t first, n = tt_page_row(p, row, &first);
  if (col >= n) return NULL;
  const char *s = tt_page_cell(p, first + col, len);
  snprintf(buf, sizeof buf, "%.*s", (int)*len, s);
  return buf;
}

static const char *attr(const tt_node *n, const char *name)
{
  for (const char **a = n ? n->attrs : NULL; a && *a; a += 2)
    if (strcmp(a[0], name) == 0) return a[1];
  return NULL;
}

/* ---- groups -------------------------------------------------------------------------------- */

static void test_login(void)
{
  int p0 = passed, f0 = failed;
  tt_reply *r;
  CHECK(parse_all_ways("login.xml", NULL, NULL, &r) == 0);
  CHECK(tt_reply_rc(r) == 0);
  CHECK_STR(tt_reply_msg(r), "Logged in");
  size_t len;
  CHECK_STR(tt_reply_field(r, "sid", &len), "5844559289");
  CHECK(len == 10);
  CHECK_STR(tt_reply_field(r, "pswd", NULL), "__706b9675ba9006f76b96aa95c504b483");
  CHECK_STR(tt_reply_field(r, "version", NULL), "tt-gateway 0.1.0");
  CHECK(tt_reply_field(r, "nosuch", NULL) == NULL);
  const tt_node *root = tt_reply_tree(r);
  CHECK(root && strcmp(root->tag, "out") == 0);
  int n = 0;
  for (const tt_node *c = root->children; c; c = c->next) n++;
  CHECK(n == 5);
  CHECK(tt_reply_table(r) == NULL);
  size_t nc;
  tt_reply_columns(r, &nc);
  CHECK(nc == 0);
  CHECK(tt_reply_page(r)->nrows == 0);
  tt_reply_free(&r);
  tt_reply_free(&r); /* twice is fine */
  CHECK(r == NULL);

  CHECK(parse_all_ways("error_reply.xml", NULL, NULL, &r) == 0);
  CHECK(tt_reply_rc(r) == 17);
  CHECK_STR(tt_reply_msg(r), "no such table: pub.demo.nosuch");
  tt_reply_free(&r);

  CHECK(parse_all_ways("latin1.xml", NULL, NULL, &r) == 0);
  CHECK(tt_reply_rc(r) == 7);
  CHECK_STR(tt_reply_msg(r), "caf\xc3\xa9 \xc3\xbc"
                             "ber");
  tt_reply_free(&r);
  group("login and plain replies", p0, f0);
}

static void test_query(void)
{
  int p0 = passed, f0 = failed;
  tt_reply *r;
  CHECK(parse_all_ways("query.xml", NULL, NULL, &r) == 0);
  CHECK_STR(tt_reply_msg(r), "8760 rows");
  const tt_node *t = tt_reply_table(r);
  CHECK_STR(attr(t, "name"), "pub.demo.weather.hourly90");
  CHECK_STR(attr(t, "nrows"), "8760");
  CHECK_STR(attr(t, "ncols"), "6");
  size_t nc;
  const tt_column *c = tt_reply_columns(r, &nc);
  CHECK(nc == 6);
  if (nc == 6) {
    CHECK_STR(c[0].name, "id");
    CHECK_STR(c[0].type, "a");
    CHECK(c[0].format == NULL);
    CHECK_STR(c[0].label, "Station ID");
    CHECK_STR(c[1].format, "type:date");
    CHECK_STR(c[3].label, "Dry Bulb Temp (Celsius)");
    CHECK_STR(c[5].format, "a&b \"q\" <x> &"); /* entities in attribute values */
    CHECK_STR(c[5].label, "rain");             /* no heading: the name */
  }
  tt_column mine[2] = {{"x", "i", NULL, NULL, NULL}, {"y", NULL, "fmt", "Why", "about y"}};
  CHECK(tt_reply_set_columns(r, mine, 2) == 0);
  c = tt_reply_columns(r, &nc);
  CHECK(nc == 2 && strcmp(c[0].label, "x") == 0 && strcmp(c[1].type, "a") == 0);
  CHECK(nc == 2 && c[0].desc == NULL && strcmp(c[1].desc, "about y") == 0);
  CHECK(tt_reply_set_columns(r, NULL, 0) == 0);
  tt_reply_columns(r, &nc);
  CHECK(nc == 0);
  tt_reply_free(&r);

  CHECK(parse_all_ways("tabinfo.xml", NULL, NULL, &r) == 0);
  t = tt_reply_table(r);
  CHECK_STR(attr(t, "loadedunix"), "1795480163.6293256");
  CHECK(t && t->children && strcmp(t->children->tag, "title") == 0);
  CHECK_STR(t->children->text, "Weather Stations");
  c = tt_reply_columns(r, &nc);
  CHECK(nc == 2 && strcmp(c[1].format, "type:nocommas") == 0);
  tt_reply_free(&r);
  group("query metadata", p0, f0);
}

static void test_rows(void)
{
  int p0 = passed, f0 = failed;
  static const struct {
    const char *file, *sep, *eol;
  } pages[] = {
      {"getdata_xml.xml", NULL, NULL},
      {"getdata_csv.xml", NULL, NULL},
      {"getdata_pipe.xml", "|", NULL},
      {"getdata_multi.xml", "::", "^"},
  };
  char *first_rows = NULL;
  for (size_t k = 0; k < sizeof pages / sizeof pages[0]; k++) {
    tt_reply *r;
    CHECK(parse_all_ways(pages[k].file, pages[k].sep, pages[k].eol, &r) == 0);
    const tt_page *p = tt_reply_page(r);
    CHECK(p->nrows == 9);
    size_t len;
    CHECK_STR(cell(r, 1, 3, &len), "say \"hi\"");
    CHECK(cell(r, 2, 1, &len) && len == 0); /* N/A kept in place */
    CHECK(cell(r, 2, 2, &len) && len == 0);
    CHECK_STR(cell(r, 2, 3, &len), "line1\nline2");
    CHECK_STR(cell(r, 4, 1, &len), "Z\xc3\xbcrich \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x98\x80");
    CHECK_STR(cell(r, 4, 3, &len), "cr\r\nlf");
    CHECK_STR(cell(r, 5, 1, &len), "<&>");
    CHECK_STR(cell(r, 6, 1, &len), "\xc3\xa9");
    CHECK_STR(cell(r, 6, 3, &len), "]]>");
    CHECK_STR(cell(r, 7, 3, &len), "a::b");
    CHECK_STR(cell(r, 8, 3, &len), "|pipe|");
    /* The tree keeps <data>/<csv> but none of their content. */
    const tt_node *last = NULL;
    for (const tt_node *c = tt_reply_tree(r)->children; c; c = c->next) last = c;
    CHECK(last && !last->children && last->text_len == 0);
    check_writer(r, TT_WRITE_TSV, "rows.tsv");
    check_writer(r, TT_WRITE_CSV, "rows.csv");
    check_writer(r, TT_WRITE_JSONL, "rows.jsonl");
    /* Every encoding gives the same rows. */
    char *d = dump(r, 0);
    char *rows = strstr(d, "row 0:");
    if (!first_rows)
      first_rows = strdup(rows ? rows : "");
    else if (!CHECK(rows && strcmp(rows, first_rows) == 0))
      fprintf(stderr, "    %s:\n%s\n", pages[k].file, rows ? rows : "");
    free(d);
    tt_reply_free(&r);
  }
  free(first_rows);

  tt_reply *r;
  CHECK(parse_all_ways("getdata_xml.xml", NULL, NULL, &r) == 0);
  size_t len;
  int rc;
  char *s = write_mem(r, TT_WRITE_TSV, 0, &len, &rc);
  CHECK(rc == 0 && strncmp(s, "1\talpha\t", 8) == 0); /* no header */
  free(s);
  tt_reply_free(&r);

  CHECK(parse_all_ways("csv_nocols.xml", NULL, NULL, &r) == 0);
  size_t nc;
  const tt_column *c = tt_reply_columns(r, &nc);
  CHECK(nc == 2 && strcmp(c[0].name, "a") == 0 && strcmp(c[1].name, "b c") == 0);
  CHECK(nc == 2 && strcmp(c[1].type, "a") == 0);
  CHECK(tt_reply_page(r)->nrows == 3);
  CHECK(tt_page_row(tt_reply_page(r), 1, &len) == 1); /* a blank line: one N/A cell */
  CHECK_STR(cell(r, 2, 0, &len), "x");
  CHECK(cell(r, 2, 1, &len) && len == 0);
  s = write_mem(r, TT_WRITE_CSV, 1, &len, &rc);
  CHECK_STR(s, "a,b c\r\n1,2\r\n,\r\nx,\r\n");
  free(s);
  tt_reply_free(&r);

  CHECK(parse_all_ways("ragged.xml", NULL, NULL, &r) == 0);
  CHECK(tt_reply_page(r)->nrows == 4);
  check_writer(r, TT_WRITE_TSV, "ragged.tsv");
  check_writer(r, TT_WRITE_JSONL, "ragged.jsonl");
  tt_reply_free(&r);
  group("rows: xml, csv, separators", p0, f0);
}

static void test_bad(void)
{
  int p0 = passed, f0 = failed;
  static const struct {
    const char *file, *why;
  } bad[] = {
      {"malformed.xml", "malformed reply at line 2"},
      {"truncated.xml", "malformed reply"},
      {"norc.xml", "the reply has no <rc>"},
      {"badrc.xml", "the reply's <rc> is not an integer: 'zero'"},
      {"nested_rc.xml", "the reply has no <rc>"},
      {"empty.xml", "the reply is empty"},
      {"entity_decl.xml", "malformed reply at line 3: Entity 'boom' not defined"},
      {"bad_utf8.xml", "malformed reply"},
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    tt_reply *r;
    int rc = parse_all_ways(bad[k].file, NULL, NULL, &r);
    if (!CHECK(rc == TT_E_XML)) fprintf(stderr, "    %s: code %d\n", bad[k].file, rc);
    const char *e = tt_reply_error(r);
    if (!CHECK(strncmp(e, bad[k].why, strlen(bad[k].why)) == 0))
      fprintf(stderr, "    %s: '%s'\n", bad[k].file, e);
    CHECK(tt_reply_feed(r, "x", 1) == TT_E_XML); /* sticky */
    tt_reply_free(&r);
  }
  tt_reply_free(NULL);
  group("bad replies", p0, f0);
}

/* ---- the conformance corpus ---------------------------------------------------------------- */

/* The one data set of every row-bearing shape: 3 rows x 3 columns, an N/A cell (NULL), a cell
 * holding both CSV separators used, one holding & " < >. */
static const char *const corpus_rows[3][3] = {
    {"KBOS", "6", "Logan, Boston|MA"},
    {"KDEN", "1656", NULL},
    {"KSEA", "132", "Sea & \"Tac\" <WA>"},
};
static const char *const corpus_names[3] = {"station", "elev", "note"};
static const char *const corpus_types[3] = {"a", "i", "a"};
static const char *const corpus_labels[3] = {"Station\nID", "Elevation (m)", "Note"};
static const char corpus_csv[] = "station,elev,note\r\nKBOS,6,\"Logan, Boston|MA\"\r\n"
                                 "KDEN,1656,\r\nKSEA,132,\"Sea & \"\"Tac\"\" <WA>\"\r\n";

/* What a shape's columns carry. */
enum {
  C_NONE,     /* no columns */
  C_FULL,     /* names, types, headings */
  C_ALL,      /* C_FULL plus desc and format */
  C_NAMES,    /* names only: type a, label = name */
  C_HEADINGS, /* headings only: name = trimmed heading, type a */
};

static void check_corpus_columns(const char *file, const tt_reply *r, int kind)
{
  size_t nc;
  const tt_column *c = tt_reply_columns(r, &nc);
  if (!check(nc == (kind == C_NONE ? 0 : 3), "column count", __FILE__, __LINE__))
    fprintf(stderr, "    %s: %zu columns\n", file, nc);
  if (kind == C_NONE || nc != 3) return;
  static const char *const descs[3] = {"ICAO station code", "Height above sea level", "Free text"};
  static const char *const formats[3] = {"type:char", "type:nocommas", "type:char"};
  static const char *const heads[3] = {"Station\nID", "Elevation (m)", "\n  Note\n"};
  for (size_t j = 0; j < 3; j++) {
    int typed = kind == C_FULL || kind == C_ALL;
    CHECK_STR(c[j].name, kind == C_HEADINGS ? corpus_labels[j] : corpus_names[j]);
    CHECK_STR(c[j].type, typed ? corpus_types[j] : "a");
    CHECK_STR(c[j].label, typed ? corpus_labels[j] : kind == C_HEADINGS ? heads[j] : c[j].name);
    if (kind == C_ALL) {
      CHECK_STR(c[j].desc, descs[j]);
      CHECK_STR(c[j].format, formats[j]);
    } else {
      CHECK(c[j].desc == NULL && c[j].format == NULL);
    }
  }
}

static void check_corpus_rows(const char *file, const tt_reply *r)
{
  const tt_page *p = tt_reply_page(r);
  if (!check(p->nrows == 3, "three rows", __FILE__, __LINE__))
    fprintf(stderr, "    %s: %zu rows\n", file, p->nrows);
  for (size_t i = 0; i < 3 && i < p->nrows; i++) {
    size_t first;
    CHECK(tt_page_row(p, i, &first) == 3);
    for (size_t j = 0; j < 3; j++) {
      size_t len;
      const char *got = cell(r, i, j, &len), *want = corpus_rows[i][j];
      if (!check(got && (want ? strcmp(got, want) == 0 : len == 0), "cell as in the corpus",
                 __FILE__, __LINE__))
        fprintf(stderr, "    %s row %zu col %zu: got [%s] want [%s]\n", file, i, j,
                got ? got : "(none)", want ? want : "N/A");
    }
  }
  /* Named columns give the same CSV, byte for byte, whatever the shape. */
  size_t nc, len;
  tt_reply_columns(r, &nc);
  if (nc != 3 || strcmp(tt_reply_columns(r, &nc)[0].name, "station") != 0) return;
  int rc;
  char *s = write_mem(r, TT_WRITE_CSV, 1, &len, &rc);
  if (!check(rc == 0 && len == sizeof corpus_csv - 1 && memcmp(s, corpus_csv, len) == 0,
             "the same CSV from every shape", __FILE__, __LINE__))
    fprintf(stderr, "    %s wrote:\n%.*s\n", file, (int)len, s);
  free(s);
}

static void test_corpus(void)
{
  int p0 = passed, f0 = failed;
  static const struct {
    const char *file, *sep, *eol;
    int64_t total; /* -1: the reply states none */
    int rows, cols;
  } shapes[] = {
      {PLATFORM("query_nrows_attr.xml"), NULL, NULL, 3, 0, C_FULL},
      {PLATFORM("query_nrows_out.xml"), NULL, NULL, 3, 0, C_FULL},
      {PLATFORM("query_nrows_table.xml"), NULL, NULL, 3, 0, C_FULL},
      {PLATFORM("query_count_absent.xml"), NULL, NULL, -1, 0, C_FULL},
      {PLATFORM("getdata_data_out.xml"), NULL, NULL, 3, 1, C_FULL},
      {PLATFORM("getdata_data_table.xml"), NULL, NULL, -1, 1, C_FULL},
      {PLATFORM("csv_cdata.xml"), NULL, NULL, 3, 1, C_FULL},
      {PLATFORM("csv_plain.xml"), NULL, NULL, 3, 1, C_FULL},
      {PLATFORM("csv_sep_linesep.xml"), "|", "^", -1, 1, C_FULL},
      {PLATFORM("csv_nocols.xml"), NULL, NULL, -1, 1, C_NAMES},
      {PLATFORM("th_all_attrs.xml"), NULL, NULL, 3, 1, C_ALL},
      {PLATFORM("th_name_only.xml"), NULL, NULL, 3, 1, C_NAMES},
      {PLATFORM("th_text_only.xml"), NULL, NULL, -1, 1, C_HEADINGS},
      {PLATFORM("cols_under_out.xml"), NULL, NULL, 3, 1, C_FULL},
      {PLATFORM("unknown_elements.xml"), NULL, NULL, 3, 1, C_FULL},
      {PLATFORM("getdata_empty.xml"), NULL, NULL, -1, 0, C_FULL},
      {PLATFORM("login.xml"), NULL, NULL, -1, 0, C_NONE},
      {PLATFORM("logout.xml"), NULL, NULL, -1, 0, C_NONE},
      {PLATFORM("getuid.xml"), NULL, NULL, -1, 0, C_NONE},
      {PLATFORM("error.xml"), NULL, NULL, -1, 0, C_NONE},
  };
  for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
    const char *file = strrchr(shapes[k].file, '/') + 1;
    tt_reply *r;
    int code = parse_all_ways(shapes[k].file, shapes[k].sep, shapes[k].eol, &r);
    if (!check(code == 0, "the shape parses", __FILE__, __LINE__)) {
      fprintf(stderr, "    %s: %s\n", file, tt_reply_error(r));
      tt_reply_free(&r);
      continue;
    }
    int64_t total = -7;
    int stated = tt_reply_total(r, &total);
    if (!check(shapes[k].total < 0 ? !stated && total == -7 : stated && total == shapes[k].total,
               "the stated row count", __FILE__, __LINE__))
      fprintf(stderr, "    %s: stated %d, %" PRId64 "\n", file, stated, total);
    if (strcmp(file, "error.xml") != 0) CHECK(tt_reply_rc(r) == 0);
    check_corpus_columns(file, r, shapes[k].cols);
    if (shapes[k].rows)
      check_corpus_rows(file, r);
    else
      CHECK(tt_reply_page(r)->nrows == 0);
    tt_reply_free(&r);
  }

  /* The replies without rows: their fields, whatever the order of <out>'s children. */
  tt_reply *r;
  CHECK(parse_all_ways(PLATFORM("login.xml"), NULL, NULL, &r) == 0);
  CHECK_STR(tt_reply_msg(r), "Last login was: 2026-11-02 08:14:55");
  CHECK_STR(tt_reply_field(r, "sid", NULL), "4807715523");
  CHECK_STR(tt_reply_field(r, "pswd", NULL), "__5ab0e2d4c9f1837a6e42b1d09c8f7e35");
  CHECK_STR(tt_reply_field(r, "version", NULL), "prime-19.07");
  tt_reply_free(&r);
  CHECK(parse_all_ways(PLATFORM("getuid.xml"), NULL, NULL, &r) == 0);
  CHECK_STR(tt_reply_msg(r), "OK");
  CHECK_STR(tt_reply_field(r, "uid", NULL), "acme_pool_2");
  tt_reply_free(&r);
  CHECK(parse_all_ways(PLATFORM("error.xml"), NULL, NULL, &r) == 0);
  CHECK(tt_reply_rc(r) == 17);
  CHECK_STR(tt_reply_msg(r), "Table not found: pub.demo.nowhere");
  tt_reply_free(&r);
  CHECK(parse_all_ways(PLATFORM("logout.xml"), NULL, NULL, &r) == 0);
  CHECK_STR(tt_reply_msg(r), "Logged out");
  tt_reply_free(&r);

  /* Unknown elements are kept in the tree but give no rows, columns or table. */
  CHECK(parse_all_ways(PLATFORM("unknown_elements.xml"), NULL, NULL, &r) == 0);
  CHECK_STR(tt_reply_msg(r), "3 rows");
  CHECK_STR(tt_reply_field(r, "elapsed", NULL), "0.012");
  CHECK_STR(attr(tt_reply_table(r), "owner"), "demo");
  const tt_node *trace = tt_reply_tree(r)->children;
  CHECK(trace && strcmp(trace->tag, "trace") == 0 && trace->children && trace->children->next &&
        strcmp(trace->children->next->tag, "data") == 0);
  tt_reply_free(&r);
  group("platform reply corpus", p0, f0);
}

/* Parse a reply given as a string, in one piece and byte by byte (both must agree). */
static int parse_str(const char *xml, tt_reply **out)
{
  tt_reply *r2;
  int c1 = parse(xml, strlen(xml), 0, NULL, NULL, out);
  int c2 = parse(xml, strlen(xml), 1, NULL, NULL, &r2);
  CHECK(c1 == c2 && strcmp(tt_reply_error(*out), tt_reply_error(r2)) == 0);
  tt_reply_free(&r2);
  return c1;
}

static void test_counts(void)
{
  int p0 = passed, f0 = failed;
  static const struct {
    const char *xml;
    int64_t total; /* -1: none stated; -2: the parse fails with `why` */
    const char *why;
  } cases[] = {
      {"<out><rc>0</rc><table nrows=\"5\"><nrows>6</nrows></table><nrows>7</nrows></out>", 5, NULL},
      {"<out><rc>0</rc><nrows>7</nrows><table><nrows>6</nrows></table></out>", 6, NULL},
      {"<out><nrows>\n7 </nrows><rc>0</rc></out>", 7, NULL},
      {"<out><rc>0</rc><table nrows=\"9223372036854775807\"/></out>", INT64_MAX, NULL},
      {"<out><rc>0</rc><table nrows=\"0\" count=\"0\"/></out>", 0, NULL},
      {"<out><rc>0</rc><table count=\"4\"/></out>", -1, NULL}, /* count: the page's rows */
      {"<out><rc>0</rc><x><nrows>oops</nrows><table nrows=\"-1\"/></x></out>", -1, NULL},
      {"<out><rc>0</rc><dir><table nrows=\"3\"/></dir></out>", -1, NULL},
      {"<out><rc>0</rc><table nrows=\"2\"/><table nrows=\"x\"/></out>", 2, NULL},
      {"<out><rc>0</rc><table nrows=\"-1\"/></out>", -2,
       "the reply's <table nrows> is not a whole number: '-1'"},
      {"<out><rc>0</rc><table nrows=\"\"/></out>", -2,
       "the reply's <table nrows> is not a whole number: ''"},
      {"<out><rc>0</rc><table count=\"3x\" nrows=\"3\"/></out>", -2,
       "the reply's <table count> is not a whole number: '3x'"},
      {"<out><rc>0</rc><table count=\"1.5\"/></out>", -2,
       "the reply's <table count> is not a whole number: '1.5'"},
      {"<out><rc>0</rc><nrows>many</nrows></out>", -2,
       "the reply's <nrows> is not a whole number: 'many'"},
      {"<out><rc>0</rc><table><nrows/></table></out>", -2,
       "the reply's <table><nrows> is not a whole number: ''"},
      {"<out><rc>0</rc><nrows>9223372036854775808</nrows></out>", -2,
       "the reply's <nrows> is not a whole number: '9223372036854775808'"},
      {"<out><rc>0</rc><nrows>+3</nrows></out>", -2,
       "the reply's <nrows> is not a whole number: '+3'"},
      /* A CSV page is rectangular: an unquoted separator in a value, or a record cut short,
       * is refused, never a shifted row. A blank line is a row of N/A. */
      {"<out><rc>0</rc><csv>a,b\n1,2\n3,x,y\n</csv></out>", -2,
       "CSV record 2 has 3 fields where the header has 2 (a value with an unquoted separator, "
       "or a cut record)"},
      {"<out><rc>0</rc><csv><![CDATA[a,b\n1,2\n3\n]]></csv></out>", -2,
       "CSV record 2 has 1 field where the header has 2 (a value with an unquoted separator, "
       "or a cut record)"},
      {"<out><rc>0</rc><csv>a,b\n1,2\n\n\"3,4\",5\n</csv></out>", -1, ""},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    tt_reply *r;
    int code = parse_str(cases[k].xml, &r);
    int64_t n = -7;
    if (cases[k].total == -2) {
      if (!CHECK(code == TT_E_XML && strcmp(tt_reply_error(r), cases[k].why) == 0))
        fprintf(stderr, "    case %zu: code %d, '%s'\n", k, code, tt_reply_error(r));
    } else if (!CHECK(code == 0 &&
                      (cases[k].total < 0 ? !tt_reply_total(r, &n)
                                          : tt_reply_total(r, &n) && n == cases[k].total))) {
      fprintf(stderr, "    case %zu: code %d '%s', total %" PRId64 "\n", k, code, tt_reply_error(r),
              n);
    }
    tt_reply_free(&r);
  }

  /* Only <out>'s own <table>, <cols>, <data> and <csv> (or the table's) make the result. */
  tt_reply *r;
  CHECK(parse_str("<out><rc>0</rc><dir><table name=\"a\"><cols><th name=\"x\"/></cols>"
                  "<data><tr><td>1</td></tr></data></table></dir><csv>h\n2\n</csv></out>",
                  &r) == 0);
  size_t nc;
  const tt_column *c = tt_reply_columns(r, &nc);
  CHECK(tt_reply_table(r) == NULL);
  CHECK(nc == 1 && strcmp(c[0].name, "h") == 0);
  CHECK(tt_reply_page(r)->nrows == 1);
  tt_reply_free(&r);
  /* An element inside <csv> is ignored, text and all. */
  CHECK(parse_str("<out><rc>0</rc><csv>a,b\n1,<x>junk</x>2\n</csv></out>", &r) == 0);
  size_t len;
  CHECK_STR(cell(r, 0, 1, &len), "2");
  tt_reply_free(&r);
  group("row counts and placement", p0, f0);
}

/* The CSV reader alone, in pieces of every size, on text with every delimiter case. */
static char *csv_rows(const char *text, size_t len, size_t chunk, const char *sep, const char *eol)
{
  tt_page header = {0}, rows = {0};
  tt_csv c;
  tt_csv_init(&c, &header, &rows, sep, eol);
  if (!chunk) chunk = len ? len : 1;
  for (size_t i = 0; i < len; i += chunk)
    tt_csv_feed(&c, text + i, len - i < chunk ? len - i : chunk);
  tt_csv_finish(&c);
  sbuf b = {0};
  b.f = open_memstream(&b.p, &b.len);
  tt_page *pages[2] = {&header, &rows};
  for (int k = 0; k < 2; k++) {
    for (size_t i = 0; i < pages[k]->nrows; i++) {
      size_t first, n = tt_page_row(pages[k], i, &first);
      fprintf(b.f, "%s", k ? "|" : "H");
      for (size_t j = 0; j < n; j++) {
        size_t l;
        const char *s = tt_page_cell(pages[k], first + j, &l);
        fprintf(b.f, l ? "[%.*s]" : "NA", (int)l, s);
      }
    }
  }
  fclose(b.f);
  tt_page_free(&header);
  tt_page_free(&rows);
  tt_page_free(&rows); /* twice is fine */
  return b.p;
}

static void test_csv(void)
{
  int p0 = passed, f0 = failed;
  static const struct {
    const char *text, *sep, *eol, *want;
  } cases[] = {
      {"a,b\n1,2\n", NULL, NULL, "H[a][b]|[1][2]"},
      {"a,b\r\n1,2\r\n\r\n", NULL, NULL, "H[a][b]|[1][2]|NA"},
      {"h\n\"x\"\"y\",\"p\nq\",\"r\r\",\"\"\n", NULL, NULL, "H[h]|[x\"y][p\nq][r\r]NA"},
      {"h\n1,2", NULL, NULL, "H[h]|[1][2]"},
      {"h\n,,\n", NULL, NULL, "H[h]|NANANA"},
      {"h\na\"b,\"c\"d\n", NULL, NULL, "H[h]|[a\"b][cd]"},
      {"h\nx\ry\n", NULL, NULL, "H[h]|[x\ry]"},
      {"h\n\"unterminated", NULL, NULL, "H[h]|[unterminated]"},
      {"a::b^1:2::3^^:::x^", "::", "^", "H[a][b]|[1:2][3]|NA|NA[:x]"},
      {"a<>b<>>c##1<>\"<>\"##", "<>", "##", "H[a][b][>c]|[1][<>]"},
      {"a;b\n1;\"2;3\"\n", ";", NULL, "H[a][b]|[1][2;3]"},
      {"aXYbXYZ1XY2XYZ", "XY", "XYZ", "H[a][b]|[1][2]"},
      {"", NULL, NULL, ""},
      {"\n", NULL, NULL, "HNA"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    size_t len = strlen(cases[k].text);
    for (size_t chunk = 0; chunk <= 7; chunk++) {
      char *got = csv_rows(cases[k].text, len, chunk, cases[k].sep, cases[k].eol);
      if (!CHECK(strcmp(got, cases[k].want) == 0))
        fprintf(stderr, "    case %zu, %zu-byte pieces: got %s want %s\n", k, chunk, got,
                cases[k].want);
      free(got);
    }
  }
  /* Every cut of the big fixture's CSV text into three pieces gives the same rows. */
  const char *text = "id,name\n1,\"a,b\"\r\n2,\"say \"\"hi\"\"\"\n3,\"x\r\ny\"\n4,\n";
  size_t len = strlen(text);
  char *want = csv_rows(text, len, 0, NULL, NULL);
  int same = 1;
  for (size_t i = 0; i <= len; i++) {
    for (size_t j = i; j <= len; j++) {
      tt_page header = {0}, rows = {0};
      tt_csv c;
      tt_csv_init(&c, &header, &rows, NULL, NULL);
      tt_csv_feed(&c, text, i);
      tt_csv_feed(&c, text + i, j - i);
      tt_csv_feed(&c, text + j, len - j);
      tt_csv_finish(&c);
      same &= rows.nrows == 4 && header.nrows == 1;
      tt_page_free(&header);
      tt_page_free(&rows);
    }
  }
  CHECK(same);
  free(want);
  group("csv reader", p0, f0);
}

static void test_numbers(void)
{
  int p0 = passed, f0 = failed;
  /* JSON numbers: copied when already plain, else the shortest text that reads back. */
  static const struct {
    const char *type, *in, *out;
  } cases[] = {
      {"f", "1.5", "1.5"},
      {"f", "100.50", "100.5"},
      {"f", "1e3", "1000"},
      {"f", "0.1", "0.1"},
      {"f", ".5", "0.5"},
      {"f", "inf", "null"},
      {"f", "nan", "null"},
      {"f", "abc", "\"abc\""},
      {"f", "-0", "-0"},
      {"f", "00.5", "0.5"},
      {"i", "42", "42"},
      {"i", "-7", "-7"},
      {"i", "007", "7"},
      {"i", "-0", "0"},
      {"i", "1.5", "\"1.5\""},
      {"i", "99999999999999999999", "\"99999999999999999999\""},
      {"j", "9223372036854775807", "9223372036854775807"},
      {"a", "\x01\x7f\xff\xc3\xa9", "\"\\u0001\x7f\\ufffd\xc3\xa9\""},
      {"a", "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    tt_page p = {0};
    tt_page_begin_row(&p);
    tt_page_add_text(&p, cases[k].in, strlen(cases[k].in));
    tt_page_end_cell(&p);
    tt_column col = {"v", (char *)cases[k].type, NULL, "v", NULL};
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);
    uint64_t bytes;
    CHECK(tt_write_page(f, TT_WRITE_JSONL, &p, &col, 1, 1, &bytes) == 0);
    fclose(f);
    char want[128];
    snprintf(want, sizeof want, "{\"v\":%s}\n", cases[k].out);
    CHECK_STR(out, want);
    free(out);
    tt_page_free(&p);
  }
  CHECK(tt_write_format("tsv") == TT_WRITE_TSV && tt_write_format("xls") == -1);
  group("json numbers and strings", p0, f0);
}

/* No page (an empty result): the header alone, in every format that has one. */
static void test_header_only(void)
{
  int p0 = passed, f0 = failed;
  tt_column cols[2] = {{"id", "i", NULL, "id", NULL}, {"a,b", "a", NULL, "a,b", NULL}};
  static const struct {
    int format;
    const char *want;
  } cases[] = {
      {TT_WRITE_TSV, "id\ta,b\n"},
      {TT_WRITE_CSV, "id,\"a,b\"\r\n"},
      {TT_WRITE_JSONL, ""},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);
    uint64_t bytes = 99;
    CHECK(tt_write_page(f, cases[k].format, NULL, cols, 2, 1, &bytes) == 0);
    fclose(f);
    CHECK_STR(out, cases[k].want);
    CHECK(bytes == strlen(cases[k].want));
    free(out);
  }
  group("header of an empty result", p0, f0);
}

static void test_bodies(void)
{
  int p0 = passed, f0 = failed;
  static const struct {
    const char *body, *sep, *eol;
  } cases[] = {
      {"<in><format type=\"csv\"><sep>|</sep><linesep>^</linesep></format></in>", "|", "^"},
      {"<in><ops><sel value=\"elev<2000\"/></ops><format type=\"csv\"><sep> :: </sep>"
       "</format></in>",
       "::", ""},
      {"<in><format type=\"csv\"><sep>&amp;</sep><linesep>&#10;</linesep></format></in>", "&", ""},
      {"<in><format type=\"csv\"><sep>0123456789abcdefghij</sep></format></in>", "0123456789abcde",
       ""},
      {"<in><rows mode=\"1\"><next>3</next></rows></in>", "", ""},
      {"not xml", "", ""},
      {"", "", ""},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    char sep[TT_CSV_DELIM_MAX + 1], eol[TT_CSV_DELIM_MAX + 1];
    tt_reply_csv_delims(cases[k].body, strlen(cases[k].body), sep, eol, sizeof sep);
    CHECK_STR(sep, cases[k].sep);
    CHECK_STR(eol, cases[k].eol);
  }
  group("csv separators of a body", p0, f0);
}

/* ---- big pages ------------------------------------------------------------------------------ */

static char *gen_page(size_t nrows, size_t first, int csv, size_t *len)
{
  sbuf b = {0};
  b.f = open_memstream(&b.p, &b.len);
  fprintf(b.f,
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<out><rc>0</rc><msg>%zu rows</msg>"
          "<table name=\"pub.demo.weather.hourly90\" nrows=\"%zu\" first=\"%zu\" count=\"%zu\">"
          "<cols><th name=\"id\" type=\"a\">Station ID</th><th name=\"date\" type=\"i\">Date</th>"
          "<th name=\"hour\" type=\"i\">Hour</th><th name=\"temp\" type=\"f\">Temp</th>"
          "<th name=\"dewpt\" type=\"f\">Dew</th><th name=\"rain\" type=\"f\">Rain</th></cols>"
          "</table>%s",
          nrows, first + nrows, first, nrows,
          csv ? "<csv><![CDATA[id,date,hour,temp,dewpt,rain\n" : "<data>");
  for (size_t k = first; k < first + nrows; k++) {
    int t = (int)(k * 7919 % 600) - 200, d = t - (int)(k % 97);
    char rain[16] = "";
    if (k % 100) snprintf(rain, sizeof rain, "%d.%d", (int)(k % 13), (int)(k % 10));
    if (csv)
      fprintf(b.f, "ST%04zu,%zu,%zu,%d.%d,%d.%d,%s\n", k / 8760, 19900101 + k % 365, k % 24, t / 10,
              abs(t % 10), d / 10, abs(d % 10), rain);
    else
      fprintf(b.f,
              "<tr><td>ST%04zu</td><td>%zu</td><td>%zu</td><td>%d.%d</td><td>%d.%d</td>"
              "%s%s%s</tr>",
              k / 8760, 19900101 + k % 365, k % 24, t / 10, abs(t % 10), d / 10, abs(d % 10),
              *rain ? "<td>" : "<td/>", rain, *rain ? "</td>" : "");
  }
  fprintf(b.f, "%s</out>\n", csv ? "]]></csv>" : "</data>");
  fclose(b.f);
  *len = b.len;
  return b.p;
}

/* A reply's header and rows in the notation of csv_rows (header from the column names). */
static char *page_text(const tt_reply *r)
{
  sbuf b = {0};
  b.f = open_memstream(&b.p, &b.len);
  size_t nc;
  const tt_column *c = tt_reply_columns(r, &nc);
  if (nc) fputc('H', b.f);
  for (size_t j = 0; j < nc; j++) fprintf(b.f, *c[j].name ? "[%s]" : "NA", c[j].name);
  const tt_page *p = tt_reply_page(r);
  for (size_t i = 0; i < p->nrows; i++) {
    size_t first, n = tt_page_row(p, i, &first);
    fputc('|', b.f);
    for (size_t j = 0; j < n; j++) {
      size_t l;
      const char *s = tt_page_cell(p, first + j, &l);
      fprintf(b.f, l ? "[%.*s]" : "NA", (int)l, s);
    }
  }
  fclose(b.f);
  return b.p;
}

static void test_huge(void)
{
  int p0 = passed, f0 = failed;
  /* 400,000 CSV rows are one text node of about 13 MB: past libxml2's default 10 MB cap. */
  static const struct {
    size_t rows;
    int csv;
  } pages[] = {{100000, 0}, {400000, 1}};
  for (size_t k = 0; k < 2; k++) {
    size_t len;
    char *data = gen_page(pages[k].rows, 0, pages[k].csv, &len);
    static const size_t chunks[] = {0, 16384, 4093, 65536};
    char *want = NULL;
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
      tt_reply *r;
      int rc = parse(data, len, chunks[c], NULL, NULL, &r);
      CHECK(rc == 0);
      CHECK(tt_reply_page(r)->nrows == pages[k].rows);
      char *d = dump(r, rc);
      if (!want)
        want = d;
      else {
        CHECK(strcmp(d, want) == 0);
        free(d);
      }
      tt_reply_free(&r);
    }
    free(want);
    free(data);
  }
  /* The same rows as XML and as CSV give the same page. */
  size_t lx, lc;
  char *x = gen_page(5000, 123, 0, &lx), *c = gen_page(5000, 123, 1, &lc);
  tt_reply *rx, *rc;
  CHECK(parse(x, lx, 0, NULL, NULL, &rx) == 0 && parse(c, lc, 0, NULL, NULL, &rc) == 0);
  char *dx = dump(rx, 0), *dc = dump(rc, 0);
  CHECK(strcmp(strstr(dx, "page: "), strstr(dc, "page: ")) == 0);
  free(dx);
  free(dc);
  free(x);
  free(c);
  tt_reply_free(&rx);
  tt_reply_free(&rc);

  /* Long CDATA sections are split as they come: content rich in ']' and '>' must read the
   * same as the CSV reader gives for the text itself. */
  /* Records of three quoted fields (a CSV page must be rectangular), the fields full of
   * separators, line breaks, quotes and "]]>". */
  size_t n = 0;
  char *text = NULL;
  FILE *tf = open_memstream(&text, &n);
  uint64_t seed = 42;
  for (size_t rec = 0; rec < 8000; rec++) {
    for (int f = 0; f < 3; f++) {
      fputs(f ? ",\"" : "\"", tf);
      for (int k = 0; k < 15; k++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        char ch = "]]]>a,\n\"x"[(seed >> 33) % 9];
        fputc(ch, tf);
        if (ch == '"') fputc('"', tf);
      }
      fputc('"', tf);
    }
    fputc('\n', tf);
  }
  fclose(tf);
  sbuf b = {0};
  b.f = open_memstream(&b.p, &b.len);
  fputs("<out><rc>0</rc><!-- <![CDATA[ --><?pi <![CDATA[ ?><csv><![CDATA[", b.f);
  for (size_t i = 0; i < n; i++) {
    if (i + 2 < n && text[i] == ']' && text[i + 1] == ']' && text[i + 2] == '>')
      fputs("]]]]><![CDATA[", b.f), i++; /* as the gateway splits "]]>" */
    else
      fputc(text[i], b.f);
  }
  fputs("]]></csv></out>", b.f);
  fclose(b.f);
  char *want = csv_rows(text, n, 0, NULL, NULL);
  static const size_t chunks[] = {0, 7, 4096, 65536};
  for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
    tt_reply *r;
    CHECK(parse(b.p, b.len, chunks[k], NULL, NULL, &r) == 0);
    char *got = page_text(r);
    if (!CHECK(strcmp(got, want) == 0)) fprintf(stderr, "    %zu-byte pieces differ\n", chunks[k]);
    free(got);
    tt_reply_free(&r);
  }
  free(want);
  free(text);
  free(b.p);
  group("huge pages", p0, f0);
}

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Parse `total` rows in pages of 50,000, 16 KB at a time (what libcurl hands over), knowing
 * the length as from Content-Length. Best of three runs. */
static int bench(size_t total)
{
  const size_t page = 50000;
  size_t npages = (total + page - 1) / page;
  char **data = calloc(npages, sizeof *data);
  size_t *lens = calloc(npages, sizeof *lens);
  for (int csv = 0; csv <= 1; csv++) {
    double best = 1e9, wsecs = 0;
    size_t bytes = 0, rows = 0;
    for (size_t k = 0; k < npages; k++) {
      size_t first = k * page, n = total - first < page ? total - first : page;
      data[k] = gen_page(n, first, csv, &lens[k]);
    }
    for (int run = 0; run < 3; run++) {
      double secs = 0;
      bytes = rows = 0;
      wsecs = 0;
      for (size_t k = 0; k < npages; k++) {
        size_t len = lens[k];
        double t0 = now();
        tt_reply *r;
        if (tt_reply_new(&r, NULL, NULL)) return 1;
        tt_reply_expect(r, len);
        int rc = 0;
        for (size_t i = 0; i < len && !rc; i += 16384)
          rc = tt_reply_feed(r, data[k] + i, len - i < 16384 ? len - i : 16384);
        if (rc || tt_reply_finish(r)) return 1;
        secs += now() - t0;
        FILE *f = fopen("/dev/null", "w");
        size_t nc;
        const tt_column *c = tt_reply_columns(r, &nc);
        uint64_t w;
        t0 = now();
        tt_write_page(f, TT_WRITE_JSONL, tt_reply_page(r), c, nc, 1, &w);
        wsecs += now() - t0;
        fclose(f);
        rows += tt_reply_page(r)->nrows;
        bytes += len;
        tt_reply_free(&r);
      }
      if (secs < best) best = secs;
    }
    for (size_t k = 0; k < npages; k++) free(data[k]);
    printf("%s: %zu rows, %.1f MB parsed in %.3f s (%.0f MB/s); jsonl written in %.3f s\n",
           csv ? "csv" : "xml", rows, (double)bytes / 1e6, best, (double)bytes / 1e6 / best, wsecs);
  }
  free(data);
  free(lens);
  return 0;
}

int main(int argc, char **argv)
{
  if (argc > 1 && strcmp(argv[1], "--bench") == 0)
    return bench(argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 1000000);
  test_login();
  test_query();
  test_rows();
  test_bad();
  test_corpus();
  test_counts();
  test_csv();
  test_numbers();
  test_header_only();
  test_bodies();
  test_huge();
  return check_report();
}
