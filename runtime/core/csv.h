/* csv: incremental RFC 4180 reader for the text of a <csv> reply element. Text may arrive in
 * pieces of any size; every piece is consumed at once (nothing is buffered but a partial
 * delimiter), so the rows come out the same however the text was split. */
#ifndef TT_CSV_H
#define TT_CSV_H

#include "page.h"

#define TT_CSV_DELIM_MAX 15 /* longest separator, as the gateway caps them */

typedef struct tt_csv {
  tt_page *header; /* the first record goes here (may be NULL: dropped) */
  tt_page *rows;   /* every later record */
  tt_page *out;    /* where the current record goes */
  char sep[TT_CSV_DELIM_MAX + 1];
  char eol[TT_CSV_DELIM_MAX + 1];
  size_t seplen, eollen;
  unsigned char special[256]; /* bytes that may start a delimiter */
  char pend[2 * TT_CSV_DELIM_MAX];
  size_t npend; /* held bytes: a prefix of sep or eol */
  int state;
  int in_record;
  int crlf;                   /* eol is LF: a CR just before it, outside quotes, is dropped */
  int direct_sep, direct_eol; /* one byte that begins no longer delimiter */
  int plain_cr;               /* the cell so far ends with a CR that was outside quotes */
  int err;                    /* sticky TT_E_NOMEM */
} tt_csv;

/* sep and eol: NULL or "" for "," and LF; longer than TT_CSV_DELIM_MAX bytes are cut. */
void tt_csv_init(tt_csv *c, tt_page *header, tt_page *rows, const char *sep, const char *eol);
int tt_csv_feed(tt_csv *c, const char *s, size_t n);
/* End of text: completes a last record that has no line separator. */
int tt_csv_finish(tt_csv *c);

#endif
