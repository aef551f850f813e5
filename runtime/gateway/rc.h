/* rc: the platform's return codes (the <rc> of a reply) the gateway answers with, by name.
 * The numbers and meanings are the platform's documented table; which situation gets which
 * code is in docs/protocol.md. The client names the ones it acts on alike (tenten.RC,
 * lua/tenten/errors.lua); tests/spec/errors_spec.lua checks that the two agree. */
#ifndef GW_RC_H
#define GW_RC_H

enum {
  GW_RC_OK = 0,
  GW_RC_FAILED = 1,             /* unclassified error */
  GW_RC_XML = 2,                /* XML error in the request */
  GW_RC_NO_USER = 3,            /* missing user id */
  GW_RC_INVALID_USER = 4,       /* invalid user id or password */
  GW_RC_ALREADY_LOGGED_IN = 5,  /* the ID has a session (login kill=no) */
  GW_RC_NO_API = 6,             /* missing transaction type */
  GW_RC_BAD_API = 7,            /* invalid transaction type */
  GW_RC_MISSING_ELEMENT = 8,    /* a required element or parameter is absent */
  GW_RC_BAD_VALUE = 9,          /* invalid element value */
  GW_RC_BAD_CONTENTS = 10,      /* invalid element contents */
  GW_RC_MISSING_ATTRIBUTE = 11, /* a required attribute is absent */
  GW_RC_BAD_ATTRIBUTE = 13,     /* invalid attribute value */
  GW_RC_NO_SUCH_DIR = 15,       /* no such directory */
  GW_RC_BAD_TABLE_NAME = 16,    /* invalid table name */
  GW_RC_NO_SUCH_TABLE = 17,     /* no such table */
  GW_RC_NO_QUERY = 21,          /* getdata before any query */
  GW_RC_TOO_MANY = 23,          /* a page over the caller's download limits */
  GW_RC_NOT_LOGGED_IN = 35,     /* no such live session */
  GW_RC_NO_SUCH_COLUMNS = 36,   /* <cols> names columns absent from the result */
  GW_RC_NOT_OWNER = 37,         /* you do not own the group */
  GW_RC_POOL_BUSY = 38,         /* system is busy: no free ID in the pool */
  GW_RC_BAD_ADDRESS = 39,       /* not at an authorised address (never sent here) */
  GW_RC_UNAVAILABLE = 41,       /* platform unavailable */
  GW_RC_THROTTLED = 45          /* login throttling */
};

#endif
