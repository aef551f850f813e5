/* Unit tests: configuration loading, password checks, and the session table with its pool
 * bookkeeping. No HTTP: the gateway state is driven directly. */
#include "auth.h"
#include "check.h"
#include "config.h"
#include "gateway.h"
#include "request.h"
#include "throttle.h"

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static const char *write_file(const char *name, const char *text)
{
  static char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  fputs(text, f);
  fclose(f);
  return path;
}

static int load(const char *text, gw_config *cfg, char *err, size_t errlen)
{
  return gw_config_load(write_file("cfg.lua", text), cfg, err, errlen);
}

static void test_config(void)
{
  gw_config cfg;
  char err[512];
  int rc = load("return { database = 'x.db', users = {"
                "{ uid = 'owner1', password = 'secret1', company = 'acme' },"
                "{ uid = 'admin1', password = 'pw', company = 'acme', admin = true },"
                "{ uid = 'boss', password = 'pw', company = 'other', admin = true },"
                "{ uid = 'loner', password = 'pw' } },"
                "groups = { { gid = 'pool1', owner = 'owner1', size = 3 },"
                "           { gid = 'p2', owner = 'loner', size = 1, member_password = 'm' } },"
                "reserve_seconds = 5, idle_seconds = 7, page_rows = 100 }",
                &cfg, err, sizeof err);
  CHECK(rc == 0);
  if (rc) {
    fprintf(stderr, "config: %s\n", err);
    return;
  }
  CHECK(cfg.nusers == 4 + 3 + 1);
  CHECK(cfg.ngroups == 2);
  CHECK(cfg.reserve_seconds == 5 && cfg.idle_seconds == 7 && cfg.page_rows == 100);
  long m = gw_config_find_user(&cfg, "pool1_2");
  CHECK(m >= 0 && cfg.users[m].group == 0);
  CHECK(m >= 0 && gw_auth_check(&cfg.users[m], "secret1")); /* the owner's password */
  CHECK(m >= 0 && strcmp(cfg.users[m].company, "acme") == 0);
  long p = gw_config_find_user(&cfg, "p2_0");
  CHECK(p >= 0 && gw_auth_check(&cfg.users[p], "m") && !gw_auth_check(&cfg.users[p], "pw"));
  CHECK(gw_config_find_user(&cfg, "pool1_3") < 0);
  CHECK(gw_config_find_user(&cfg, "loner") >= 0 && cfg.users[3].company[0] == '\0');
  /* who may administer pool1: its owner and an admin of acme, not another company's admin */
  CHECK(gw_auth_may_admin(&cfg, 0, 0));
  CHECK(gw_auth_may_admin(&cfg, 1, 0));
  CHECK(!gw_auth_may_admin(&cfg, 2, 0));
  CHECK(!gw_auth_may_admin(&cfg, 3, 0));
  CHECK(!gw_auth_check(&cfg.users[0], "secret2"));
  CHECK(!gw_auth_check(&cfg.users[0], NULL));
  CHECK(!gw_auth_check(&cfg.users[0], "secret1x"));
  gw_config_free(&cfg);
  gw_config_free(&cfg); /* twice is fine */

  struct {
    const char *text, *expect;
  } bad[] = {
      {"return 1", "must return a table"},
      {"return {}", "'database' is required"},
      {"return { database = 'x', users = { { uid = 'a' } } }", "exactly one of 'password'"},
      {"return { database = 'x', users = { { uid = 'a b', password = 'p' } } }", "'uid' must be"},
      {"return { database = 'x', users = { { uid = 'a', password = 'p' }, { uid = 'a', password = "
       "'p' } } }",
       "duplicate uid 'a'"},
      {"return { database = 'x', users = { { uid = 'a', password = 'p' } }, groups = { { gid = "
       "'g', owner = 'z', size = 2 } } }",
       "groups[1]: 'owner' must name a user"},
      {"return { database = 'x', users = { { uid = 'a', password = 'p' } }, groups = { { gid = "
       "'g', owner = 'a', size = 0 } } }",
       "'size' must be a whole number"},
      {"return { database = 'x', users = {}, idle_seconds = 'soon' }",
       "'idle_seconds' must be a number"},
      {"return { database = 'x', users = { { uid = 'g_0', password = 'p' }, { uid = 'a', password "
       "= 'p' } }, groups = { { gid = 'g', owner = 'a', size = 1 } } }",
       "clashes with another user"},
      {"syntax error here", "syntax error"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    err[0] = '\0';
    CHECK(load(bad[i].text, &cfg, err, sizeof err) == -1);
    CHECK(strstr(err, bad[i].expect) != NULL);
    if (!strstr(err, bad[i].expect)) fprintf(stderr, "  got: %s\n  want: %s\n", err, bad[i].expect);
  }
}

/* max_download_* at three levels (users[i] beats its group, the group the top level) and the
 * strict inject key. */
static void test_limits_and_inject(void)
{
  gw_config cfg;
  char err[512];
  int rc = load("return { database = 'x.db', max_download_cells = 1000,"
                "users = { { uid = 'a', password = 'p' },"
                "          { uid = 'b', password = 'p', max_download_rows = 5 },"
                "          { uid = 'c', password = 'p', max_download_cells = 7.0 } },"
                "groups = { { gid = 'g', owner = 'a', size = 2, max_download_rows = 9 },"
                "           { gid = 'h', owner = 'a', size = 1, max_download_cells = 3 } },"
                "inject = { login = { 45, 41 }, getuid = { 45 }, dir = {} } }",
                &cfg, err, sizeof err);
  CHECK(rc == 0);
  if (rc) {
    fprintf(stderr, "config: %s\n", err);
    return;
  }
  const gw_user *a = &cfg.users[0], *b = &cfg.users[1], *c = &cfg.users[2];
  CHECK(a->max_download_rows == 0 && a->max_download_cells == 1000);
  CHECK(b->max_download_rows == 5 && b->max_download_cells == 1000);
  CHECK(c->max_download_rows == 0 && c->max_download_cells == 7);
  long g1 = gw_config_find_user(&cfg, "g_1"), h0 = gw_config_find_user(&cfg, "h_0");
  CHECK(g1 >= 0 && cfg.users[g1].max_download_rows == 9 &&
        cfg.users[g1].max_download_cells == 1000);
  CHECK(h0 >= 0 && cfg.users[h0].max_download_rows == 0 && cfg.users[h0].max_download_cells == 3);
  CHECK(cfg.ninject == 3);
  /* in order, then 0 for ever; other transactions are never touched */
  CHECK(gw_config_injected(&cfg, "login") == 45);
  CHECK(gw_config_injected(&cfg, "query") == 0);
  CHECK(gw_config_injected(&cfg, "getuid") == 45);
  CHECK(gw_config_injected(&cfg, "login") == 41);
  CHECK(gw_config_injected(&cfg, "login") == 0);
  CHECK(gw_config_injected(&cfg, "login") == 0);
  CHECK(gw_config_injected(&cfg, "getuid") == 0);
  CHECK(gw_config_injected(&cfg, "dir") == 0);
  CHECK(gw_config_injected(&cfg, NULL) == 0);
  gw_config_free(&cfg);

  /* No limits anywhere: unlimited. */
  CHECK(load("return { database = 'x', users = { { uid = 'a', password = 'p' } } }", &cfg, err,
             sizeof err) == 0);
  CHECK(cfg.users[0].max_download_rows == 0 && cfg.users[0].max_download_cells == 0);
  CHECK(cfg.ninject == 0 && gw_config_injected(&cfg, "login") == 0);
  gw_config_free(&cfg);

  struct {
    const char *text, *expect;
  } bad[] = {
      {"return { database = 'x', users = {}, max_download_rows = 0 }",
       "config: 'max_download_rows' must be a whole number >= 1"},
      {"return { database = 'x', users = {}, max_download_cells = 2.5 }",
       "'max_download_cells' must be a whole number >= 1"},
      {"return { database = 'x', users = {}, max_download_cells = '100' }",
       "'max_download_cells' must be a whole number >= 1"},
      {"return { database = 'x', users = { { uid = 'a', password = 'p', max_download_rows = -1 } } "
       "}",
       "config: users[1]: 'max_download_rows' must be"},
      {"return { database = 'x', users = { { uid = 'a', password = 'p' } }, groups = { { gid = "
       "'g', owner = 'a', size = 1, max_download_cells = true } } }",
       "config: groups[1]: 'max_download_cells' must be"},
      {"return { database = 'x', users = {}, inject = 45 }", "'inject' must be a table"},
      {"return { database = 'x', users = {}, inject = { logon = { 45 } } }",
       "inject: unknown transaction 'logon'"},
      {"return { database = 'x', users = {}, inject = { [1] = { 45 } } }",
       "inject: keys must be api names"},
      {"return { database = 'x', users = {}, inject = { login = 45 } }",
       "inject.login must be a list of rcs"},
      {"return { database = 'x', users = {}, inject = { login = { 45, x = 1 } } }",
       "inject.login must be a list of rcs"},
      {"return { database = 'x', users = {}, inject = { login = { 45, 0 } } }",
       "inject.login[2] must be a whole number from 1 to 99"},
      {"return { database = 'x', users = {}, inject = { getuid = { 100 } } }",
       "inject.getuid[1] must be a whole number from 1 to 99"},
      {"return { database = 'x', users = {}, inject = { getuid = { 4.5 } } }",
       "inject.getuid[1] must be a whole number from 1 to 99"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    err[0] = '\0';
    CHECK(load(bad[i].text, &cfg, err, sizeof err) == -1);
    CHECK(strstr(err, bad[i].expect) != NULL);
    if (!strstr(err, bad[i].expect)) fprintf(stderr, "  got: %s\n  want: %s\n", err, bad[i].expect);
  }
}

/* Many threads take injected answers at once: each rc of the list goes out exactly once. */
#define INJECT_THREADS 8
#define INJECT_CALLS   50
static gw_config inject_cfg;
static int inject_got[INJECT_THREADS][100];

static void *take_injected(void *arg)
{
  int *got = arg;
  for (int i = 0; i < INJECT_CALLS; i++) got[gw_config_injected(&inject_cfg, "login")]++;
  return NULL;
}

static void test_inject_threads(void)
{
  char err[512], text[1024];
  size_t len = (size_t)snprintf(text, sizeof text,
                                "return { database = 'x', users = {}, inject "
                                "= { login = {");
  for (int i = 0; i < 99; i++) len += (size_t)snprintf(text + len, sizeof text - len, "%d,", i + 1);
  snprintf(text + len, sizeof text - len, "} } }");
  CHECK(load(text, &inject_cfg, err, sizeof err) == 0);
  pthread_t t[INJECT_THREADS];
  for (int i = 0; i < INJECT_THREADS; i++)
    pthread_create(&t[i], NULL, take_injected, inject_got[i]);
  for (int i = 0; i < INJECT_THREADS; i++) pthread_join(t[i], NULL);
  int total[100] = {0};
  for (int i = 0; i < INJECT_THREADS; i++)
    for (int k = 0; k < 100; k++) total[k] += inject_got[i][k];
  int once = 1;
  for (int k = 1; k < 100; k++) once &= total[k] == 1;
  CHECK(once);
  CHECK(total[0] == INJECT_THREADS * INJECT_CALLS - 99);
  gw_config_free(&inject_cfg);
}

static void test_crypt(void)
{
  struct crypt_data data;
  memset(&data, 0, sizeof data);
  const char *hash = crypt_r("s3cret", "$6$saltsalt$", &data);
  CHECK(hash && hash[0] == '$');
  gw_user u = {0};
  u.password_hash = (char *)hash;
  CHECK(gw_auth_check(&u, "s3cret"));
  CHECK(!gw_auth_check(&u, "s3cret "));
  CHECK(!gw_auth_check(&u, ""));
  u.password_hash = "*";
  CHECK(!gw_auth_check(&u, "*"));
}

/* Hashes: weak and unknown schemes are refused at load, a hashed config gets a dummy hash of
 * the same setting, and an unknown uid costs one crypt(3) like a known hashed one. */
static void test_hashes(void)
{
  char err[512] = "";
  char *y = gw_auth_make_hash("pw", err, sizeof err);
  CHECK(y && (strncmp(y, "$y$", 3) == 0 || strncmp(y, "$6$", 3) == 0));
  CHECK(y && gw_auth_hash_problem(y) == NULL);
  struct crypt_data data;
  memset(&data, 0, sizeof data);
  char *sha = strdup(crypt_r("pw", "$6$saltsalt$", &data));
  CHECK(gw_auth_hash_problem(sha) == NULL);
  CHECK(strstr(gw_auth_hash_problem("$1$saltsalt$2vnaRpHa6Jxjz5n83ok8Z0"), "MD5"));
  CHECK(strstr(gw_auth_hash_problem("abJnggxhB/yWI"), "DES"));
  CHECK(strstr(gw_auth_hash_problem("$5$saltsalt$abc"), "yescrypt"));
  CHECK(strstr(gw_auth_hash_problem("$2a$10$abcdefghijklmnopqrstuu"), "yescrypt"));
  CHECK(strstr(gw_auth_hash_problem("$6$"), "not a valid hash"));
  CHECK(strstr(gw_auth_hash_problem("$y$garbage"), "not a valid hash"));

  gw_config cfg;
  char text[1024];
  snprintf(text, sizeof text,
           "return { database = 'x', users = { { uid = 'a', password_hash = '%s' },"
           "{ uid = 'b', password_hash = '%s' } } }",
           y ? y : "", sha);
  CHECK(load(text, &cfg, err, sizeof err) == 0);
  CHECK(cfg.warning == NULL); /* no plain-text password */
  CHECK(cfg.dummy_hash && y && strncmp(cfg.dummy_hash, y, 3) == 0 &&
        strcmp(cfg.dummy_hash, y) != 0);
  unsigned long before = gw_auth_hashes();
  CHECK(gw_auth_login(&cfg, 0, "pw") == 1);
  CHECK(gw_auth_hashes() == before + 1);
  CHECK(gw_auth_login(&cfg, -1, "pw") == 0); /* unknown uid: same work, never a match */
  CHECK(gw_auth_hashes() == before + 2);
  CHECK(gw_auth_login(&cfg, -1, NULL) == 0 && gw_auth_hashes() == before + 3);
  CHECK(gw_auth_login(&cfg, 1, "pw") == 1 && gw_auth_login(&cfg, 1, "px") == 0);
  gw_config_free(&cfg);

  /* Plain-text only: the real checks are plain compares, and so is the unknown uid's. */
  CHECK(load("return { database = 'x', users = { { uid = 'a', password = 'p' } },"
             "groups = { { gid = 'g', owner = 'a', size = 1, member_password = 'm' } } }",
             &cfg, err, sizeof err) == 0);
  CHECK(cfg.dummy_hash == NULL);
  before = gw_auth_hashes();
  CHECK(gw_auth_login(&cfg, -1, "p") == 0 && gw_auth_hashes() == before);
  CHECK(cfg.warning && strstr(cfg.warning, "users[1] a") &&
        strstr(cfg.warning, "groups[1] member_password"));
  gw_config_free(&cfg);

  struct {
    const char *hash, *expect;
  } bad[] = {
      {"$1$saltsalt$2vnaRpHa6Jxjz5n83ok8Z0", "users[1]: 'password_hash' is an MD5 crypt hash"},
      {"abJnggxhB/yWI", "users[1]: 'password_hash' is not a modern crypt hash (a DES hash"},
      {"$5$rounds=5000$x$y", "users[1]: 'password_hash' must be a yescrypt"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    snprintf(text, sizeof text,
             "return { database = 'x', users = { { uid = 'a', password_hash = '%s' } } }",
             bad[i].hash);
    err[0] = '\0';
    CHECK(load(text, &cfg, err, sizeof err) == -1 && strstr(err, bad[i].expect));
    if (!strstr(err, bad[i].expect)) fprintf(stderr, "  got: %s\n  want: %s\n", err, bad[i].expect);
  }
  free(y);
  free(sha);

  CHECK(gw_auth_same("abc", "abc") && !gw_auth_same("abc", "abd") && !gw_auth_same("abc", "ab") &&
        !gw_auth_same("", "a") && gw_auth_same("", ""));
}

static void test_throttle_config(void)
{
  gw_config cfg;
  char err[512] = "";
  CHECK(load("return { database = 'x', users = {} }", &cfg, err, sizeof err) == 0);
  CHECK(cfg.throttle_failures == 5 && cfg.throttle_hold == 60);
  gw_config_free(&cfg);
  CHECK(load("return { database = 'x', users = {}, login_throttle = false }", &cfg, err,
             sizeof err) == 0);
  CHECK(cfg.throttle_failures == 0);
  gw_config_free(&cfg);
  CHECK(load("return { database = 'x', users = {}, login_throttle = { failures = 2, hold = 0.5 } }",
             &cfg, err, sizeof err) == 0);
  CHECK(cfg.throttle_failures == 2 && cfg.throttle_hold == 0.5 && cfg.throttle_first == 0.5);
  gw_config_free(&cfg);
  CHECK(load("return { database = 'x', users = {}, login_throttle = { first = 30, hold = 60 } }",
             &cfg, err, sizeof err) == 0);
  CHECK(cfg.throttle_first == 30 && cfg.throttle_hold == 60);
  gw_config_free(&cfg);
  const char *bad[] = {
      "login_throttle = 5",
      "login_throttle = { failures = 0 }",
      "login_throttle = { first = 90, hold = 60 }",
      "login_throttle = { first = 0 }",
      "login_throttle = { failures = 1.5 }",
      "login_throttle = { hold = 0 }",
      "login_throttle = { hold = 'x' }",
      "login_throttle = true",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char text[256];
    snprintf(text, sizeof text, "return { database = 'x', users = {}, %s }", bad[i]);
    err[0] = '\0';
    CHECK(load(text, &cfg, err, sizeof err) == -1 && strstr(err, "login_throttle"));
  }
}

/* The hold rule, with the clock in hand. */
static void test_throttle(void)
{
  gw_throttle *t = gw_throttle_new(3, 1, 10);
  CHECK(t != NULL);
  if (!t) return;
  double now = 1000;
  CHECK(gw_throttle_held(t, "u", "1.2.3.4", now) == 0);
  gw_throttle_failed(t, "u", "1.2.3.4", now);
  gw_throttle_failed(t, "u", "1.2.3.4", now);
  CHECK(gw_throttle_held(t, "u", NULL, now) == 0);
  gw_throttle_failed(t, "u", "1.2.3.4", now); /* the third: 1 s */
  CHECK(gw_throttle_held(t, "u", NULL, now) == 1 && gw_throttle_held(t, NULL, "1.2.3.4", now) == 1);
  CHECK(gw_throttle_held(t, "v", "5.6.7.8", now) == 0); /* other keys are free */
  CHECK(gw_throttle_held(t, "u", NULL, now + 1.01) == 0);
  double waits[] = {2, 4, 8, 10, 10};
  for (size_t i = 0; i < 5; i++) {
    now += 20 > waits[i] ? waits[i] + 0.01 : 0; /* past the hold, within the memory */
    gw_throttle_failed(t, "u", NULL, now);
    double w = gw_throttle_held(t, "u", NULL, now);
    CHECK(w > waits[i] - 0.001 && w < waits[i] + 0.001);
  }
  gw_throttle_succeeded(t, "u", "1.2.3.4", now); /* clears both */
  CHECK(gw_throttle_held(t, "u", "1.2.3.4", now) == 0);
  gw_throttle_failed(t, "u", NULL, now);
  gw_throttle_failed(t, "u", NULL, now);
  now += 10.5; /* quiet for longer than the longest hold: forgotten */
  gw_throttle_failed(t, "u", NULL, now);
  CHECK(gw_throttle_held(t, "u", NULL, now) == 0);
  /* Far more keys than slots: the table stays bounded and a fresh key still counts. */
  char key[32];
  for (int i = 0; i < 20000; i++) {
    snprintf(key, sizeof key, "spray%d", i);
    gw_throttle_failed(t, key, NULL, now);
  }
  for (int i = 0; i < 3; i++) gw_throttle_failed(t, "late", NULL, now);
  CHECK(gw_throttle_held(t, "late", NULL, now) > 0);
  gw_throttle_free(t);
  CHECK(gw_throttle_held(NULL, "u", "a", now) == 0); /* off */
  gw_throttle_failed(NULL, "u", "a", now);

  /* first: the first hold, doubled from there */
  t = gw_throttle_new(1, 30, 60);
  CHECK(t != NULL);
  if (!t) return;
  gw_throttle_failed(t, "w", NULL, 0);
  CHECK(gw_throttle_held(t, "w", NULL, 0) == 30);
  gw_throttle_failed(t, "w", NULL, 30.5);
  CHECK(gw_throttle_held(t, "w", NULL, 30.5) == 60);
  gw_throttle_free(t);
}

/* Messages and escaping always give well-formed UTF-8, cut on character boundaries. */
static int valid_utf8(const char *s, size_t n)
{
  for (size_t i = 0; i < n;) {
    size_t l = gw_utf8_len(s, i, n);
    if (!l) return 0;
    i += l;
  }
  return 1;
}

static void test_utf8(void)
{
  CHECK(gw_utf8_len("a", 0, 1) == 1 && gw_utf8_len("\xc3\xa9", 0, 2) == 2);
  CHECK(gw_utf8_len("\xc3", 0, 1) == 0 && gw_utf8_len("\xc0\xaf", 0, 2) == 0); /* overlong */
  CHECK(gw_utf8_len("\xed\xa0\x80", 0, 3) == 0);                               /* surrogate */
  CHECK(gw_utf8_len("\xf4\x90\x80\x80", 0, 4) == 0);                           /* > U+10FFFF */
  CHECK(gw_utf8_len("\xef\xbf\xbf", 0, 3) == 0 && gw_utf8_len("\xef\xbf\xbd", 0, 3) == 3);
  CHECK(gw_utf8_len("\xf0\x9f\x98\x80", 0, 4) == 4);
  CHECK(gw_utf8_cut("ab\xc3\xa9", 4) == 4 && gw_utf8_cut("ab\xc3", 3) == 2);
  CHECK(gw_utf8_cut("a\xf0\x9f\x98", 4) == 1 && gw_utf8_cut("abc", 3) == 3);

  gw_buf b = {0};
  gw_buf_xml(&b, "x\xff<\xc3\xa9\xc3", 6);
  CHECK(b.len && strcmp(b.data, "x\xef\xbf\xbd&lt;\xc3\xa9\xef\xbf\xbd") == 0);
  gw_buf_free(&b);

  gw_reply rp = {0};
  gw_reply_set(&rp, 7, "bad '%s'\nsecond line\r\n", "l\xffogin");
  CHECK(rp.msg.data && strcmp(rp.msg.data, "bad 'l\xef\xbf\xbdogin' second line") == 0);
  /* 2-byte characters: the 1023-byte cut falls inside the 512th, which goes. */
  char big[3000];
  for (size_t i = 0; i + 2 < sizeof big; i += 2) memcpy(big + i, "\xc3\xa9", 2);
  big[sizeof big - 2] = '\0';
  gw_reply_set(&rp, 2, "%s", big);
  CHECK(rp.msg.len == 1022 && valid_utf8(rp.msg.data, rp.msg.len));
  gw_reply_set(&rp, 2, "x%s", big); /* from an odd offset the cut is on a boundary */
  CHECK(rp.msg.len == 1023 && valid_utf8(rp.msg.data, rp.msg.len));
  gw_reply_free(&rp);
}

static void test_sessions(void)
{
  char text[512], err[512] = "";
  snprintf(text, sizeof text,
           "return { database = '%s/s.db', users = { { uid = 'owner1', password = 'pw' } },"
           "groups = { { gid = 'g', owner = 'owner1', size = 2 } }, reserve_seconds = 60 }",
           dir);
  char dbpath[128];
  snprintf(dbpath, sizeof dbpath, "%s/s.db", dir);
  sqlite3 *db;
  CHECK(gw_store_open(dbpath, 1, &db, err, sizeof err) == 0); /* serve needs it to exist */
  sqlite3_close(db);
  gw_gateway gw;
  memset(&gw, 0, sizeof gw);
  CHECK(load(text, &gw.cfg, err, sizeof err) == 0);
  CHECK(gw_gateway_init(&gw, err, sizeof err) == 0);
  if (err[0]) fprintf(stderr, "init: %s\n", err);

  gw_session *s;
  CHECK(gw_sess_create(&gw, 0, &s, err, sizeof err) == 0);
  pthread_mutex_lock(&gw.lock);
  gw_sess_attach_locked(&gw, s);
  pthread_mutex_unlock(&gw.lock);
  gw_sess_release(&gw, s);
  CHECK(s->sid >= 1000000000 && strncmp(s->enc, "__", 2) == 0);

  int wrong;
  gw_session *a = gw_sess_acquire(&gw, 0, s->sid, s->enc, &wrong);
  CHECK(a == s && !wrong && s->refs == 2);
  CHECK(gw_sess_acquire(&gw, 0, s->sid, "__nope", &wrong) == NULL && wrong);
  CHECK(gw_sess_acquire(&gw, 0, s->sid + 1, s->enc, &wrong) == NULL && !wrong);
  CHECK(gw_sess_acquire(&gw, 1, s->sid, s->enc, &wrong) == NULL);

  /* Ending the session while a request holds it: the request's reference keeps it alive. */
  pthread_mutex_lock(&gw.lock);
  gw_sess_end_locked(&gw, 0, GW_END_KILLED);
  gw_sess_end_locked(&gw, 0, GW_END_KILLED); /* twice is fine */
  pthread_mutex_unlock(&gw.lock);
  CHECK(gw_sess_is_ended(a) && a->refs == 1);
  CHECK(gw_sess_acquire(&gw, 0, a->sid, a->enc, &wrong) == NULL);
  gw_sess_release(&gw, a);

  /* A member's login and logout drive its pool state. */
  long m0 = gw_config_find_user(&gw.cfg, "g_0");
  size_t idx;
  CHECK(m0 >= 0 && gw_member_pool(&gw, (size_t)m0, &idx) == &gw.pools[0] && idx == 0);
  CHECK(gw_member_pool(&gw, 0, &idx) == NULL);
  size_t got;
  CHECK(gw_sam_getuid(&gw.pools[0], gw_now(), &got) == 0 && got == 0);
  CHECK(gw_sess_create(&gw, (size_t)m0, &s, err, sizeof err) == 0);
  pthread_mutex_lock(&gw.lock);
  gw_sess_attach_locked(&gw, s);
  gw_sess_release_locked(&gw, s);
  CHECK(gw.pools[0].members[0].state == GW_SAM_BUSY && gw.pools[0].members[0].has_session);
  gw_sess_end_locked(&gw, (size_t)m0, GW_END_LOGOUT);
  CHECK(gw.pools[0].members[0].state == GW_SAM_RESERVED);
  CHECK(gw.sessions[m0] == NULL);
  pthread_mutex_unlock(&gw.lock);

  /* Tokens: the documented shapes, never repeated (128 bits of session password). */
  {
    enum { N = 200 };
    static int64_t sids[N];
    static char encs[N][40];
    int shaped = 1, distinct = 1;
    for (int i = 0; i < N; i++) {
      gw_session *t;
      if (gw_sess_create(&gw, 0, &t, err, sizeof err)) {
        shaped = 0;
        break;
      }
      sids[i] = t->sid;
      snprintf(encs[i], sizeof encs[i], "%s", t->enc);
      shaped &= t->sid >= 1000000000 && t->sid <= 9999999999 && strlen(t->enc) == 34 &&
                strncmp(t->enc, "__", 2) == 0 && strspn(t->enc + 2, "0123456789abcdef") == 32;
      t->refs = 1;
      gw_sess_release(&gw, t);
      for (int k = 0; k < i; k++) distinct &= sids[k] != sids[i] && strcmp(encs[k], encs[i]);
    }
    CHECK(shaped);
    CHECK(distinct);
  }

  /* Two sessions never share a sid. */
  gw_session *x, *y;
  CHECK(gw_sess_create(&gw, 0, &x, err, sizeof err) == 0);
  CHECK(gw_sess_create(&gw, (size_t)m0 + 1, &y, err, sizeof err) == 0);
  pthread_mutex_lock(&gw.lock);
  gw_sess_attach_locked(&gw, x);
  gw_sess_attach_locked(&gw, y);
  gw_sess_release_locked(&gw, x);
  gw_sess_release_locked(&gw, y);
  CHECK(x->sid != y->sid && strcmp(x->enc, y->enc) != 0);
  pthread_mutex_unlock(&gw.lock);

  gw_gateway_tick(&gw);
  gw_gateway_free(&gw); /* ends the sessions left */
}

int main(void)
{
  snprintf(dir, sizeof dir, "/tmp/tt-unit.XXXXXX");
  if (!mkdtemp(dir)) return 1;
  test_config();
  printf("config: done\n");
  test_limits_and_inject();
  test_inject_threads();
  printf("limits and inject: done\n");
  test_crypt();
  test_hashes();
  printf("crypt and hashes: done\n");
  test_throttle_config();
  test_throttle();
  printf("throttle: done\n");
  test_utf8();
  printf("utf-8: done\n");
  test_sessions();
  printf("sessions: done\n");
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return check_report();
}
