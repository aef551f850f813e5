/*
 * txn: the XML API transactions. Each one reads a request and fills a reply; none of them
 * fails in any other way, so the HTTP layer always has an <out> to send. The table and the
 * shared checks are in txn.c; the transactions in txn_session.c, txn_query.c and txn_sam.c.
 */
#ifndef GW_TXN_H
#define GW_TXN_H

#include "gateway.h"
#include "request.h"

typedef void (*gw_txn_fn)(gw_gateway *gw, const gw_request *rq, gw_reply *rp);

/* The transaction for an api name, or NULL. */
gw_txn_fn gw_txn_find(const char *api);

/* Shared checks. Each returns -1 (or NULL) after setting the reply's rc and message. */
long gw_txn_user(gw_gateway *gw, const gw_request *rq, gw_reply *rp);           /* rc 3, 4 */
long gw_txn_clear_login(gw_gateway *gw, const gw_request *rq, gw_reply *rp);    /* + password */
gw_session *gw_txn_session(gw_gateway *gw, const gw_request *rq, gw_reply *rp); /* rc 35 */
/* Start a session for user and put it in its slot, unless one appeared meanwhile (then that
 * one is returned, with a reference, and *created is 0). NULL on failure with the reply set. */
gw_session *gw_txn_start_session(gw_gateway *gw, size_t user, gw_reply *rp, int *created);

void gw_txn_login(gw_gateway *gw, const gw_request *rq, gw_reply *rp);
void gw_txn_logout(gw_gateway *gw, const gw_request *rq, gw_reply *rp);
void gw_txn_query(gw_gateway *gw, const gw_request *rq, gw_reply *rp);
void gw_txn_getdata(gw_gateway *gw, const gw_request *rq, gw_reply *rp);
void gw_txn_querydata(gw_gateway *gw, const gw_request *rq, gw_reply *rp);
void gw_txn_tabinfo(gw_gateway *gw, const gw_request *rq, gw_reply *rp);
void gw_txn_dir(gw_gateway *gw, const gw_request *rq, gw_reply *rp);
void gw_txn_getuid(gw_gateway *gw, const gw_request *rq, gw_reply *rp);
void gw_txn_reluid(gw_gateway *gw, const gw_request *rq, gw_reply *rp);
void gw_txn_flushpool(gw_gateway *gw, const gw_request *rq, gw_reply *rp);
void gw_txn_resetpool(gw_gateway *gw, const gw_request *rq, gw_reply *rp);
void gw_txn_warmpool(gw_gateway *gw, const gw_request *rq, gw_reply *rp);
void gw_txn_samstatus(gw_gateway *gw, const gw_request *rq, gw_reply *rp);

#endif
