/* tt-gateway: a local server for the platform's XML API v3 with SAM pools, over SQLite. */
#include "demo.h"
#include "gateway.h"
#include "http.h"

#include <libgen.h>
#include <libxml/parser.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_LISTEN "127.0.0.1:8010"

static const char usage[] =
    "usage: tt-gateway serve --config FILE [--listen HOST:PORT]\n"
    "       tt-gateway import --db FILE --table NAME --csv FILE\n"
    "       tt-gateway demo --db FILE [--scale N]\n"
    "       tt-gateway --version\n"
    "\n"
    "serve   answer the XML API on HOST:PORT (port 0 picks a free port)\n"
    "import  load a CSV file as a new version of a table\n"
    "demo    write the demo tables (scale 1: about a million rows of hourly weather)\n";

static const char serve_help[] =
    "usage: tt-gateway serve --config FILE [--listen HOST:PORT]\n"
    "\n"
    "FILE is Lua returning a table. Top-level keys:\n"
    "  database            SQLite file (required)\n"
    "  listen              HOST:PORT (default 127.0.0.1:8010; --listen overrides)\n"
    "  users               list of { uid, password | password_hash, company, admin,\n"
    "                      max_download_rows, max_download_cells }\n"
    "  groups              list of { gid, owner, size, member_password,\n"
    "                      max_download_rows, max_download_cells }\n"
    "  reserve_seconds     hold after a member logs out without reluid (900)\n"
    "  idle_seconds        a warm member session ends after this (1800; 0 = never)\n"
    "  page_rows           most rows in one getdata reply, cut silently (50000)\n"
    "  max_body            largest request body in bytes (4194304)\n"
    "  log_requests        one line per request on stderr (true)\n"
    "  max_download_rows   rows one getdata page may carry, else rc 23 (unlimited)\n"
    "  max_download_cells  rows x columns one page may carry, else rc 23 (unlimited)\n"
    "                      (a users[i] value beats its group's, which beats the top level)\n"
    "  inject              test aid: { login = { 45, 41 }, ... } answers the first calls\n"
    "                      of a transaction with these rcs\n"
    "See docs/gateway.md.\n";

/* Options are "--name value" pairs; returns the value or NULL. Unknown names are an error. */
static const char *opt(int argc, char **argv, const char *name, const char *const *known)
{
  const char *found = NULL;
  /* Check every option, not just those before the one asked for. */
  for (int i = 2; i < argc; i += 2) {
    int ok = 0;
    for (const char *const *k = known; *k; k++) ok |= strcmp(argv[i], *k) == 0;
    if (!ok || i + 1 >= argc) {
      fprintf(stderr, "tt-gateway: %s '%s'\n\n%s", ok ? "missing value for" : "unknown option",
              argv[i], usage);
      exit(2);
    }
    if (strcmp(argv[i], name) == 0) found = argv[i + 1];
  }
  return found;
}

static const char *need(int argc, char **argv, const char *name, const char *const *known)
{
  const char *v = opt(argc, argv, name, known);
  if (!v) {
    fprintf(stderr, "tt-gateway %s: %s is required\n\n%s", argv[1], name, usage);
    exit(2);
  }
  return v;
}

/* A relative database path in a config file means: next to the config file. */
static char *database_path(const char *config, const char *db)
{
  if (db[0] == '/') return strdup(db);
  char *copy = strdup(config);
  const char *dir = dirname(copy);
  size_t n = strlen(dir) + strlen(db) + 2;
  char *p = malloc(n);
  snprintf(p, n, "%s/%s", dir, db);
  free(copy);
  return p;
}

static int serve(int argc, char **argv)
{
  static const char *const known[] = {"--config", "--listen", NULL};
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      fputs(serve_help, stdout);
      return 0;
    }
  }
  const char *config = need(argc, argv, "--config", known);
  const char *listen = opt(argc, argv, "--listen", known);
  char err[1024] = "";
  gw_gateway gw;
  memset(&gw, 0, sizeof gw);
  if (gw_config_load(config, &gw.cfg, err, sizeof err)) {
    fprintf(stderr, "tt-gateway: %s\n", err);
    return 1;
  }
  char *db = database_path(config, gw.cfg.database);
  free(gw.cfg.database);
  gw.cfg.database = db;
  if (!listen) listen = gw.cfg.listen ? gw.cfg.listen : DEFAULT_LISTEN;

  /* Signals are taken by sigtimedwait below; every thread started from here inherits the
   * mask, so none of them is interrupted by one. */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);
  signal(SIGPIPE, SIG_IGN);
  xmlInitParser();

  if (gw_gateway_init(&gw, err, sizeof err)) {
    fprintf(stderr, "tt-gateway: %s\n", err);
    gw_gateway_free(&gw);
    return 1;
  }
  gw_http *http;
  char url[128];
  if (gw_http_start(&gw, listen, &http, url, sizeof url, err, sizeof err)) {
    fprintf(stderr, "tt-gateway: %s\n", err);
    gw_gateway_free(&gw);
    return 1;
  }
  printf("listening on %s\n", url);
  fflush(stdout);

  int sig = 0;
  while (sig <= 0) {
    struct timespec tick = {1, 0};
    sig = sigtimedwait(&stop, NULL, &tick);
    gw_gateway_tick(&gw);
  }
  fprintf(stderr, "tt-gateway: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  /* No new connections; then end every session, which interrupts running queries so their
   * clients get a reply (rc 35) instead of a dropped connection. */
  gw_http_quiesce(http);
  pthread_mutex_lock(&gw.lock);
  for (size_t u = 0; u < gw.cfg.nusers; u++) gw_sess_end_locked(&gw, u, GW_END_SHUTDOWN);
  pthread_mutex_unlock(&gw.lock);
  gw_sess_reap(&gw);
  gw_http_stop(http);
  gw_gateway_free(&gw);
  xmlCleanupParser();
  fprintf(stderr, "tt-gateway: stopped\n");
  return 0;
}

static int import(int argc, char **argv)
{
  static const char *const known[] = {"--db", "--table", "--csv", NULL};
  const char *dbpath = need(argc, argv, "--db", known);
  const char *table = need(argc, argv, "--table", known);
  const char *csv = need(argc, argv, "--csv", known);
  char err[1024] = "";
  sqlite3 *db;
  if (gw_store_open(dbpath, 1, &db, err, sizeof err)) {
    fprintf(stderr, "tt-gateway import: %s\n", err);
    return 1;
  }
  int rc = gw_store_import_csv(db, table, csv, err, sizeof err);
  if (rc) {
    fprintf(stderr, "tt-gateway import: %s: %s\n", csv, err);
  } else {
    int64_t gen;
    gw_table_info t;
    memset(&t, 0, sizeof t);
    if (gw_store_generation(db, &gen) == 0 &&
        gw_store_resolve(db, table, gen, &t, err, sizeof err) == 0)
      printf("imported %lld rows, %zu columns into %s (version %lld)\n", (long long)t.nrows,
             t.ncols, table, (long long)t.version);
    gw_table_info_free(&t);
  }
  sqlite3_close(db);
  return rc ? 1 : 0;
}

static int demo(int argc, char **argv)
{
  static const char *const known[] = {"--db", "--scale", NULL};
  const char *dbpath = need(argc, argv, "--db", known);
  const char *scale_s = opt(argc, argv, "--scale", known);
  double scale = 1.0;
  if (scale_s) {
    char *end;
    scale = strtod(scale_s, &end);
    if (*end || !(scale > 0) || scale > 100) {
      fprintf(stderr, "tt-gateway demo: --scale must be a number above 0 and at most 100\n");
      return 2;
    }
  }
  char err[1024] = "";
  sqlite3 *db;
  if (gw_store_open(dbpath, 1, &db, err, sizeof err)) {
    fprintf(stderr, "tt-gateway demo: %s\n", err);
    return 1;
  }
  int rc = gw_demo_write(db, scale, err, sizeof err);
  if (rc)
    fprintf(stderr, "tt-gateway demo: %s\n", err);
  else
    printf("wrote the demo tables at scale %g into %s\n", scale, dbpath);
  sqlite3_close(db);
  return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    fputs(usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("tt-gateway 0.1.0 (XML API v3)\n");
    return 0;
  }
  if (strcmp(argv[1], "serve") == 0) return serve(argc, argv);
  if (strcmp(argv[1], "import") == 0) return import(argc, argv);
  if (strcmp(argv[1], "demo") == 0) return demo(argc, argv);
  fprintf(stderr, "tt-gateway: unknown command '%s'\n\n%s", argv[1], usage);
  return 2;
}
