/*
 * test_store: unit tests of the gateway's table store (store.c), its CSV importer (import.c)
 * and the demo tables (demo.c).
 * Standalone: works in a fresh temporary directory, prints a line per group and ends with
 * "N passed, M failed"; the exit status is nonzero when anything failed.
 */
#include "check.h"
#include "demo.h"
#include "import.h"
#include "store.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[256];

/* A check whose failure also shows the message in the local `err`. */
#define CHECK_ERR(c) check_detail(!!(c), #c, __FILE__, __LINE__, err)

/* Report a group: how many checks it made and whether they all held. */
static void group(const char *name, int p0, int f0)
{
  printf("%-28s %3d checks, %s\n", name, passed + failed - p0 - f0, failed == f0 ? "ok" : "FAILED");
}

static const char *tmp_path(const char *name)
{
  static char bufs[8][512];
  static int next;
  char *b = bufs[next++ % 8];
  snprintf(b, sizeof bufs[0], "%s/%s", tmpdir, name);
  return b;
}

static const char *write_file(const char *name, const char *content, size_t len)
{
  const char *path = tmp_path(name);
  FILE *f = fopen(path, "wb");
  if (!f) {
    perror(path);
    exit(2);
  }
  fwrite(content, 1, len, f);
  fclose(f);
  return path;
}

static int import_str(sqlite3 *db, const char *table, const char *csv, char *err, size_t errlen)
{
  const char *path = write_file("in.csv", csv, strlen(csv));
  return gw_import_csv(db, table, path, err, errlen);
}

static sqlite3 *open_db(const char *name)
{
  char err[512];
  sqlite3 *db;
  const char *path = tmp_path(name);
  unlink(path);
  if (gw_store_open(path, 1, &db, err, sizeof err)) {
    fprintf(stderr, "open %s: %s\n", path, err);
    exit(2);
  }
  return db;
}

/* The first column of the first row of a query, as text (static buffer); "<null>" for NULL,
 * "<none>" when there is no row, "<error>" when it fails. */
__attribute__((format(printf, 2, 3))) static const char *q(sqlite3 *db, const char *fmt, ...)
{
  static char out[4][512];
  static int next;
  char *o = out[next++ % 4];
  char sql[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(sql, sizeof sql, fmt, ap);
  va_end(ap);
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
    fprintf(stderr, "query %s: %s\n", sql, sqlite3_errmsg(db));
    return "<error>";
  }
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    const char *t = (const char *)sqlite3_column_text(st, 0);
    snprintf(o, sizeof out[0], "%s", t ? t : "<null>");
  } else {
    snprintf(o, sizeof out[0], "%s", rc == SQLITE_DONE ? "<none>" : "<error>");
  }
  sqlite3_finalize(st);
  return o;
}

static int64_t qi(sqlite3 *db, const char *sql)
{
  return strtoll(q(db, "%s", sql), NULL, 10);
}

static int64_t version_of(sqlite3 *db, const char *table, int64_t gen)
{
  char err[512];
  gw_table_info t;
  int rc = gw_store_resolve(db, table, gen, &t, err, sizeof err);
  int64_t v = rc ? rc : t.version;
  gw_table_info_free(&t);
  return v;
}

/* Physical tt_v tables must match catalog rows one for one: nothing leaks, nothing dangles. */
static int tables_match_catalog(sqlite3 *db)
{
  return qi(db,
            "SELECT count(*) FROM sqlite_master WHERE type='table' AND name GLOB 'tt_v[0-9]*'") ==
             qi(db, "SELECT count(*) FROM tt_catalog") &&
         qi(db, "SELECT count(*) FROM tt_catalog c WHERE NOT EXISTS (SELECT 1 FROM sqlite_master"
                " WHERE name = 'tt_v' || c.version)") == 0 &&
         qi(db, "SELECT count(*) FROM tt_columns WHERE version NOT IN"
                " (SELECT version FROM tt_catalog)") == 0;
}

/* ---- names ----------------------------------------------------------------------------- */

static void test_names(void)
{
  int p0 = passed, f0 = failed;
  char longname[300];
  CHECK(gw_store_valid_name("a.b"));
  CHECK(gw_store_valid_name("pub.demo.retail.item"));
  CHECK(gw_store_valid_name("A1.b_2.C_"));
  memset(longname, 'a', sizeof longname);
  longname[1] = '.';
  longname[255] = '\0';
  CHECK(gw_store_valid_name(longname));
  longname[255] = 'a';
  longname[256] = '\0';
  CHECK(!gw_store_valid_name(longname));
  CHECK(!gw_store_valid_name(NULL));
  CHECK(!gw_store_valid_name(""));
  CHECK(!gw_store_valid_name("item"));
  CHECK(!gw_store_valid_name("a."));
  CHECK(!gw_store_valid_name(".a"));
  CHECK(!gw_store_valid_name("a..b"));
  CHECK(!gw_store_valid_name("a.b."));
  CHECK(!gw_store_valid_name("1a.b"));
  CHECK(!gw_store_valid_name("a.2b"));
  CHECK(!gw_store_valid_name("_a.b"));
  CHECK(!gw_store_valid_name("a._b"));
  CHECK(!gw_store_valid_name("a.b-c"));
  CHECK(!gw_store_valid_name("a.b c"));
  CHECK(!gw_store_valid_name("a.b\xc3\xa9"));
  group("names", p0, f0);
}

/* ---- open -------------------------------------------------------------------------------- */

static void test_open(void)
{
  int p0 = passed, f0 = failed;
  char err[512] = "";
  sqlite3 *db = (sqlite3 *)1;
  const char *missing = tmp_path("missing.db");
  CHECK_ERR(gw_store_open(missing, 0, &db, err, sizeof err) == GW_STORE_ERR_IO);
  CHECK(db == NULL);
  CHECK_ERR(strstr(err, "missing.db") && strstr(err, "No such file"));
  CHECK(access(missing, F_OK) != 0);

  db = open_db("open.db");
  CHECK_STR(q(db, "PRAGMA journal_mode"), "wal");
  CHECK_STR(q(db, "PRAGMA synchronous"), "1");
  CHECK(qi(db, "SELECT count(*) FROM sqlite_master WHERE name IN ('tt_catalog','tt_columns')") ==
        2);
  int64_t gen = -1;
  CHECK(gw_store_generation(db, &gen) == 0 && gen == 0);
  sqlite3_close(db);
  CHECK_ERR(gw_store_open(tmp_path("open.db"), 0, &db, err, sizeof err) == 0);
  sqlite3_close(db);

  const char *junk = write_file("junk.db", "this is not a database, not at all, no sir......", 48);
  CHECK_ERR(gw_store_open(junk, 0, &db, err, sizeof err) == GW_STORE_ERR_IO);
  CHECK_ERR(strstr(err, "junk.db") != NULL);
  group("open", p0, f0);
}

/* ---- import ------------------------------------------------------------------------------- */

static void test_import(void)
{
  int p0 = passed, f0 = failed;
  char err[512] = "";
  sqlite3 *db = open_db("import.db");
  gw_table_info t = {0};

  /* Typed and inferred columns, quoting, N/A. */
  CHECK_ERR(import_str(db, "t.mixed",
                       "id:i,big,price,name,empty,code:a,flag:j,x:f,small\n"
                       "1,3000000000,1.5,\"Smith, J.\",,007,5,2,-7\n"
                       "2,-3,2,\"He said \"\"hi\"\"\",,008,,3.25,+12\n"
                       "3,,1e3,plain,\"\",,9223372036854775807,,\n",
                       err, sizeof err) == 0);
  CHECK_ERR(gw_store_resolve(db, "t.mixed", 1, &t, err, sizeof err) == 0);
  CHECK(t.version == 1 && t.nrows == 3 && t.ncols == 9 && t.title == NULL);
  CHECK_STR(t.name, "t.mixed");
  if (t.ncols == 9) {
    const char *want = "ijfaaajfi";
    for (size_t i = 0; i < 9; i++) CHECK(t.cols[i].type == want[i]);
    CHECK_STR(t.cols[0].name, "id");
    CHECK_STR(t.cols[8].name, "small");
    CHECK(t.cols[2].format == NULL && t.cols[2].label == NULL);
  }
  CHECK(t.loaded_at > 1.5e9);
  gw_table_info_free(&t);
  gw_table_info_free(&t); /* twice is harmless */
  CHECK_STR(q(db, "SELECT group_concat(_r) FROM tt_v1"), "1,2,3");
  CHECK_STR(q(db, "SELECT typeof(big) || big FROM tt_v1 WHERE _r = 1"), "integer3000000000");
  CHECK_STR(q(db, "SELECT typeof(price) || price FROM tt_v1 WHERE _r = 2"), "real2.0");
  CHECK_STR(q(db, "SELECT price FROM tt_v1 WHERE _r = 3"), "1000.0");
  CHECK_STR(q(db, "SELECT name FROM tt_v1 WHERE _r = 1"), "Smith, J.");
  CHECK_STR(q(db, "SELECT name FROM tt_v1 WHERE _r = 2"), "He said \"hi\"");
  CHECK_STR(q(db, "SELECT count(*) FROM tt_v1 WHERE empty IS NULL"), "3");
  CHECK_STR(q(db, "SELECT typeof(code) || code FROM tt_v1 WHERE _r = 1"), "text007");
  CHECK_STR(q(db, "SELECT typeof(code) FROM tt_v1 WHERE _r = 3"), "null");
  CHECK_STR(q(db, "SELECT typeof(flag) FROM tt_v1 WHERE _r = 2"), "null");
  CHECK_STR(q(db, "SELECT flag FROM tt_v1 WHERE _r = 3"), "9223372036854775807");
  CHECK_STR(q(db, "SELECT typeof(x) || x FROM tt_v1 WHERE _r = 1"), "real2.0");
  CHECK_STR(q(db, "SELECT typeof(big) FROM tt_v1 WHERE _r = 3"), "null");
  CHECK_STR(q(db, "SELECT small FROM tt_v1 WHERE _r = 2"), "12");
  CHECK_STR(q(db, "SELECT typeof(small) FROM tt_v1 WHERE _r = 3"), "null");

  /* BOM, CRLF, a newline inside quotes, no final newline. */
  CHECK_ERR(import_str(db, "t.crlf",
                       "\xEF\xBB\xBF"
                       "a,b\r\n1,\"x\r\ny\"\r\n2,z",
                       err, sizeof err) == 0);
  CHECK_ERR(gw_store_resolve(db, "t.crlf", 99, &t, err, sizeof err) == 0);
  CHECK(t.nrows == 2 && t.ncols == 2);
  if (t.ncols == 2) {
    CHECK_STR(t.cols[0].name, "a");
    CHECK(t.cols[0].type == 'i' && t.cols[1].type == 'a');
  }
  CHECK_STR(q(db, "SELECT b FROM tt_v%lld WHERE _r = 1", (long long)t.version), "x\r\ny");
  CHECK_STR(q(db, "SELECT b FROM tt_v%lld WHERE _r = 2", (long long)t.version), "z");
  gw_table_info_free(&t);

  /* Header only; all-empty and mixed columns infer text; keywords as column names. */
  CHECK_ERR(import_str(db, "t.empty", "a,b:f,order\n", err, sizeof err) == 0);
  CHECK_ERR(gw_store_resolve(db, "t.empty", 99, &t, err, sizeof err) == 0);
  CHECK(t.nrows == 0 && t.ncols == 3 && t.cols[0].type == 'a' && t.cols[1].type == 'f');
  gw_table_info_free(&t);
  CHECK_ERR(import_str(db, "t.infer", "n,m,group\n,1,1\n,x,2.5\n", err, sizeof err) == 0);
  CHECK_ERR(gw_store_resolve(db, "t.infer", 99, &t, err, sizeof err) == 0);
  CHECK(t.ncols == 3 && t.cols[0].type == 'a' && t.cols[1].type == 'a' && t.cols[2].type == 'f');
  CHECK_STR(q(db, "SELECT typeof(m) || m FROM tt_v%lld WHERE _r = 1", (long long)t.version),
            "text1");
  CHECK_STR(q(db, "SELECT sum(\"GROUP\") FROM tt_v%lld", (long long)t.version), "3.5");
  gw_table_info_free(&t);

  /* A single column: a blank line is a record with one empty field, i.e. N/A. */
  CHECK_ERR(import_str(db, "t.one", "v\n1\n\n-2\n", err, sizeof err) == 0);
  CHECK_ERR(gw_store_resolve(db, "t.one", 99, &t, err, sizeof err) == 0);
  CHECK(t.nrows == 3 && t.cols[0].type == 'i');
  CHECK_STR(q(db, "SELECT count(v) || ',' || sum(v) FROM tt_v%lld", (long long)t.version), "2,-1");
  gw_table_info_free(&t);
  CHECK(tables_match_catalog(db));
  CHECK(sqlite3_get_autocommit(db));
  sqlite3_close(db);
  group("import", p0, f0);
}

/* ---- import errors ---------------------------------------------------------------------- */

typedef struct bad_case {
  const char *csv;
  int code;
  const char *msg; /* the whole message, or its start when it ends in '*' */
} bad_case;

static int msg_matches(const char *err, const char *want)
{
  size_t n = strlen(want);
  if (n && want[n - 1] == '*') return strncmp(err, want, n - 1) == 0;
  return strcmp(err, want) == 0;
}

static void test_errors(void)
{
  int p0 = passed, f0 = failed;
  char err[512] = "";
  sqlite3 *db = open_db("errors.db");
  CHECK_ERR(import_str(db, "t.keep", "a:i,price:f\n1,2.5\n2,3.5\n", err, sizeof err) == 0);
  int64_t gen0;
  gw_store_generation(db, &gen0);

  static const bad_case cases[] = {
      {"a,b,price\n1,2,3\n4,5,6\n\n7,8,abc\n", GW_STORE_ERR_INPUT,
       "line 4: 1 field, the header has 3"},
      {"a,b,price:f\n1,2,3\n4,5,6\n\"q\nq\",1,2\n1,2,3\n7,8,abc\n", GW_STORE_ERR_INPUT,
       "line 7, column 3 (price): \"abc\" is not a decimal number (f)"},
      {"a,b,c,d,e\n1,2,3,4,5\n1,2,3,4\n", GW_STORE_ERR_INPUT, "line 3: 4 fields, the header has 5"},
      {"a,b\n1,2,3\n", GW_STORE_ERR_INPUT, "line 2: 3 fields, the header has 2"},
      {"a,2x\n1,2\n", GW_STORE_ERR_INPUT, "line 1, column 2: bad column name \"2x\""},
      {"sales,b,c,Sales\n1,2,3,4\n", GW_STORE_ERR_INPUT,
       "line 1, column 4: duplicate column name \"Sales\""},
      {"a,b:i,a:f\n", GW_STORE_ERR_INPUT, "line 1, column 3: duplicate column name \"a\""},
      {"a,_r\n1,2\n", GW_STORE_ERR_INPUT, "line 1, column 2: column name \"_r\" is reserved*"},
      {"a,b:z\n1,2\n", GW_STORE_ERR_INPUT, "line 1, column 2: bad column type in \"b:z\"*"},
      {"a,b:ii\n1,2\n", GW_STORE_ERR_INPUT, "line 1, column 2: bad column type in \"b:ii\"*"},
      {"a,,c\n1,2,3\n", GW_STORE_ERR_INPUT, "line 1, column 2: empty column name"},
      {"a, b\n1,2\n", GW_STORE_ERR_INPUT, "line 1, column 2: bad column name \" b\""},
      {"\n1\n", GW_STORE_ERR_INPUT, "line 1: the header row is empty"},
      {"", GW_STORE_ERR_INPUT, "line 1: empty file*"},
      {"\xEF\xBB\xBF", GW_STORE_ERR_INPUT, "line 1: empty file*"},
      {"a,b\n1,\"abc\n2,3\n", GW_STORE_ERR_INPUT, "line 2, column 2: unterminated quoted field*"},
      {"a,b\n1,\"ab\"c\n", GW_STORE_ERR_INPUT,
       "line 2, column 2: unexpected character after a closing quote*"},
      {"n:i\n2147483647\n-2147483648\n2147483648\n", GW_STORE_ERR_INPUT,
       "line 4, column 1 (n): \"2147483648\" does not fit a 32-bit integer (i)"},
      {"n:i\n1.5\n", GW_STORE_ERR_INPUT, "line 2, column 1 (n): \"1.5\" is not an integer (i)"},
      {"n:j\n9223372036854775808\n", GW_STORE_ERR_INPUT,
       "line 2, column 1 (n): \"9223372036854775808\" does not fit a 64-bit integer (j)"},
      {"a,n:j\nx, 5\n", GW_STORE_ERR_INPUT, "line 2, column 2 (n): \" 5\" is not an integer (j)"},
      {"n:f\n1e999\n", GW_STORE_ERR_INPUT,
       "line 2, column 1 (n): \"1e999\" is not a decimal number (f)"},
      {"n:f\nnan\n", GW_STORE_ERR_INPUT,
       "line 2, column 1 (n): \"nan\" is not a decimal number (f)"},
      {"n:f\n0x10\n", GW_STORE_ERR_INPUT,
       "line 2, column 1 (n): \"0x10\" is not a decimal number (f)"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    err[0] = '\0';
    int rc = import_str(db, "t.keep", cases[i].csv, err, sizeof err);
    if (!check_detail(rc == cases[i].code && msg_matches(err, cases[i].msg), cases[i].msg, __FILE__,
                      __LINE__, err))
      fprintf(stderr, "    case %zu, rc %d\n", i, rc);
  }
  /* A long bad value is shortened in the message. */
  char big[400];
  strcpy(big, "n:f\n");
  memset(big + 4, 'x', 300);
  strcpy(big + 304, "\n");
  CHECK_ERR(import_str(db, "t.keep", big, err, sizeof err) == GW_STORE_ERR_INPUT &&
            strstr(err, "...\" is not a decimal number") && strlen(err) < 120);

  CHECK_ERR(import_str(db, "bad-name", "a\n1\n", err, sizeof err) == GW_STORE_ERR_NAME);
  CHECK_ERR(strstr(err, "\"bad-name\"") != NULL);
  CHECK_ERR(import_str(db, "t", "a\n1\n", err, sizeof err) == GW_STORE_ERR_NAME);
  CHECK_ERR(gw_import_csv(db, "t.keep", tmp_path("nope.csv"), err, sizeof err) == GW_STORE_ERR_IO);
  CHECK_ERR(strstr(err, "nope.csv") && strstr(err, "No such file"));
  CHECK_ERR(gw_import_csv(db, "t.keep", tmpdir, err, sizeof err) == GW_STORE_ERR_IO);

  /* Nothing of the failed imports is left behind. */
  int64_t gen1;
  gw_store_generation(db, &gen1);
  CHECK(gen1 == gen0);
  CHECK(qi(db, "SELECT count(*) FROM tt_catalog") == 1);
  CHECK(version_of(db, "t.keep", gen1) == 1);
  CHECK_STR(q(db, "SELECT sum(a) || ',' || sum(price) FROM tt_v1"), "3,6.0");
  CHECK(tables_match_catalog(db));
  CHECK(sqlite3_get_autocommit(db));

  /* The writer checks its columns too, and abort leaves nothing. */
  gw_store_writer *w = (gw_store_writer *)1;
  gw_column dup[] = {{"a", 'i', NULL, NULL, 0}, {"A", 'f', NULL, NULL, 0}};
  CHECK_ERR(gw_store_begin(db, "t.w", NULL, dup, 2, &w, err, sizeof err) == GW_STORE_ERR_INPUT &&
            w == NULL);
  gw_column badtype[] = {{"a", 'x', NULL, NULL, 0}};
  CHECK_ERR(gw_store_begin(db, "t.w", NULL, badtype, 1, &w, err, sizeof err) == GW_STORE_ERR_INPUT);
  CHECK_ERR(gw_store_begin(db, "w", NULL, badtype, 1, &w, err, sizeof err) == GW_STORE_ERR_NAME);
  gw_column one[] = {{"a", 'i', "fmt", "A label", 0}};
  CHECK_ERR(gw_store_begin(db, "t.w", "T", one, 1, &w, err, sizeof err) == 0);
  sqlite3_bind_int(gw_store_row(w), 1, 5);
  CHECK_ERR(gw_store_next(w, err, sizeof err) == 0);
  gw_store_abort(w);
  gw_store_abort(NULL);
  CHECK(qi(db, "SELECT count(*) FROM tt_catalog") == 1);
  CHECK(tables_match_catalog(db));
  CHECK(sqlite3_get_autocommit(db));
  sqlite3_close(db);
  group("import errors", p0, f0);
}

/* ---- writer, versions, generations, resolve, list ------------------------------------------- */

typedef struct listing {
  char text[512];
  int stop_after;
  int seen;
} listing;

static int collect(void *ud, const gw_table_info *t)
{
  listing *l = ud;
  size_t n = strlen(l->text);
  snprintf(l->text + n, sizeof l->text - n, "%s%s@%lld/%lld", n ? " " : "", t->name,
           (long long)t->version, (long long)t->nrows);
  l->seen++;
  return l->stop_after && l->seen >= l->stop_after;
}

static const char *list_at(sqlite3 *db, int64_t gen, int stop_after)
{
  static listing l;
  static char err[512];
  memset(&l, 0, sizeof l);
  l.stop_after = stop_after;
  if (gw_store_list(db, gen, collect, &l, err, sizeof err)) return err;
  return l.text;
}

static void test_versions(void)
{
  int p0 = passed, f0 = failed;
  char err[512] = "";
  sqlite3 *db = open_db("versions.db");
  gw_table_info t = {0};
  int64_t gen = -1;

  CHECK(gw_store_generation(db, &gen) == 0 && gen == 0);
  CHECK_ERR(gw_store_resolve(db, "z.t", 0, &t, err, sizeof err) == GW_STORE_ERR_NOTABLE);
  CHECK_ERR(strstr(err, "z.t") != NULL);
  CHECK_STR(list_at(db, 0, 0), "");

  /* v1: z.t by the writer, with title, formats and labels. */
  gw_column cols[] = {
      {"k", 'a', NULL, "Key", 0}, {"d", 'i', "type:date", "Date", 0}, {"v", 'f', NULL, NULL, 0}};
  gw_store_writer *w;
  CHECK_ERR(gw_store_begin(db, "z.t", "Zed", cols, 3, &w, err, sizeof err) == 0);
  for (int i = 0; i < 4; i++) {
    sqlite3_stmt *st = gw_store_row(w);
    sqlite3_bind_text(st, 1, i == 2 ? "two" : "other", -1, SQLITE_STATIC);
    if (i != 1) sqlite3_bind_int(st, 2, 20240101 + i);
    sqlite3_bind_double(st, 3, i * 0.5);
    CHECK_ERR(gw_store_next(w, err, sizeof err) == 0);
  }
  CHECK_ERR(gw_store_commit(w, err, sizeof err) == 0);
  CHECK_STR(q(db, "SELECT group_concat(_r || ':' || ifnull(d, 'NA'), ' ') FROM tt_v1"),
            "1:20240101 2:NA 3:20240103 4:20240104");
  CHECK_STR(q(db, "SELECT k FROM tt_v1 WHERE _r = 3"), "two");

  /* v2: a.t, v3: z.t again, v4: m.t */
  CHECK_ERR(import_str(db, "a.t", "x\n1\n2\n", err, sizeof err) == 0);
  CHECK_ERR(import_str(db, "z.t", "y:f\n1\n2\n3\n4\n5\n", err, sizeof err) == 0);
  CHECK_ERR(import_str(db, "m.t", "x\n1\n", err, sizeof err) == 0);
  CHECK(gw_store_generation(db, &gen) == 0 && gen == 4);

  CHECK_ERR(gw_store_resolve(db, "z.t", 1, &t, err, sizeof err) == 0);
  CHECK(t.version == 1 && t.nrows == 4 && t.ncols == 3);
  CHECK_STR(t.title, "Zed");
  if (t.ncols == 3) {
    CHECK_STR(t.cols[0].name, "k");
    CHECK_STR(t.cols[0].label, "Key");
    CHECK(t.cols[0].format == NULL);
    CHECK_STR(t.cols[1].format, "type:date");
    CHECK(t.cols[1].type == 'i' && t.cols[2].type == 'f' && t.cols[2].label == NULL);
  }
  gw_table_info_free(&t);
  CHECK(version_of(db, "z.t", 2) == 1);
  CHECK(version_of(db, "z.t", 3) == 3);
  CHECK(version_of(db, "z.t", 100) == 3);
  CHECK(version_of(db, "z.t", 0) == GW_STORE_ERR_NOTABLE);
  CHECK(version_of(db, "a.t", 1) == GW_STORE_ERR_NOTABLE);
  CHECK(version_of(db, "a.t", 2) == 2);
  CHECK(version_of(db, "Z.T", 4) == GW_STORE_ERR_NOTABLE);
  CHECK(version_of(db, "nope.t", 4) == GW_STORE_ERR_NOTABLE);
  CHECK_ERR(gw_store_resolve(db, "z.t", 3, &t, err, sizeof err) == 0);
  CHECK(t.ncols == 1 && t.nrows == 5 && t.title == NULL);
  gw_table_info_free(&t);

  CHECK_STR(list_at(db, 1, 0), "z.t@1/4");
  CHECK_STR(list_at(db, 2, 0), "a.t@2/2 z.t@1/4");
  CHECK_STR(list_at(db, 3, 0), "a.t@2/2 z.t@3/5");
  CHECK_STR(list_at(db, 4, 0), "a.t@2/2 m.t@4/1 z.t@3/5");
  CHECK_STR(list_at(db, 4, 2), "a.t@2/2 m.t@4/1");

  gw_table_info zero = {0};
  gw_table_info_free(&zero);
  gw_table_info_free(&zero);
  CHECK(zero.name == NULL && zero.cols == NULL);
  CHECK(sqlite3_get_autocommit(db));
  sqlite3_close(db);
  group("versions and resolve", p0, f0);
}

/* default.lonely: in every generation (even of an empty file), one row, no columns, never
 * listed, never written; and the index flag of stored columns. */
static void test_lonely_and_index(void)
{
  int p0 = passed, f0 = failed;
  char err[512] = "";
  sqlite3 *db = open_db("lonely.db");
  gw_table_info t = {0};

  CHECK_ERR(gw_store_resolve(db, GW_STORE_LONELY, 0, &t, err, sizeof err) == 0);
  CHECK(t.version == 0 && t.nrows == 1 && t.ncols == 0 && t.cols == NULL);
  CHECK_STR(t.name, "default.lonely");
  gw_table_info_free(&t);
  CHECK_STR(q(db, "SELECT count(*) || ':' || _r FROM tt_v0"), "1:1");
  CHECK_STR(q(db, "SELECT count(*) FROM tt_catalog"), "0");
  CHECK_ERR(import_str(db, "default.lonely", "x\n1\n", err, sizeof err) == GW_STORE_ERR_NAME);
  CHECK_ERR(strstr(err, "built in") != NULL);
  gw_column one[] = {{"a", 'i', NULL, NULL, 0}};
  gw_store_writer *w = NULL;
  CHECK_ERR(gw_store_begin(db, "default.lonely", NULL, one, 1, &w, err, sizeof err) ==
            GW_STORE_ERR_NAME);
  CHECK(w == NULL);
  CHECK_ERR(import_str(db, "default.other", "x\n1\n", err, sizeof err) == 0);
  CHECK(version_of(db, GW_STORE_LONELY, 1) == 0);
  CHECK_STR(list_at(db, 1, 0), "default.other@1/1");

  /* Nothing the importer makes is indexed; an index someone adds leads with its column. */
  CHECK_ERR(import_str(db, "i.t", "a,b,c\n1,2,3\n", err, sizeof err) == 0);
  CHECK_ERR(gw_store_resolve(db, "i.t", 2, &t, err, sizeof err) == 0);
  CHECK(t.ncols == 3 && !t.cols[0].indexed && !t.cols[1].indexed && !t.cols[2].indexed);
  gw_table_info_free(&t);
  CHECK(sqlite3_exec(db, "CREATE INDEX ix ON tt_v2(c, a)", NULL, NULL, NULL) == SQLITE_OK);
  CHECK_ERR(gw_store_resolve(db, "i.t", 2, &t, err, sizeof err) == 0);
  CHECK(t.ncols == 3 && !t.cols[0].indexed && !t.cols[1].indexed && t.cols[2].indexed);
  gw_table_info_free(&t);
  sqlite3_close(db);
  group("default.lonely and indexes", p0, f0);
}

/* ---- gc ----------------------------------------------------------------------------------- */

static void test_gc(void)
{
  int p0 = passed, f0 = failed;
  char err[512] = "";
  sqlite3 *db = open_db("gc.db");
  /* x.t: v1 v2 v3 v4 (v3 has 3 rows), y.t: v5, x.t: v6 */
  for (int i = 1; i <= 6; i++) {
    const char *csv = i == 3 ? "n\n1\n2\n3\n" : "n\n1\n";
    CHECK_ERR(import_str(db, i == 5 ? "y.t" : "x.t", csv, err, sizeof err) == 0);
  }
  CHECK(qi(db, "SELECT count(*) FROM tt_catalog") == 6);

  /* Live sessions at generations 3 and 5 see x.t v3 and v4; y.t v5 and x.t v6 are newest;
   * v1 and v2 go. */
  int64_t live[] = {5, 3};
  CHECK_ERR(gw_store_gc(db, live, 2, err, sizeof err) == 2);
  CHECK_STR(q(db, "SELECT group_concat(version) FROM (SELECT version FROM tt_catalog ORDER BY 1)"),
            "3,4,5,6");
  CHECK(tables_match_catalog(db));
  CHECK(qi(db, "SELECT count(*) FROM sqlite_master WHERE name IN ('tt_v1','tt_v2')") == 0);
  CHECK(qi(db, "SELECT count(*) FROM tt_columns WHERE version IN (1, 2)") == 0);
  CHECK(version_of(db, "x.t", 2) == GW_STORE_ERR_NOTABLE);
  CHECK(version_of(db, "x.t", 3) == 3);
  CHECK(version_of(db, "x.t", 5) == 4);
  CHECK(version_of(db, "x.t", 6) == 6);
  CHECK(qi(db, "SELECT count(*) FROM tt_v3") == 3);
  gw_table_info t;
  CHECK_ERR(gw_store_resolve(db, "x.t", 3, &t, err, sizeof err) == 0 && t.ncols == 1 &&
            t.nrows == 3);
  gw_table_info_free(&t);

  /* Nothing more while the same sessions live. */
  CHECK_ERR(gw_store_gc(db, live, 2, err, sizeof err) == 0);
  /* The session at 5 ends: v4 goes, v3 stays for the one at 3. */
  CHECK_ERR(gw_store_gc(db, &live[1], 1, err, sizeof err) == 1);
  CHECK(version_of(db, "x.t", 5) == 3);
  /* A session at a generation older than every version pins nothing. */
  int64_t old[] = {0};
  CHECK_ERR(gw_store_gc(db, old, 1, err, sizeof err) == 1);
  CHECK_STR(q(db, "SELECT group_concat(version) FROM (SELECT version FROM tt_catalog ORDER BY 1)"),
            "5,6");
  CHECK_ERR(gw_store_gc(db, NULL, 0, err, sizeof err) == 0);
  CHECK(tables_match_catalog(db));

  /* Versions keep counting up after gc; the generation never goes back. */
  CHECK_ERR(import_str(db, "x.t", "n\n1\n", err, sizeof err) == 0);
  CHECK(version_of(db, "x.t", 100) == 7);
  CHECK_ERR(gw_store_gc(db, NULL, 0, err, sizeof err) == 1);
  int64_t gen;
  CHECK(gw_store_generation(db, &gen) == 0 && gen == 7);
  CHECK(sqlite3_get_autocommit(db));
  sqlite3_close(db);
  group("gc", p0, f0);
}

/* ---- demo ---------------------------------------------------------------------------------- */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3u;
  return h;
}

/* A checksum of a query's every value: storage class and bytes. */
static uint64_t checksum(sqlite3 *db, const char *sql)
{
  sqlite3_stmt *st;
  uint64_t h = 0xcbf29ce484222325u;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return 0;
  while (sqlite3_step(st) == SQLITE_ROW) {
    for (int i = 0; i < sqlite3_column_count(st); i++) {
      int ty = sqlite3_column_type(st, i);
      h = fnv(h, &ty, sizeof ty);
      if (ty == SQLITE_INTEGER) {
        int64_t v = sqlite3_column_int64(st, i);
        h = fnv(h, &v, sizeof v);
      } else if (ty == SQLITE_FLOAT) {
        double v = sqlite3_column_double(st, i);
        h = fnv(h, &v, sizeof v);
      } else if (ty != SQLITE_NULL) {
        const void *p = sqlite3_column_blob(st, i);
        h = fnv(h, p, (size_t)sqlite3_column_bytes(st, i));
      }
    }
  }
  sqlite3_finalize(st);
  return h;
}

static uint64_t demo_checksum(sqlite3 *db)
{
  uint64_t h = checksum(db, "SELECT version, name, title, nrows FROM tt_catalog ORDER BY version");
  h ^= checksum(db, "SELECT * FROM tt_columns ORDER BY version, pos") * 3;
  for (int v = 1; v <= 3; v++) {
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT * FROM tt_v%d ORDER BY _r", v);
    h = h * 31 + checksum(db, sql);
  }
  return h;
}

static void test_demo(void)
{
  int p0 = passed, f0 = failed;
  char err[512] = "";
  sqlite3 *a = open_db("demo_a.db"), *b = open_db("demo_b.db");
  CHECK_ERR(gw_demo_write(a, 0.01, err, sizeof err) == 0);
  CHECK_ERR(gw_demo_write(b, 0.01, err, sizeof err) == 0);
  uint64_t ha = demo_checksum(a), hb = demo_checksum(b);
  CHECK(ha == hb);
  /* A SQL-side checksum too, in case the C one missed a column. */
  const char *sum = "SELECT count(*) || ':' || total(temp) || ':' || total(dewpt) || ':' ||"
                    " total(rain) || ':' || sum(date) || ':' || sum(hour) FROM tt_v2";
  char sa[512];
  snprintf(sa, sizeof sa, "%s", q(a, "%s", sum));
  CHECK_STR(q(b, "%s", sum), sa);

  gw_table_info t;
  CHECK_ERR(gw_store_resolve(a, "pub.demo.weather.stations", 99, &t, err, sizeof err) == 0);
  CHECK(t.nrows == 3 && t.ncols == 6);
  CHECK_STR(t.title, "Weather Stations");
  if (t.ncols == 6) {
    const char *names[] = {"id", "name", "state", "lat", "lon", "elev"};
    for (int i = 0; i < 6; i++) CHECK_STR(t.cols[i].name, names[i]);
    CHECK(t.cols[0].type == 'a' && t.cols[3].type == 'f' && t.cols[5].type == 'i');
    for (int i = 0; i < 6; i++) CHECK(t.cols[i].label != NULL);
  }
  int64_t vst = t.version;
  gw_table_info_free(&t);
  CHECK_STR(q(a, "SELECT group_concat(id) FROM tt_v%lld", (long long)vst), "ST0001,ST0002,ST0003");
  CHECK_STR(q(a, "SELECT group_concat(state) FROM tt_v%lld", (long long)vst), "NY,NJ,CA");

  CHECK_ERR(gw_store_resolve(a, "pub.demo.weather.hourly90", 99, &t, err, sizeof err) == 0);
  CHECK(t.nrows == 3 * 8760 && t.ncols == 6);
  CHECK_STR(t.title, "Hourly U.S. Weather (1990)");
  if (t.ncols == 6) {
    const char *names[] = {"id", "date", "hour", "temp", "dewpt", "rain"};
    for (int i = 0; i < 6; i++) CHECK_STR(t.cols[i].name, names[i]);
    CHECK_STR(t.cols[1].format, "type:date");
    CHECK_STR(t.cols[3].label, "Dry Bulb Temp (Celsius)");
    CHECK(t.cols[1].type == 'i' && t.cols[2].type == 'i' && t.cols[3].type == 'f');
  }
  long long vh = (long long)t.version;
  gw_table_info_free(&t);
  CHECK_STR(q(a, "SELECT count(*) FROM tt_v%lld", vh), "26280");
  CHECK_STR(q(a, "SELECT min(date) || '-' || max(date) FROM tt_v%lld", vh), "19900101-19901231");
  CHECK_STR(q(a, "SELECT count(DISTINCT date) FROM tt_v%lld", vh), "365");
  CHECK_STR(q(a, "SELECT min(hour) || '-' || max(hour) FROM tt_v%lld", vh), "0-23");
  /* In station, date, hour order. */
  CHECK_STR(q(a,
              "SELECT count(*) FROM tt_v%lld a JOIN tt_v%lld b ON b._r = a._r + 1"
              " WHERE (b.id, b.date, b.hour) <= (a.id, a.date, a.hour)",
              vh, vh),
            "0");
  CHECK_STR(q(a,
              "SELECT count(*) FROM tt_v%lld WHERE temp IS NULL OR dewpt > temp"
              " OR abs(temp * 10 - round(temp * 10)) > 1e-6",
              vh),
            "0");
  CHECK(qi(a, "SELECT count(*) FROM tt_v2 WHERE rain IS NULL") > 100);
  CHECK(qi(a, "SELECT count(*) FROM tt_v2 WHERE rain IS NULL") < 600);
  CHECK(qi(a, "SELECT count(*) FROM tt_v2 WHERE rain = 0") > 20000);

  CHECK_ERR(gw_store_resolve(a, "pub.demo.retail.item", 99, &t, err, sizeof err) == 0);
  CHECK(t.nrows == 500 && t.ncols == 7);
  CHECK_STR(t.title, "Sales Item Detail");
  if (t.ncols == 7) {
    const char *names[] = {"date", "transid", "sku", "store", "account", "sales", "cost"};
    for (int i = 0; i < 7; i++) CHECK_STR(t.cols[i].name, names[i]);
    CHECK_STR(t.cols[0].format, "type:date");
    CHECK_STR(t.cols[5].label, "Sales");
    CHECK(t.cols[5].type == 'f' && t.cols[3].type == 'i');
  }
  long long vi = (long long)t.version;
  gw_table_info_free(&t);
  CHECK(qi(a, "SELECT min(date) FROM tt_v3") >= 20110101);
  CHECK(qi(a, "SELECT max(date) FROM tt_v3") <= 20141231);
  CHECK_STR(q(a,
              "SELECT group_concat(DISTINCT store) FROM (SELECT store FROM tt_v%lld"
              " ORDER BY store)",
              vi),
            "1,2,3");
  CHECK_STR(
      q(a, "SELECT count(*) FROM tt_v%lld WHERE abs(sales * 100 - round(sales * 100)) > 1e-6", vi),
      "0");

  /* Scale 0 still gives the minimum rows. */
  sqlite3 *c = open_db("demo_c.db");
  CHECK_ERR(gw_demo_write(c, 0, err, sizeof err) == 0);
  CHECK_STR(q(c, "SELECT group_concat(nrows) FROM tt_catalog"), "3,26280,10");
  CHECK_ERR(gw_demo_write(c, -1, err, sizeof err) == GW_STORE_ERR_INPUT);
  sqlite3_close(a);
  sqlite3_close(b);
  sqlite3_close(c);
  group("demo", p0, f0);
}

/* ---- main ---------------------------------------------------------------------------------- */

static void remove_tree(void)
{
  char cmd[600];
  /* Only ever our own mkdtemp directory. */
  if (strncmp(tmpdir, "/tmp/test_store.", 16) != 0) return;
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
}

/* Issue 10, items 13 and 14: a value SQLite cannot store is an error, never N/A, and the
 * import command leaves files that are not gateway databases (or do not exist) alone. */
static void test_import_safety(void)
{
  int p0 = passed, f0 = failed;
  char err[512] = "";
  sqlite3 *db = open_db("big.db");
  /* SQLite's limit on one value lowered to 1000 bytes stands in for the 1e9 of a real file. */
  sqlite3_limit(db, SQLITE_LIMIT_LENGTH, 1000);
  char csv[4096];
  snprintf(csv, sizeof csv, "id:i,t:a\n1,ok\n2,%02000d\n", 7);
  CHECK_ERR(import_str(db, "test.big", csv, err, sizeof err) == GW_STORE_ERR_INPUT);
  CHECK_ERR(strstr(err, "line 3, column 2 (t): a value of 2000 bytes") != NULL);
  CHECK_STR(q(db, "SELECT count(*) FROM tt_catalog WHERE name = 'test.big'"), "0");
  sqlite3_close(db);

  const char *ok = write_file("ok.csv", "a:i\n1\n", 6);
  sqlite3 *out = NULL;
  const char *missing = tmp_path("missing.db");
  unlink(missing);
  CHECK_ERR(gw_import_file(missing, 0, "t.x", ok, 0, &out, err, sizeof err) == GW_STORE_ERR_IO);
  CHECK(access(missing, F_OK) != 0);
  /* A bad CSV with --create: nothing is made. */
  const char *bad = write_file("bad.csv", "a:i\nx\n", 6);
  CHECK(gw_import_file(missing, 1, "t.x", bad, 0, &out, err, sizeof err) == GW_STORE_ERR_INPUT);
  CHECK(access(missing, F_OK) != 0);
  CHECK_ERR(gw_import_file(missing, 1, "t.x", ok, 0, &out, err, sizeof err) == 0);
  CHECK_STR(q(out, "SELECT nrows FROM tt_catalog WHERE name = 't.x'"), "1");
  sqlite3_close(out);
  /* Another program's SQLite file is refused, --create or not, and left as it was. */
  const char *other = tmp_path("other.db");
  unlink(other);
  sqlite3 *o = NULL;
  sqlite3_open(other, &o);
  sqlite3_exec(o, "CREATE TABLE people(name)", NULL, NULL, NULL);
  sqlite3_close(o);
  CHECK_ERR(gw_import_file(other, 1, "t.x", ok, 0, &out, err, sizeof err) == GW_STORE_ERR_IO);
  CHECK_ERR(strstr(err, "not a tt-gateway one") != NULL);
  sqlite3_open(other, &o);
  CHECK_STR(q(o, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'tt_%%'"), "0");
  CHECK_STR(q(o, "PRAGMA journal_mode"), "delete");
  sqlite3_close(o);
  /* A record past the cap. */
  const char *wide = write_file("wide.csv", "a\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n", 43);
  CHECK_ERR(gw_import_file(missing, 0, "t.y", wide, 16, &out, err, sizeof err) ==
            GW_STORE_ERR_INPUT);
  CHECK_ERR(strstr(err, "a record longer than 16 bytes") != NULL);
  group("import safety", p0, f0);
}

int main(void)
{
  snprintf(tmpdir, sizeof tmpdir, "/tmp/test_store.XXXXXX");
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 2;
  }
  test_names();
  test_open();
  test_import();
  test_errors();
  test_versions();
  test_lonely_and_index();
  test_gc();
  test_demo();
  test_import_safety();
  if (failed)
    fprintf(stderr, "files kept in %s\n", tmpdir);
  else
    remove_tree();
  return check_report();
}
