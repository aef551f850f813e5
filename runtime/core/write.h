/* write: a page of rows to a FILE* as TSV, CSV or JSON lines, without any row becoming a value
 * of the caller's language. */
#ifndef TT_WRITE_H
#define TT_WRITE_H

#include "page.h"
#include "reply.h"

#include <stdint.h>
#include <stdio.h>

enum { TT_WRITE_TSV, TT_WRITE_CSV, TT_WRITE_JSONL };

/* "tsv", "csv", "jsonl" -> TT_WRITE_*, or -1. */
int tt_write_format(const char *name);

/* Write the rows of p, typed and named by cols (a column without an entry is text named
 * "c<N>", N from 1). header: a first line of column names (TSV and CSV only). p NULL: no rows,
 * so the header alone, which is what an empty result's file holds: the one place that knows
 * each format's header is this writer, whether a result has rows or not. Rows shorter
 * than ncols are padded with N/A. The FILE* is flushed at the end, so a page that returns 0
 * is with the kernel. *bytes gets the number of bytes handed to the FILE*, also on failure.
 * 0, TT_E_IO (errno set) when a write or the flush failed, or TT_E_NOMEM. */
int tt_write_page(FILE *f, int format, const tt_page *p, const tt_column *cols, size_t ncols,
                  int header, uint64_t *bytes);

#endif
