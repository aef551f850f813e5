/*
 * auth: passwords and rights. Password checks against the users of the config (plain or
 * crypt(3)), the hashes the config may hold, and who may administer a pool.
 */
#ifndef GW_AUTH_H
#define GW_AUTH_H

#include <stddef.h>

#include "config.h"

/* 1 when the clear password is right for the user (plain compare or crypt(3)). */
int gw_auth_check(const gw_user *u, const char *clear);
/* gw_auth_check for users[user]; for an unknown user (user < 0) the same work against
 * cfg->dummy_hash, then 0, so timing does not tell which user ids exist. */
int gw_auth_login(const gw_config *cfg, long user, const char *clear);
/* How many crypt(3) checks this process has made (tests read it). */
unsigned long gw_auth_hashes(void);
/* Why a password_hash is refused (weak or unknown scheme, or not a hash), or NULL if fine. */
const char *gw_auth_hash_problem(const char *hash);
/* A new password hash for the config (yescrypt, else SHA-512 crypt), malloc'd; NULL with a
 * message when libcrypt can make neither. */
char *gw_auth_make_hash(const char *clear, char *err, size_t errlen);
/* 1 when a and b are the same string; the time taken does not depend on where they differ. */
int gw_auth_same(const char *a, const char *b);
/* 1 when user may administer the group: its owner, or an admin of the owner's company. */
int gw_auth_may_admin(const gw_config *cfg, size_t user, size_t group);

#endif
