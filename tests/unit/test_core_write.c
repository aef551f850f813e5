/*
 * test_core_write: the writer of runtime/core/write.c with its options: CSV separator, header
 * and N/A text, JSON arrays across pages, ISO 8601 dates by column format, gzip output (read
 * back with zlib's inflate and compared with the plain bytes), and failures that stay failed.
 * The plain formats' bytes are checked by test_core_reply. Prints a line per group and
 * "N passed, M failed"; exits nonzero when anything failed.
 */
#include "check.h"
#include "err.h"
#include "page.h"
#include "reply.h"
#include "write.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void group(const char *name, int p0, int f0)
{
  printf("%-28s %4d checks, %s\n", name, passed + failed - p0 - f0, failed == f0 ? "ok" : "FAILED");
}

/* A page of rows of ncols cells each; NULL (or "") is N/A. */
static void fill(tt_page *p, const char *const *cells, size_t nrows, size_t ncols)
{
  for (size_t i = 0; i < nrows; i++) {
    tt_page_begin_row(p);
    for (size_t j = 0; j < ncols; j++) {
      const char *s = cells[i * ncols + j];
      if (s) tt_page_add_text(p, s, strlen(s));
      tt_page_end_cell(p);
    }
  }
}

/* Run a writer over the pages into memory: the file's bytes, and the writer's last code. */
static char *run(const tt_write_opts *o, const tt_page *const *pages, size_t npages,
                 const tt_column *cols, size_t ncols, size_t *len, int *rc)
{
  char *buf = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&buf, &n);
  tt_writer *w = NULL;
  *rc = tt_writer_new(&w, f, o);
  for (size_t k = 0; k < npages && *rc == 0; k++) *rc = tt_writer_page(w, pages[k], cols, ncols);
  if (*rc == 0) *rc = tt_writer_finish(w, cols, ncols);
  uint64_t bytes = w ? tt_writer_bytes(w) : 0;
  tt_writer_free(&w);
  tt_writer_free(&w); /* a second free is harmless */
  fclose(f);
  CHECK(bytes == n);
  *len = n;
  return buf;
}

static char *run_text(const tt_write_opts *o, const tt_page *const *pages, size_t npages,
                      const tt_column *cols, size_t ncols)
{
  size_t len;
  int rc;
  char *s = run(o, pages, npages, cols, ncols, &len, &rc);
  CHECK(rc == 0);
  return s;
}

/* ---- options ------------------------------------------------------------------------------ */

static void test_options(void)
{
  int p0 = passed, f0 = failed;
  static const struct {
    int format;
    char sep;
    const char *na;
    int dates, gzip;
  } bad[] = {
      {TT_WRITE_CSV, '"', NULL, 0, 0},
      {TT_WRITE_CSV, '\n', NULL, 0, 0},
      {TT_WRITE_CSV, '\r', NULL, 0, 0},
      {TT_WRITE_TSV, ';', NULL, 0, 0},
      {TT_WRITE_JSON, ',', NULL, 0, 0},
      {TT_WRITE_JSONL, 0, "NA", 0, 0},
      {TT_WRITE_CSV, 0, NULL, 2, 0},
      {TT_WRITE_CSV, 0, NULL, 0, 10},
      {7, 0, NULL, 0, 0},
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    tt_write_opts o;
    tt_write_opts_init(&o, bad[k].format);
    o.sep = bad[k].sep;
    o.na = bad[k].na;
    o.dates = bad[k].dates;
    o.gzip = bad[k].gzip;
    tt_writer *w = (tt_writer *)&o; /* must be reset to NULL on failure */
    CHECK(tt_writer_new(&w, stdout, &o) == TT_E_INVAL);
    CHECK(w == NULL);
  }
  tt_write_opts o;
  tt_write_opts_init(&o, TT_WRITE_TSV);
  o.sep = '\t'; /* TSV's own separator, named: fine */
  o.na = "";    /* an empty N/A text is the default for every format */
  tt_writer *w;
  CHECK(tt_writer_new(&w, stdout, &o) == 0);
  tt_writer_free(&w);
  CHECK(tt_write_format("json") == TT_WRITE_JSON);
  uint64_t bytes;
  CHECK(tt_write_page(stdout, TT_WRITE_JSON, NULL, NULL, 0, 1, &bytes) == TT_E_INVAL);
  group("options", p0, f0);
}

/* ---- CSV and TSV options ------------------------------------------------------------------ */

static void test_csv_options(void)
{
  int p0 = passed, f0 = failed;
  tt_column cols[3] = {
      {"id", "i", NULL, "id", NULL}, {"a;b", "a", NULL, "a;b", NULL}, {"x", "f", NULL, "x", NULL}};
  static const char *const cells[] = {"1", "p;q", "1.5", "2", NULL, NULL, "3", "a,b", "-2"};
  tt_page p = {0};
  fill(&p, cells, 3, 3);
  const tt_page *pages[] = {&p};

  tt_write_opts o;
  tt_write_opts_init(&o, TT_WRITE_CSV);
  o.sep = ';';
  o.na = "NA";
  char *s = run_text(&o, pages, 1, cols, 3);
  CHECK_STR(s, "id;\"a;b\";x\r\n1;\"p;q\";1.5\r\n2;NA;NA\r\n3;a,b;-2\r\n");
  free(s);

  o.header = 0;
  o.na = "N;A"; /* an N/A text is escaped like any cell */
  s = run_text(&o, pages, 1, cols, 3);
  CHECK_STR(s, "1;\"p;q\";1.5\r\n2;\"N;A\";\"N;A\"\r\n3;a,b;-2\r\n");
  free(s);

  o.header = 0; /* no header and no rows: an empty file */
  s = run_text(&o, NULL, 0, cols, 3);
  CHECK_STR(s, "");
  free(s);

  tt_write_opts_init(&o, TT_WRITE_TSV);
  o.na = "\\N";
  s = run_text(&o, pages, 1, cols, 3);
  CHECK_STR(s, "id\ta;b\tx\n1\tp;q\t1.5\n2\t\\\\N\t\\\\N\n3\ta,b\t-2\n");
  free(s);

  /* the header of an empty result comes from finish's columns */
  tt_write_opts_init(&o, TT_WRITE_CSV);
  o.sep = '\t';
  s = run_text(&o, NULL, 0, cols, 3);
  CHECK_STR(s, "id\ta;b\tx\r\n");
  free(s);
  tt_page_free(&p);
  group("csv and tsv options", p0, f0);
}

/* ---- JSON arrays -------------------------------------------------------------------------- */

static void test_json_array(void)
{
  int p0 = passed, f0 = failed;
  tt_column cols[2] = {{"id", "i", NULL, "id", NULL}, {"name", "a", NULL, "name", NULL}};
  static const char *const c1[] = {"1", "a", "2", NULL};
  static const char *const c2[] = {"3", "c"};
  tt_page p1 = {0}, p2 = {0}, empty = {0};
  fill(&p1, c1, 2, 2);
  fill(&p2, c2, 1, 2);
  tt_write_opts o;
  tt_write_opts_init(&o, TT_WRITE_JSON);

  char *s = run_text(&o, NULL, 0, cols, 2);
  CHECK_STR(s, "[]\n");
  free(s);

  const tt_page *one[] = {&empty};
  s = run_text(&o, one, 1, cols, 2);
  CHECK_STR(s, "[]\n");
  free(s);

  const tt_page *pages[] = {&p1, &empty, &p2};
  s = run_text(&o, pages, 3, cols, 2);
  CHECK_STR(
      s,
      "[\n{\"id\":1,\"name\":\"a\"},\n{\"id\":2,\"name\":null},\n{\"id\":3,\"name\":\"c\"}\n]\n");
  free(s);

  tt_write_opts_init(&o, TT_WRITE_JSONL);
  s = run_text(&o, pages, 3, cols, 2);
  CHECK_STR(s, "{\"id\":1,\"name\":\"a\"}\n{\"id\":2,\"name\":null}\n{\"id\":3,\"name\":\"c\"}\n");
  free(s);

  /* after finish a writer takes nothing more */
  char *buf = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&buf, &n);
  tt_writer *w;
  tt_write_opts_init(&o, TT_WRITE_JSON);
  CHECK(tt_writer_new(&w, f, &o) == 0);
  CHECK(tt_writer_page(w, &p1, cols, 2) == 0);
  CHECK(tt_writer_finish(w, cols, 2) == 0);
  CHECK(tt_writer_page(w, &p2, cols, 2) == TT_E_INVAL);
  CHECK(tt_writer_finish(w, cols, 2) == TT_E_INVAL);
  tt_writer_free(&w);
  fclose(f);
  CHECK_STR(buf, "[\n{\"id\":1,\"name\":\"a\"},\n{\"id\":2,\"name\":null}\n]\n");
  free(buf);
  tt_page_free(&p1);
  tt_page_free(&p2);
  tt_page_free(&empty);
  group("json arrays", p0, f0);
}

/* ---- dates -------------------------------------------------------------------------------- */

static void test_dates(void)
{
  int p0 = passed, f0 = failed;
  tt_column cols[7] = {
      {"d", "i", "type:date;width:8;dec:0", "d", NULL},
      {"d4", "i", " Date4Y ", "d4", NULL},
      {"t", "i", "type:time", "t", NULL},
      {"hm", "i", "width:5;hm24", "hm", NULL},
      {"dt", "j", "type : datetime", "dt", NULL},
      {"n", "i", "type:num;date", "n", NULL}, /* the type item decides */
      {"plain", "i", NULL, "plain", NULL},
  };
  static const char *const cells[] = {
      "20110101", "19900228", "0",      "2359",   "20110101130501", "20110101", "20110101",
      "20000229", "20110229", "235959", "240000", "20111301000000", "1",        "2",
      NULL,       "1000101",  "-1",     "126000", "19991231235960", NULL,       NULL,
      "x",        "99991231", "007",    "61",     "10000101000000", "3",        "3",
  };
  tt_page p = {0};
  fill(&p, cells, 4, 7);
  const tt_page *pages[] = {&p};

  tt_write_opts o;
  tt_write_opts_init(&o, TT_WRITE_CSV);
  o.dates = TT_DATES_ISO;
  o.header = 0;
  char *s = run_text(&o, pages, 1, cols, 7);
  CHECK_STR(s, "2011-01-01,1990-02-28,00:00:00,00:23:59,2011-01-01T13:05:01,20110101,20110101\r\n"
               "2000-02-29,20110229,23:59:59,240000,20111301000000,1,2\r\n"
               ",1000101,-1,126000,19991231235960,,\r\n"
               "x,9999-12-31,00:00:07,61,1000-01-01T00:00:00,3,3\r\n");
  free(s);

  tt_write_opts_init(&o, TT_WRITE_JSONL);
  o.dates = TT_DATES_ISO;
  static const char *const one[] = {"20110101",       "19900228", "0", "2359",
                                    "20110101130501", "5",        "7"};
  tt_page q = {0};
  fill(&q, one, 1, 7);
  const tt_page *qp[] = {&q};
  s = run_text(&o, qp, 1, cols, 7);
  CHECK_STR(s, "{\"d\":\"2011-01-01\",\"d4\":\"1990-02-28\",\"t\":\"00:00:00\",\"hm\":\"00:23:59\","
               "\"dt\":\"2011-01-01T13:05:01\",\"n\":5,\"plain\":7}\n");
  free(s);

  o.dates = TT_DATES_RAW; /* the default: values as sent */
  s = run_text(&o, qp, 1, cols, 7);
  CHECK_STR(s, "{\"d\":20110101,\"d4\":19900228,\"t\":0,\"hm\":2359,\"dt\":20110101130501,\"n\":5,"
               "\"plain\":7}\n");
  free(s);

  /* a separator that ISO text holds makes it quoted */
  tt_write_opts_init(&o, TT_WRITE_CSV);
  o.dates = TT_DATES_ISO;
  o.sep = '-';
  o.header = 0;
  s = run_text(&o, qp, 1, cols, 2);
  CHECK_STR(s, "\"2011-01-01\"-\"1990-02-28\"-0-2359-20110101130501-5-7\r\n");
  free(s);
  tt_page_free(&p);
  tt_page_free(&q);
  group("iso dates", p0, f0);
}

/* ---- gzip --------------------------------------------------------------------------------- */

/* Inflate a gzip file in memory; NULL when it is not one complete gzip stream. */
static char *gunzip(const char *in, size_t n, size_t *outlen)
{
  z_stream z = {0};
  if (inflateInit2(&z, 15 + 16) != Z_OK) return NULL;
  size_t cap = 1 << 16, len = 0;
  char *out = malloc(cap);
  z.next_in = (Bytef *)in;
  z.avail_in = (uInt)n;
  int rc;
  do {
    if (len == cap) out = realloc(out, cap *= 2);
    z.next_out = (Bytef *)out + len;
    z.avail_out = (uInt)(cap - len);
    rc = inflate(&z, Z_NO_FLUSH);
    len = cap - z.avail_out;
  } while (rc == Z_OK);
  int whole = rc == Z_STREAM_END && z.avail_in == 0;
  inflateEnd(&z);
  if (!whole) {
    free(out);
    return NULL;
  }
  *outlen = len;
  return out;
}

static void test_gzip(void)
{
  int p0 = passed, f0 = failed;
  tt_column cols[3] = {{"id", "i", NULL, "id", NULL},
                       {"date", "i", "type:date", "date", NULL},
                       {"v", "f", NULL, "v", NULL}};
  /* Two pages of 40,000 rows: far past the 64 KB buffers, so deflate's output is written many
   * times over, and the last page ends mid-buffer. */
  tt_page p1 = {0}, p2 = {0};
  char a[32], b[32], c[32];
  for (int i = 0; i < 80000; i++) {
    tt_page *p = i < 40000 ? &p1 : &p2;
    snprintf(a, sizeof a, "%d", i);
    snprintf(b, sizeof b, "%d", 20110101 + i % 28);
    snprintf(c, sizeof c, "%d.%02d", i * 7 % 1000, i % 100);
    const char *row[] = {a, b, i % 97 ? c : NULL};
    fill(p, row, 1, 3);
  }
  const tt_page *pages[] = {&p1, &p2};
  for (int format = TT_WRITE_TSV; format <= TT_WRITE_JSON; format++) {
    tt_write_opts o;
    tt_write_opts_init(&o, format);
    o.dates = format == TT_WRITE_CSV ? TT_DATES_ISO : TT_DATES_RAW;
    size_t plen, zlen, ulen = 0;
    int rc;
    char *plain = run(&o, pages, 2, cols, 3, &plen, &rc);
    CHECK(rc == 0);
    o.gzip = format == TT_WRITE_TSV ? 1 : 6;
    char *gz = run(&o, pages, 2, cols, 3, &zlen, &rc);
    CHECK(rc == 0);
    CHECK(zlen > 20 && (unsigned char)gz[0] == 0x1f && (unsigned char)gz[1] == 0x8b);
    CHECK(zlen < plen / 2);
    char *back = gunzip(gz, zlen, &ulen);
    CHECK(back && ulen == plen && memcmp(back, plain, plen) == 0);
    free(back);
    free(gz);
    /* an empty result, gzipped: a whole gzip stream of the header alone */
    gz = run(&o, NULL, 0, cols, 3, &zlen, &rc);
    CHECK(rc == 0);
    back = gunzip(gz, zlen, &ulen);
    const char *want[] = {"id\tdate\tv\n", "id,date,v\r\n", "", "[]\n"};
    CHECK(back && ulen == strlen(want[format]) && memcmp(back, want[format], ulen) == 0);
    free(back);
    free(gz);
    free(plain);
  }
  tt_page_free(&p1);
  tt_page_free(&p2);
  group("gzip", p0, f0);
}

/* ---- failures ----------------------------------------------------------------------------- */

static void test_failures(void)
{
  int p0 = passed, f0 = failed;
  tt_column col = {"v", "a", NULL, "v", NULL};
  tt_page p = {0};
  static const char *const cells[] = {"some text"};
  for (int i = 0; i < 20000; i++) fill(&p, cells, 1, 1);
  for (int gz = 0; gz <= 1; gz++) {
    FILE *f = fopen("/dev/full", "w"); /* every write fails with ENOSPC */
    if (!CHECK(f != NULL)) break;
    tt_write_opts o;
    tt_write_opts_init(&o, TT_WRITE_CSV);
    o.gzip = gz ? 6 : 0;
    tt_writer *w;
    CHECK(tt_writer_new(&w, f, &o) == 0);
    errno = 0;
    int rc = tt_writer_page(w, &p, &col, 1);
    if (rc == 0) rc = tt_writer_finish(w, &col, 1); /* gzip may hold a page until the end */
    CHECK(rc == TT_E_IO && errno == ENOSPC);
    errno = 0;
    CHECK(tt_writer_page(w, &p, &col, 1) == TT_E_IO && errno == ENOSPC);
    CHECK(tt_writer_finish(w, &col, 1) == TT_E_IO);
    tt_writer_free(&w);
    fclose(f);
  }
  tt_page_free(&p);
  group("failures", p0, f0);
}

int main(void)
{
  test_options();
  test_csv_options();
  test_json_array();
  test_dates();
  test_gzip();
  test_failures();
  return check_report();
}
