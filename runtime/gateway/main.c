/* tt-gateway: a local server for the platform's XML API v3 with SAM pools, over SQLite. */
#include "auth.h"
#include "demo.h"
#include "gateway.h"
#include "import.h"
#include "http.h"
#include "store.h"

#include <errno.h>
#include <libgen.h>
#include <libxml/parser.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_LISTEN "127.0.0.1:8010"

static const char usage[] =
    "usage: tt-gateway serve --config FILE [--listen HOST:PORT] [--latency MS]\n"
    "       tt-gateway import --db FILE --table NAME --csv FILE [--create] [--max-record N]\n"
    "       tt-gateway demo --db FILE [--scale N]\n"
    "       tt-gateway passwd [--stdin]\n"
    "       tt-gateway --version\n"
    "       tt-gateway [COMMAND] --help\n"
    "\n"
    "serve   answer the XML API on HOST:PORT (port 0 picks a free port)\n"
    "import  load a CSV file as a new version of a table\n"
    "demo    write the demo tables (scale 1: about a million rows of hourly weather)\n"
    "passwd  read a password and print its hash for a config's password_hash\n"
    "\n"
    "tt-gateway COMMAND --help lists the command's options; see tt-gateway(1).\n";

static const char serve_help[] =
    "usage: tt-gateway serve --config FILE [--listen HOST:PORT] [--latency MS]\n"
    "\n"
    "  --config FILE       the config file (below)\n"
    "  --listen HOST:PORT  where to listen (port 0 picks a free port); beats 'listen'\n"
    "  --latency MS        benchmarking aid: hold every reply back MS milliseconds\n"
    "                      (0 to 60000), as a network with that round trip would\n"
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
    "  max_login_body      the same for login, logout and the pool calls (16384)\n"
    "  connection_timeout  seconds to send a whole request; also the idle limit (30)\n"
    "  per_ip_connections  open connections per client address (64; 0 = no limit)\n"
    "  max_ops             most ops in one query, else rc 10 (256)\n"
    "  max_login_body      the same for calls that take no body: login, pools (16384)\n"
    "  connection_timeout  seconds a client may take to send a request or stay idle (30)\n"
    "  per_ip_connections  open connections per client address (64; 0 = no limit)\n"
    "  max_ops             ops, nested ones too, in one query (1000)\n"
    "  log_requests        one line per request on stderr (true)\n"
    "  max_download_rows   rows one getdata page may carry, else rc 23 (unlimited)\n"
    "  max_download_cells  rows x columns one page may carry, else rc 23 (unlimited)\n"
    "                      (a users[i] value beats its group's, which beats the top level)\n"
    "  login_throttle      { failures = 5, hold = 60 }: after 5 failed logins in a row a\n"
    "                      uid or address waits 1, 2, 4 ... up to 60 s (rc 45); false: off;\n"
    "                      first = S sets the first hold (default 1 s)\n"
    "  inject              test aid: { login = { 45, 41 }, ... } answers the first calls\n"
    "                      of a transaction with these rcs\n"
    "See docs/gateway.md.\n";

static const char import_help[] =
    "usage: tt-gateway import --db FILE --table NAME --csv FILE [--create] [--max-record N]\n"
    "\n"
    "Load a CSV file (a header line, then RFC 4180 rows) as a new version of a table;\n"
    "sessions already running keep the version they started with. The whole file is\n"
    "checked before anything is written; a failure leaves the database as it was.\n"
    "  --db FILE         a tt-gateway database, an empty file or an SQLite file without\n"
    "                    tables\n"
    "  --create          make FILE when it does not exist\n"
    "  --table NAME      dot-separated table name, e.g. sales.daily.items\n"
    "  --csv FILE        the CSV file\n"
    "  --max-record N    longest record in bytes, 1024 to 2^40 (default 64 MiB)\n"
    "See docs/gateway.md, \"CSV import\".\n";

static const char demo_help[] =
    "usage: tt-gateway demo --db FILE [--scale N]\n"
    "\n"
    "Write the demo tables (pub.demo.retail.item, pub.demo.weather.*) as new versions.\n"
    "  --db FILE     SQLite file (created if missing)\n"
    "  --scale N     above 0, at most 100 (1: about a million rows of hourly weather;\n"
    "                default 1). Same scale, same bytes.\n";

static const char passwd_help[] =
    "usage: tt-gateway passwd [--stdin]\n"
    "\n"
    "Read a password (twice, without echo, from the terminal) and print its hash for a\n"
    "config file's password_hash.\n"
    "  --stdin       read one line from standard input instead (no prompt, no repeat)\n";

/* The help of a command, or NULL for an unknown one. */
static const char *command_help(const char *cmd)
{
  static const struct {
    const char *name, *text;
  } helps[] = {
      {"serve", serve_help}, {"import", import_help}, {"demo", demo_help}, {"passwd", passwd_help}};
  for (size_t i = 0; i < sizeof helps / sizeof helps[0]; i++)
    if (strcmp(cmd, helps[i].name) == 0) return helps[i].text;
  return NULL;
}

/* Whether the command line after the command asks for help (anywhere, as other options'
 * checks would otherwise refuse it first). */
static int wants_help(int argc, char **argv)
{
  for (int i = 2; i < argc; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 1;
  return 0;
}

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
  static const char *const known[] = {"--config", "--listen", "--latency", NULL};
  const char *config = need(argc, argv, "--config", known);
  const char *listen = opt(argc, argv, "--listen", known);
  const char *latency_s = opt(argc, argv, "--latency", known);
  double latency = 0;
  if (latency_s) {
    char *end;
    errno = 0;
    long v = strtol(latency_s, &end, 10);
    if (errno || *end || end == latency_s || v < 0 || v > 60000) {
      fprintf(stderr, "tt-gateway serve: --latency must be a whole number of milliseconds from "
                      "0 to 60000\n");
      return 2;
    }
    latency = (double)v;
  }
  char err[1024] = "";
  gw_gateway gw;
  memset(&gw, 0, sizeof gw);
  if (gw_config_load(config, &gw.cfg, err, sizeof err)) {
    fprintf(stderr, "tt-gateway: %s\n", err);
    return 1;
  }
  if (gw.cfg.warning)
    fprintf(stderr,
            "tt-gateway: warning: plain-text passwords in %s (%s): anyone who reads the file has "
            "them; give password_hash instead (tt-gateway passwd prints one)\n",
            config, gw.cfg.warning);
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
  if (gw_http_start(&gw, listen, latency, &http, url, sizeof url, err, sizeof err)) {
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
    gw_http_tick(http);
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
  gw_stats_line(&gw.stats, stderr);
  gw_gateway_free(&gw);
  xmlCleanupParser();
  fprintf(stderr, "tt-gateway: stopped\n");
  return 0;
}

static int import(int argc, char **argv)
{
  static const char *const known[] = {"--db", "--table", "--csv", "--max-record", NULL};
  /* --create is the one option without a value: take it out before the pairs are read. */
  int create = 0, n = 0;
  char **args = calloc((size_t)argc + 1, sizeof *args);
  if (!args) return 1;
  for (int i = 0; i < argc; i++) {
    if (i >= 2 && strcmp(argv[i], "--create") == 0)
      create = 1;
    else
      args[n++] = argv[i];
  }
  const char *dbpath = need(n, args, "--db", known);
  const char *table = need(n, args, "--table", known);
  const char *csv = need(n, args, "--csv", known);
  const char *max_s = opt(n, args, "--max-record", known);
  free(args);
  size_t max_record = GW_IMPORT_MAX_RECORD;
  if (max_s) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(max_s, &end, 10);
    if (errno || *end || end == max_s || max_s[0] == '-' || v < 1024 || v > (1ULL << 40)) {
      fprintf(stderr, "tt-gateway import: --max-record must be a whole number of bytes from "
                      "1024 to 1099511627776\n");
      return 2;
    }
    max_record = (size_t)v;
  }
  char err[1024] = "";
  sqlite3 *db;
  int rc = gw_import_file(dbpath, create, table, csv, max_record, &db, err, sizeof err);
  if (rc) {
    fprintf(stderr, "tt-gateway import: %s\n", err);
    return 1;
  }
  int64_t gen;
  gw_table_info t;
  memset(&t, 0, sizeof t);
  if (gw_store_generation(db, &gen) == 0 &&
      gw_store_resolve(db, table, gen, &t, err, sizeof err) == 0)
    printf("imported %lld rows, %zu columns into %s (version %lld)\n", (long long)t.nrows, t.ncols,
           table, (long long)t.version);
  gw_table_info_free(&t);
  sqlite3_close(db);
  return 0;
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
  /* demo makes its database when missing, but never changes a file that is not one. */
  if (gw_import_check_target(dbpath, 1, err, sizeof err) ||
      gw_store_open(dbpath, GW_STORE_CREATE, &db, err, sizeof err)) {
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

/* Read one line into buf without its line end; -1 at end of input or if it does not fit. */
static int read_line(FILE *in, char *buf, size_t len)
{
  if (!fgets(buf, (int)len, in)) return -1;
  size_t n = strlen(buf);
  if (n && buf[n - 1] != '\n' && !feof(in)) return -1;
  while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) buf[--n] = '\0';
  return 0;
}

/* Prompt on the terminal and read a line with echo off. */
static int read_hidden(const char *prompt, char *buf, size_t len)
{
  struct termios old, quiet;
  fputs(prompt, stderr);
  fflush(stderr);
  int tty = tcgetattr(STDIN_FILENO, &old) == 0;
  if (tty) {
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet); /* keeps a line typed or pasted ahead */
  }
  int rc = read_line(stdin, buf, len);
  if (tty) tcsetattr(STDIN_FILENO, TCSANOW, &old);
  fputc('\n', stderr);
  return rc;
}

static int passwd(int argc, char **argv)
{
  int from_stdin = 0;
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--stdin") == 0) {
      from_stdin = 1;
    } else {
      fprintf(stderr, "tt-gateway: unknown option '%s'\n\n%s", argv[i], usage);
      return 2;
    }
  }
  char pw[1024], again[1024];
  if (from_stdin) {
    if (read_line(stdin, pw, sizeof pw)) {
      fprintf(stderr, "tt-gateway passwd: no password on standard input (one line, under 1 KB)\n");
      return 1;
    }
  } else if (!isatty(STDIN_FILENO)) {
    fprintf(stderr, "tt-gateway passwd: standard input is not a terminal: use --stdin\n");
    return 2;
  } else {
    if (read_hidden("Password: ", pw, sizeof pw) || read_hidden("Again: ", again, sizeof again)) {
      fprintf(stderr, "tt-gateway passwd: no password read\n");
      return 1;
    }
    int same = strcmp(pw, again) == 0;
    memset(again, 0, sizeof again);
    if (!same) {
      memset(pw, 0, sizeof pw);
      fprintf(stderr, "tt-gateway passwd: the passwords differ\n");
      return 1;
    }
  }
  if (!pw[0]) {
    fprintf(stderr, "tt-gateway passwd: the password is empty\n");
    return 1;
  }
  char err[256] = "";
  char *hash = gw_auth_make_hash(pw, err, sizeof err);
  memset(pw, 0, sizeof pw);
  if (!hash) {
    fprintf(stderr, "tt-gateway passwd: %s\n", err);
    return 1;
  }
  printf("%s\n", hash);
  free(hash);
  return 0;
}

int main(int argc, char **argv)
{
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    fputs(usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("tt-gateway " TT_VERSION " (XML API v3)\n");
    return 0;
  }
  const char *help = command_help(argv[1]);
  if (help && wants_help(argc, argv)) {
    fputs(help, stdout);
    return 0;
  }
  if (strcmp(argv[1], "serve") == 0) return serve(argc, argv);
  if (strcmp(argv[1], "import") == 0) return import(argc, argv);
  if (strcmp(argv[1], "demo") == 0) return demo(argc, argv);
  if (strcmp(argv[1], "passwd") == 0) return passwd(argc, argv);
  fprintf(stderr, "tt-gateway: unknown command '%s'\n\n%s", argv[1], usage);
  return 2;
}
