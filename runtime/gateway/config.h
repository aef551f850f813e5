/*
 * config: the gateway's configuration, read from a Lua file that returns a table.
 *
 * Users of the config file come first in `users`; every pool member ("<gid>_<i>") is added
 * after them as a user of its own, so a user index names any login ID.
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <stddef.h>

typedef struct gw_user {
  char *uid;
  char *password;      /* clear text, or NULL when password_hash is set */
  char *password_hash; /* crypt(3) string, or NULL */
  char *company;       /* "" when the config names none: they all share one */
  int admin;           /* an administrator of its company */
  int group;           /* index into groups when a pool member, else -1 */
  /* Download limits per getdata page, resolved at load (users[i], else its group, else the
   * top level); 0 = unlimited. */
  long long max_download_rows, max_download_cells;
} gw_user;

typedef struct gw_group_config {
  char *gid;
  size_t owner; /* user index of the owner */
  size_t size;
  size_t first_member; /* user index of "<gid>_0"; members follow in order */
  long long max_download_rows, max_download_cells; /* as given for the group, or the top level */
} gw_group_config;

/* A test aid: the first calls of one transaction get these rcs, in order (config `inject`). */
typedef struct gw_inject {
  char *api;
  int *rcs;
  size_t n;
  size_t taken; /* calls answered so far, or more: atomic, shared by every request thread */
} gw_inject;

typedef struct gw_config {
  char *database;
  char *listen; /* "HOST:PORT", NULL = default */
  gw_user *users;
  size_t nusers;
  gw_group_config *groups;
  size_t ngroups;
  double reserve_seconds; /* hold after a member logs out without reluid */
  double idle_seconds;    /* a WARM session ends after this long unused; 0 = never */
  long page_rows;         /* the most rows one getdata reply carries */
  long max_body;          /* largest request body accepted, bytes */
  long max_login_body;    /* the same for the transactions that take no body (login, pools) */
  double conn_timeout;    /* seconds a client may take to send a request (and stay idle) */
  long per_ip_conns;      /* open connections one client address may have; 0 = no limit */
  long max_ops;           /* ops (elements, nested ones too) in one query */
  int log_requests;       /* one line per request on stderr */
  gw_inject *inject;
  size_t ninject;
  int throttle_failures; /* failed logins in a row before a hold; 0 = no throttling */
  double throttle_first; /* the first hold, seconds */
  double throttle_hold;  /* the longest hold, seconds */
  char *dummy_hash;      /* checked for unknown uids: a hash as costly as the users' own */
  char *warning;         /* plain-text passwords to warn about at start-up, or NULL */
} gw_config;

/* Load and check the file. 0 or -1 with a message naming the field in err. */
int gw_config_load(const char *path, gw_config *cfg, char *err, size_t errlen);
void gw_config_free(gw_config *cfg);

/* Index of a user, or -1. */
long gw_config_find_user(const gw_config *cfg, const char *uid);
long gw_config_find_group(const gw_config *cfg, const char *gid);

/* The rc to answer this call of api with instead of running it (config `inject`), or 0. Each
 * call takes the next rc of the list, across all threads; past its end the answer is 0. */
int gw_config_injected(gw_config *cfg, const char *api);

#endif
