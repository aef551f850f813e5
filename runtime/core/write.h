/* write: rows of pages to a FILE* as TSV, CSV, JSON lines or one JSON array, optionally as a
 * gzip stream, without any row becoming a value of the caller's language. */
#ifndef TT_WRITE_H
#define TT_WRITE_H

#include "page.h"
#include "reply.h"

#include <stdint.h>
#include <stdio.h>

enum { TT_WRITE_TSV, TT_WRITE_CSV, TT_WRITE_JSONL, TT_WRITE_JSON };
enum { TT_DATES_RAW, TT_DATES_ISO };

/* "tsv", "csv", "jsonl", "json" -> TT_WRITE_*, or -1. */
int tt_write_format(const char *name);

/* What a file holds besides its rows. tt_write_opts_init gives the defaults: a header, ',' for
 * CSV, N/A as an empty field, dates as sent, no compression. */
typedef struct tt_write_opts {
  int format;     /* TT_WRITE_* */
  int header;     /* TSV, CSV: a first line of column names */
  char sep;       /* CSV: the field separator, any byte but '"', CR, LF and NUL. TSV: tab only */
  const char *na; /* TSV, CSV: the text of an N/A cell, escaped like any cell; NULL is "".
                   * JSON formats write null and take only NULL or "" */
  int dates;      /* TT_DATES_ISO: cells of date, time and datetime columns as ISO 8601 text */
  int gzip;       /* 0: plain; 1-9: one gzip member at that deflate level */
} tt_write_opts;

void tt_write_opts_init(tt_write_opts *o, int format);

/* A file being written: pages in order, then finish. The writer alone decides what the file
 * holds: the header (TSV, CSV) before the first page's rows, or alone at finish for a result
 * without rows; the brackets of a JSON array; the gzip header and trailer. */
typedef struct tt_writer tt_writer;

/* 0, TT_E_INVAL (bad options), or TT_E_NOMEM. The options are copied; f is borrowed until
 * tt_writer_free. */
int tt_writer_new(tt_writer **out, FILE *f, const tt_write_opts *o);

/* The rows of p (NULL: none), typed and named by cols (a column without an entry is text
 * named "c<N>", N from 1). Rows shorter than ncols are padded with N/A. At the end the FILE* is
 * flushed, so what the writer produced is with the kernel (with gzip, a page's last bytes may
 * wait inside the compressor until a later page or the finish). 0, TT_E_IO (errno set) when a
 * write or the flush failed, TT_E_NOMEM, or TT_E_INVAL after finish. A failure is final:
 * every later call returns it again. */
int tt_writer_page(tt_writer *w, const tt_page *p, const tt_column *cols, size_t ncols);

/* The end of the file: the header when no page came (cols name it; NULL, 0 for none), the
 * JSON array's end ("[]" when empty), the gzip trailer; then the FILE* is flushed. The caller
 * still closes the FILE*, and has a complete file only when that succeeds too. */
int tt_writer_finish(tt_writer *w, const tt_column *cols, size_t ncols);

/* Bytes handed to the FILE* so far (compressed bytes with gzip), also after a failure. */
uint64_t tt_writer_bytes(const tt_writer *w);

void tt_writer_free(tt_writer **w);

/* One page as a whole call, for TSV, CSV and JSON lines (a JSON array spans pages: use a
 * writer). header: a first line of column names (TSV and CSV). p NULL: no rows, so the header
 * alone, which is what an empty result's file holds. *bytes gets the bytes handed to the
 * FILE*, also on failure. 0, TT_E_IO (errno set), TT_E_INVAL or TT_E_NOMEM. */
int tt_write_page(FILE *f, int format, const tt_page *p, const tt_column *cols, size_t ncols,
                  int header, uint64_t *bytes);

#endif
