/* err: the error codes of the client core, shared with the Lua binding (docs/core-api.md). */
#ifndef TT_ERR_H
#define TT_ERR_H

/* Every core function returns 0 or one of these; a function that failed never invokes a
 * completion. The first seven are what a request can end with; the others come only from the C
 * API (misuse, file output), never from an exchange. The binding exports all of them (core.E_*)
 * and the Lua module takes its codes from there: this enum is their one definition, and the
 * client's own codes (lua/tenten/errors.lua) are numbered after the last one here. */
enum {
  TT_OK = 0,
  TT_E_CONNECT = -1,   /* could not connect, resolve or send */
  TT_E_TIMEOUT = -2,   /* connect or total timeout */
  TT_E_HTTP = -3,      /* HTTP status other than 2xx */
  TT_E_XML = -4,       /* reply not well-formed, or without <rc> */
  TT_E_CANCELLED = -5, /* cancelled by the caller */
  TT_E_TLS = -6,       /* certificate or TLS failure */
  TT_E_NOMEM = -7,     /* out of memory */
  TT_E_INVAL = -8,     /* bad argument or wrong state */
  TT_E_IO = -9         /* writing to a file failed; errno tells why */
};

/* A short English name for a code ("timeout"); never NULL. */
static inline const char *tt_err_name(int code)
{
  switch (code) {
  case TT_OK:
    return "ok";
  case TT_E_CONNECT:
    return "connect";
  case TT_E_TIMEOUT:
    return "timeout";
  case TT_E_HTTP:
    return "http";
  case TT_E_XML:
    return "xml";
  case TT_E_CANCELLED:
    return "cancelled";
  case TT_E_TLS:
    return "tls";
  case TT_E_NOMEM:
    return "out of memory";
  case TT_E_INVAL:
    return "invalid argument";
  case TT_E_IO:
    return "i/o error";
  default:
    return "unknown error";
  }
}

#endif
