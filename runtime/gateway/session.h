/*
 * session: one platform session of the gateway (a user's login) and its registry in the
 * gateway's slots: creation, references, ending, and the current result.
 *
 * Locking is the gateway's (gateway.h): refs and the slots are under the gateway lock, the
 * current result under the session's own lock.
 */
#ifndef GW_SESSION_H
#define GW_SESSION_H

#include <pthread.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

typedef struct gw_gateway gw_gateway;

typedef struct gw_session {
  int64_t sid;
  char enc[40]; /* the per-session password every call presents with the sid */
  size_t user;
  int64_t gen; /* catalog generation at login: the tables this session sees */
  sqlite3 *db; /* its own connection; the current result lives in its temp schema */
  pthread_mutex_t lock;
  int refs;  /* under the gateway lock: the slot holds one, each request one */
  int ended; /* atomic: logged out, killed, reset or timed out */
  double last_used;
  /* The current result, under lock. */
  int has_result;
  char *res_table; /* table the query started from */
  int64_t res_rows;
  size_t res_ncols;
  gw_column *res_cols;
  int64_t cursor;               /* next row for relative getdata */
  struct gw_session *next_dead; /* in the graveyard, waiting to be freed outside the lock */
} gw_session;

/* Ends of a session, for the pool bookkeeping. */
typedef enum {
  GW_END_LOGOUT = 1, /* the member logged out: RESERVED if it was held */
  GW_END_KILLED,     /* another login with kill=yes took the ID */
  GW_END_POOL,       /* flushpool, resetpool, reluid of a MARKED ID: the pool already knows */
  GW_END_IDLE,       /* idle timeout */
  GW_END_SHUTDOWN,
} gw_end_reason;

/* Start a session for a user and put it in the user's slot (which must be empty). */
int gw_sess_create(gw_gateway *gw, size_t user, gw_session **out, char *err, size_t errlen);
/* Under the gateway lock: wait until no gc runs (the lock is released while waiting, so check
 * the slot again afterwards). */
void gw_sess_wait_gc_locked(gw_gateway *gw);
/* Under the gateway lock, with no gc running: put a new session in its slot, taking a
 * reference for the caller. This is where the session takes its generation, so the gc always
 * knows every generation in use. */
int gw_sess_attach_locked(gw_gateway *gw, gw_session *s);
/* Free the sessions whose last reference went while the lock was held (call without it). */
void gw_sess_reap(gw_gateway *gw);
/* The live session of user with this sid and password, with a reference; NULL if none.
 * *wrong_password is set when the sid is live but the password is not its own. */
gw_session *gw_sess_acquire(gw_gateway *gw, size_t user, int64_t sid, const char *enc,
                            int *wrong_password);
void gw_sess_release(gw_gateway *gw, gw_session *s);
void gw_sess_release_locked(gw_gateway *gw, gw_session *s);
/* Under the gateway lock: end the user's session, interrupting any SQL it runs. */
void gw_sess_end_locked(gw_gateway *gw, size_t user, gw_end_reason why);
int gw_sess_is_ended(gw_session *s);
void gw_sess_touch(gw_gateway *gw, gw_session *s);
/* Drop the current result (under the session lock). */
void gw_sess_clear_result(gw_session *s);

#endif
