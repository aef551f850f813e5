/* csv: a byte-at-a-time state machine with a bulk fast path for runs of plain bytes. */
#include "csv.h"

#include "err.h"

#include <string.h>

enum { S_START, S_PLAIN, S_QUOTED, S_QUOTE };

static void set_delim(char *dst, size_t *len, const char *src, const char *dflt)
{
  if (!src || !*src) src = dflt;
  size_t n = strlen(src);
  if (n > TT_CSV_DELIM_MAX) n = TT_CSV_DELIM_MAX;
  memcpy(dst, src, n);
  dst[n] = '\0';
  *len = n;
}

void tt_csv_init(tt_csv *c, tt_page *header, tt_page *rows, const char *sep, const char *eol)
{
  memset(c, 0, sizeof *c);
  c->header = header;
  c->rows = rows;
  c->out = header ? header : rows;
  set_delim(c->sep, &c->seplen, sep, ",");
  set_delim(c->eol, &c->eollen, eol, "\n");
  c->special[(unsigned char)c->sep[0]] = 1;
  c->special[(unsigned char)c->eol[0]] = 1;
  c->crlf = c->eollen == 1 && c->eol[0] == '\n';
  c->direct_sep = c->seplen == 1 && !(c->eollen > 1 && c->eol[0] == c->sep[0]);
  c->direct_eol = c->eollen == 1 && !(c->seplen > 1 && c->sep[0] == c->eol[0]);
}

static void fail(tt_csv *c, int rc)
{
  if (rc && !c->err) c->err = rc;
}

static void field_begin(tt_csv *c)
{
  if (c->in_record) return;
  fail(c, tt_page_begin_row(c->out));
  c->in_record = 1;
}

static void add(tt_csv *c, const char *s, size_t n)
{
  field_begin(c);
  fail(c, tt_page_add_text(c->out, s, n));
}

static void end_field(tt_csv *c)
{
  field_begin(c);
  fail(c, tt_page_end_cell(c->out));
  c->state = S_START;
  c->plain_cr = 0;
}

static void end_record(tt_csv *c)
{
  if (c->crlf && c->plain_cr) tt_page_trim_open(c->out, 1);
  end_field(c); /* a blank line is a record of one N/A cell */
  c->in_record = 0;
  if (c->out == c->header) c->out = c->rows;
}

static int starts(const char *s, size_t n, const char *prefix, size_t plen)
{
  return plen <= n && memcmp(s, prefix, plen) == 0;
}

/* Settle the held bytes: while they could still grow into a delimiter (and `final` is not set)
 * keep holding them; otherwise the longest delimiter they begin with ends a field or a record,
 * or else their first byte is text. Longest match matters when one delimiter begins the other
 * (separator "XY", line separator "XYZ"). */
static void settle(tt_csv *c, int final)
{
  while (c->npend) {
    if (!final && ((c->npend < c->seplen && starts(c->sep, c->seplen, c->pend, c->npend)) ||
                   (c->npend < c->eollen && starts(c->eol, c->eollen, c->pend, c->npend))))
      return;
    int is_sep = starts(c->pend, c->npend, c->sep, c->seplen);
    int is_eol = starts(c->pend, c->npend, c->eol, c->eollen);
    size_t used = 1;
    if (is_eol && (!is_sep || c->eollen > c->seplen)) {
      used = c->eollen;
      end_record(c);
    } else if (is_sep) {
      used = c->seplen;
      end_field(c);
    } else {
      c->state = S_PLAIN;
      add(c, c->pend, 1);
      c->plain_cr = c->pend[0] == '\r';
    }
    c->npend -= used;
    memmove(c->pend, c->pend + used, c->npend);
  }
}

/* A byte that may begin a delimiter. */
static void delim_byte(tt_csv *c, char b)
{
  c->pend[c->npend++] = b;
  settle(c, 0);
}

int tt_csv_feed(tt_csv *c, const char *s, size_t n)
{
  size_t i = 0;
  while (i < n && !c->err) {
    switch (c->state) {
    case S_QUOTED: {
      const char *q = memchr(s + i, '"', n - i);
      size_t run = q ? (size_t)(q - (s + i)) : n - i;
      if (run) add(c, s + i, run);
      i += run;
      if (q) {
        c->state = S_QUOTE;
        i++;
      }
      break;
    }
    case S_QUOTE:
      /* A doubled quote is one quote; anything else closes the quoted part. */
      if (s[i] == '"') {
        add(c, "\"", 1);
        c->state = S_QUOTED;
        i++;
      } else {
        c->state = S_PLAIN;
        c->plain_cr = 0;
      }
      break;
    case S_START:
      if (!c->npend && s[i] == '"') {
        field_begin(c);
        c->state = S_QUOTED;
        i++;
        break;
      }
      /* fall through */
    default: {
      if (c->npend) {
        delim_byte(c, s[i++]);
        break;
      }
      size_t j = i;
      while (j < n && !c->special[(unsigned char)s[j]]) j++;
      if (j > i) {
        c->state = S_PLAIN;
        add(c, s + i, j - i);
        c->plain_cr = s[j - 1] == '\r';
        i = j;
      }
      if (i == n) break;
      /* One-byte delimiters that begin no longer one need no holding. */
      if (s[i] == c->sep[0] && c->direct_sep)
        end_field(c);
      else if (s[i] == c->eol[0] && c->direct_eol)
        end_record(c);
      else
        delim_byte(c, s[i]);
      i++;
      break;
    }
    }
  }
  return c->err;
}

int tt_csv_finish(tt_csv *c)
{
  settle(c, 1);
  if (c->in_record) {
    end_field(c);
    c->in_record = 0;
    if (c->out == c->header) c->out = c->rows;
  }
  c->state = S_START;
  return c->err;
}
