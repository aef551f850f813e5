/* head: check a request's head before libmicrohttpd reads it (see head.h). */
#include "head.h"
#include "rc.h"
#include "request.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* RFC 9110 token characters: methods and header names. */
static int tchar(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* A byte of a header value: visible ASCII, blank, tab, or any byte of a UTF-8 (or other)
 * sequence. Never NUL, CR, LF or another control character. */
static int vchar(unsigned char c)
{
  return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static void refuse(gw_head *h, int status, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void refuse(gw_head *h, int status, int rc, const char *fmt, ...)
{
  h->status = status;
  h->rc = rc;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(h->msg, sizeof h->msg, fmt, ap);
  va_end(ap);
}

/* The request line s[0..n) (n bytes, without CRLF); complete says whether the line ended.
 * Returns 0 when acceptable so far, with *minor the HTTP/1.x minor version once complete. */
static int request_line(gw_head *h, const char *s, size_t n, int complete, int *minor)
{
  size_t i = 0;
  while (i < n && tchar((unsigned char)s[i])) i++;
  size_t mlen = i;
  if (mlen >= sizeof h->method) {
    refuse(h, 400, GW_RC_FAILED, "Malformed request line: the method is longer than %zu bytes",
           sizeof h->method - 1);
    return -1;
  }
  memcpy(h->method, s, mlen);
  h->method[mlen] = '\0';
  if (i == n) {
    if (complete) goto bad;
    return 0;
  }
  if (s[i] != ' ' || mlen == 0) goto bad;
  /* The target: visible ASCII (and bytes >= 0x80, opaque to us), up to the next blank. */
  size_t t0 = ++i, params = 1;
  while (i < n && s[i] != ' ') {
    unsigned char c = (unsigned char)s[i];
    if (c <= 0x20 || c == 0x7f) goto bad;
    params += c == '&';
    i++;
    if (i - t0 > GW_HEAD_MAX_TARGET) {
      refuse(h, 414, GW_RC_FAILED, "Request target longer than %d bytes", GW_HEAD_MAX_TARGET);
      return -1;
    }
  }
  if (params > GW_HEAD_MAX_PARAMS) {
    refuse(h, 414, GW_RC_FAILED, "Request target with more than %d query parameters",
           GW_HEAD_MAX_PARAMS);
    return -1;
  }
  if (i == n) {
    if (complete) goto bad;
    return 0;
  }
  if (i == t0) goto bad; /* two blanks in a row: no target */
  /* The version: exactly HTTP/D.D and the end of the line. */
  const char *v = s + i + 1;
  size_t vn = n - i - 1;
  static const char form[] = "HTTP/0.0";
  for (size_t k = 0; k < vn; k++) {
    if (k >= sizeof form - 1) goto bad;
    int digit = form[k] == '0';
    if (digit ? (v[k] < '0' || v[k] > '9') : v[k] != form[k]) goto bad;
  }
  if (!complete) return 0;
  if (vn != sizeof form - 1) goto bad;
  if (v[5] != '1' || (v[7] != '0' && v[7] != '1')) {
    refuse(h, 505, GW_RC_FAILED, "HTTP version %.8s is not supported: send HTTP/1.1", v);
    return -1;
  }
  *minor = v[7] - '0';
  return 0;
bad:
  refuse(h, 400, GW_RC_FAILED,
         "Malformed request line: expected METHOD TARGET HTTP/1.1, one blank between each");
  return -1;
}

/* Whether the comma-separated list s[0..n) holds token (case-insensitive). */
static int has_token(const char *s, size_t n, const char *token)
{
  size_t tl = strlen(token), i = 0;
  while (i < n) {
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == ',')) i++;
    size_t j = i;
    while (j < n && s[j] != ',') j++;
    size_t e = j;
    while (e > i && (s[e - 1] == ' ' || s[e - 1] == '\t')) e--;
    if (e - i == tl && strncasecmp(s + i, token, tl) == 0) return 1;
    i = j;
  }
  return 0;
}

/* What the header lines say that matters before libmicrohttpd reads them. */
typedef struct {
  long long length;    /* -1 until a Content-Length is seen */
  int close, keep;     /* Connection: close / keep-alive */
  size_t cookies;      /* libmicrohttpd keeps a record per cookie, as per query parameter, */
  size_t cookie_bytes; /* and a copy of the Cookie header, in the same 32 KB */
} fields;

/* One header line s[0..n) (without CRLF). Returns 0 when acceptable so far. */
static int header_line(gw_head *h, const char *s, size_t n, int complete, long long max_body,
                       fields *f)
{
  if (n && (s[0] == ' ' || s[0] == '\t')) {
    refuse(h, 400, GW_RC_FAILED,
           "Malformed header: a line starts with a blank (obsolete "
           "line folding is not accepted)");
    return -1;
  }
  size_t i = 0;
  while (i < n && tchar((unsigned char)s[i])) i++;
  if (i == n && !complete) return 0;
  if (i == n || s[i] != ':' || i == 0) {
    refuse(h, 400, GW_RC_FAILED, "Malformed header line: expected NAME: VALUE");
    return -1;
  }
  size_t name = i++;
  for (size_t k = i; k < n; k++)
    if (!vchar((unsigned char)s[k])) {
      refuse(h, 400, GW_RC_FAILED,
             "Malformed header value: a control character (or a CR without LF)");
      return -1;
    }
  if (!complete) return 0;
  while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
  size_t e = n;
  while (e > i && (s[e - 1] == ' ' || s[e - 1] == '\t')) e--;
  const char *v = s + i;
  size_t vn = e - i;
  if (name == 17 && strncasecmp(s, "Transfer-Encoding", 17) == 0) {
    refuse(h, 411, GW_RC_FAILED,
           "Transfer-Encoding is not accepted: send the body with a Content-Length");
    return -1;
  }
  if (name == 14 && strncasecmp(s, "Content-Length", 14) == 0) {
    long long len = 0;
    size_t k = 0;
    while (k < vn && v[k] >= '0' && v[k] <= '9') {
      if (len > max_body) break; /* past the cap already: no overflow, 413 below */
      len = len * 10 + (v[k++] - '0');
    }
    while (k < vn && v[k] >= '0' && v[k] <= '9') k++;
    /* No blank after the digits: libmicrohttpd does not take one there. */
    if (vn == 0 || k != vn || e != n) {
      refuse(h, 400, GW_RC_FAILED, "Malformed Content-Length: it must be digits only");
      return -1;
    }
    if (f->length >= 0 && f->length != len) {
      refuse(h, 400, GW_RC_FAILED, "Two Content-Length headers that disagree");
      return -1;
    }
    if (len > max_body) {
      refuse(h, 413, GW_RC_XML, "XML error: the request body is larger than %lld bytes", max_body);
      return -1;
    }
    f->length = len;
  } else if (name == 10 && strncasecmp(s, "Connection", 10) == 0) {
    f->close |= has_token(v, vn, "close");
    f->keep |= has_token(v, vn, "keep-alive");
  } else if (name == 6 && strncasecmp(s, "Cookie", 6) == 0) {
    f->cookies += 1;
    f->cookie_bytes += vn;
    for (size_t k = 0; k < vn; k++) f->cookies += v[k] == ';' || v[k] == ',';
    if (f->cookies > GW_HEAD_MAX_COOKIES || f->cookie_bytes > GW_HEAD_MAX_COOKIE_BYTES) {
      refuse(h, 431, GW_RC_FAILED, "Request head with more than %d cookies or %d bytes of them",
             GW_HEAD_MAX_COOKIES, GW_HEAD_MAX_COOKIE_BYTES);
      return -1;
    }
  }
  return 0;
}

void gw_head_check(const char *buf, size_t n, long long max_body, gw_head *out)
{
  memset(out, 0, sizeof *out);
  fields f = {-1, 0, 0, 0, 0};
  int minor = 1, lines = 0;
  size_t i = 0;
  /* Blank lines before the request line are tolerated (RFC 9112 2.2), as libmicrohttpd does. */
  while (n - i >= 2 && buf[i] == '\r' && buf[i + 1] == '\n') i += 2;
  for (;;) {
    const char *nl = memchr(buf + i, '\n', n - i);
    size_t end = nl ? (size_t)(nl - buf) : n;
    int complete = nl != NULL;
    if (complete && (end == i || buf[end - 1] != '\r')) {
      refuse(out, 400, GW_RC_FAILED, "Malformed request: a line ends in LF without CR");
      return;
    }
    size_t len = end - i - complete;                     /* without the CR */
    if (!complete && len && buf[end - 1] == '\r') len--; /* its LF may be on the way */
    if (complete && len == 0 && lines > 0) {
      out->len = end + 1;
      break;
    }
    int r = lines == 0 ? request_line(out, buf + i, len, complete, &minor)
                       : header_line(out, buf + i, len, complete, max_body, &f);
    if (r) return;
    if (!complete) {
      if (n >= GW_HEAD_MAX_BYTES)
        refuse(out, 431, GW_RC_FAILED, "Request head larger than %d bytes", GW_HEAD_MAX_BYTES);
      return; /* GW_HEAD_MORE, or the refusal */
    }
    if (++lines > GW_HEAD_MAX_HEADERS + 1) {
      refuse(out, 431, GW_RC_FAILED, "Request head with more than %d header lines",
             GW_HEAD_MAX_HEADERS);
      return;
    }
    i = end + 1;
  }
  if (out->len > GW_HEAD_MAX_BYTES) {
    refuse(out, 431, GW_RC_FAILED, "Request head larger than %d bytes", GW_HEAD_MAX_BYTES);
    return;
  }
  out->status = GW_HEAD_OK;
  out->content_length = f.length < 0 ? 0 : f.length;
  /* As libmicrohttpd decides: HTTP/1.1 stays open unless told to close; 1.0 only if asked. */
  out->keep_alive = !f.close && (minor == 1 || f.keep);
}

const char *gw_head_reason(int status)
{
  switch (status) {
  case 400:
    return "Bad Request";
  case 411:
    return "Length Required";
  case 413:
    return "Content Too Large";
  case 414:
    return "URI Too Long";
  case 431:
    return "Request Header Fields Too Large";
  case 505:
    return "HTTP Version Not Supported";
  default:
    return "Error";
  }
}

char *gw_head_reply(const gw_head *h, size_t *len)
{
  gw_reply rp = {0};
  gw_reply_set(&rp, h->rc, "%s", h->msg);
  size_t xlen;
  char *xml = gw_reply_render(&rp, &xlen);
  gw_reply_free(&rp);
  if (!xml) return NULL;
  char date[64];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  gw_buf b = {0};
  char line[256];
  snprintf(line, sizeof line,
           "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: text/xml; charset=utf-8\r\n"
           "Content-Length: %zu\r\nConnection: close\r\n\r\n",
           h->status, gw_head_reason(h->status), date, xlen);
  gw_buf_puts(&b, line);
  gw_buf_add(&b, xml, xlen);
  free(xml);
  if (b.oom) {
    gw_buf_free(&b);
    return NULL;
  }
  return gw_buf_take(&b, len);
}
