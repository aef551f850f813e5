/* request: parse an XML API request body and render the <out> reply. */
#include "rc.h"
#include "request.h"

#include <ctype.h>
#include <libxml/parser.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An entity or character reference starts at s[i] ('&'): "&name;", "&#10;" or "&#x0a;". */
static int is_reference(const char *s, size_t i, size_t n)
{
  size_t j = i + 1;
  if (j < n && s[j] == '#') {
    j++;
    int hex = j < n && s[j] == 'x';
    if (hex) j++;
    size_t start = j;
    while (j < n && (hex ? isxdigit((unsigned char)s[j]) : isdigit((unsigned char)s[j]))) j++;
    return j > start && j < n && s[j] == ';';
  }
  size_t start = j;
  while (j < n && (isalnum((unsigned char)s[j]) || s[j] == '_')) j++;
  return j > start && j < n && s[j] == ';';
}

/* The line of s[at], from 1, for messages: counted only on the way to an error. */
static size_t line_of(const char *s, size_t at)
{
  size_t line = 1;
  for (size_t i = 0; i < at; i++) line += s[i] == '\n';
  return line;
}

/* Escape '<' and a bare '&' inside quoted attribute values so a strict parser accepts
 * real-world macros such as <sel value="i_<10"/> and <sel value="(a>0)&(b>0)"/>. Everything
 * else passes through unchanged. One pass, so the cost is linear in the body whatever it
 * holds. It also counts start tags and the attributes of each, and refuses a body past the
 * caps before libxml2 sees it: libxml2's duplicate-attribute check is quadratic in the
 * attributes of one element. NULL with a message in err when refused or out of memory. */
static char *escape_attr_lt(const char *s, size_t n, size_t *outlen, char *err, size_t errlen)
{
  gw_buf b = {0};
  int in_tag = 0;
  char quote = 0;
  size_t start = 0, nattrs = 0, nelems = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (quote) {
      if (c == quote)
        quote = 0;
      else if (c == '<' || (c == '&' && !is_reference(s, i, n))) {
        gw_buf_add(&b, s + start, i - start);
        gw_buf_puts(&b, c == '<' ? "&lt;" : "&amp;");
        start = i + 1;
      }
    } else if (in_tag) {
      if (c == '"' || c == '\'') {
        quote = c;
        if (++nattrs > GW_REQ_MAX_ATTRS) {
          snprintf(err, errlen, "XML error: an element has more than %d attributes",
                   GW_REQ_MAX_ATTRS);
          gw_buf_free(&b);
          return NULL;
        }
      } else if (c == '>') {
        in_tag = 0;
      }
    } else if (c == '<') {
      /* Comments, CDATA and processing instructions are not tags with attributes. One left
       * open runs to the end of the body (libxml2 then says so): no search is repeated. */
      if (i + 1 < n && (s[i + 1] == '!' || s[i + 1] == '?')) {
        const char *end = NULL;
        if (n - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
          /* A comment ends at its first "--", which must be "-->". Refused here, since
           * libxml2 copies the comment so far for every "--" it complains about. */
          end = memmem(s + i + 4, n - i - 4, "--", 2);
          if (!end || end + 2 == s + n || end[2] != '>') {
            snprintf(err, errlen, "XML error: %s (line %zu)",
                     end ? "'--' inside a comment" : "unterminated comment",
                     line_of(s, end ? (size_t)(end - s) : i));
            gw_buf_free(&b);
            return NULL;
          }
        } else if (n - i >= 9 && memcmp(s + i, "<![CDATA[", 9) == 0) {
          end = memmem(s + i + 9, n - i - 9, "]]>", 3);
          if (!end) break;
        }
        if (end) i = (size_t)(end - s) + 2;
        continue;
      }
      in_tag = 1;
      nattrs = 0;
      if (i + 1 < n && s[i + 1] != '/' && ++nelems > GW_REQ_MAX_ELEMENTS) {
        snprintf(err, errlen, "XML error: the body has more than %d elements", GW_REQ_MAX_ELEMENTS);
        gw_buf_free(&b);
        return NULL;
      }
    }
  }
  gw_buf_add(&b, s + start, n - start);
  if (b.oom) {
    gw_buf_free(&b);
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  return gw_buf_take(&b, outlen);
}

int gw_req_parse_body(gw_request *rq, const char *body, size_t len, char *err, size_t errlen)
{
  size_t i = 0;
  while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n')) i++;
  if (i == len) return 0; /* an empty body is no body */
  if (memchr(body, '\0', len)) {
    snprintf(err, errlen, "XML error: the body contains a NUL byte");
    return -1;
  }
  /* No request needs a DTD, and a DTD's entities can multiply a small body into gigabytes
   * when read: refused before libxml2 sees a byte. (No NUL above, so no UTF-16 or UCS-4 can
   * spell the keyword otherwise; the parsed document is checked again below.) */
  if (memmem(body, len, "<!DOCTYPE", 9)) {
    snprintf(err, errlen, "XML error: a request must not have a DTD (<!DOCTYPE)");
    return -1;
  }
  size_t n;
  char *fixed = escape_attr_lt(body, len, &n, err, errlen);
  if (!fixed) return -1;
  /* NONET: never fetch anything a document points at. Neither NOENT nor DTDLOAD: entities
   * are never expanded and no external subset is read. */
  xmlDocPtr doc = xmlReadMemory(fixed, (int)n, "in.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  free(fixed);
  if (!doc) {
    const xmlError *e = xmlGetLastError();
    if (e && e->message) {
      size_t ml = strlen(e->message);
      while (ml && e->message[ml - 1] == '\n') ml--;
      snprintf(err, errlen, "XML error: %.*s (line %d, column %d)", (int)ml, e->message, e->line,
               e->int2);
    } else {
      snprintf(err, errlen, "XML error: the body is not well-formed");
    }
    return -1;
  }
  /* Another encoding could spell <!DOCTYPE in other bytes; without NOENT nothing was
   * expanded while parsing, and with the DTD refused nothing ever is. */
  if (doc->intSubset || doc->extSubset) {
    snprintf(err, errlen, "XML error: a request must not have a DTD (<!DOCTYPE)");
    xmlFreeDoc(doc);
    return -1;
  }
  xmlNodePtr root = xmlDocGetRootElement(doc);
  if (!root || xmlStrcmp(root->name, BAD_CAST "in") != 0) {
    snprintf(err, errlen, "XML error: the body must be rooted at <in>, not <%s>",
             root ? (const char *)root->name : "");
    xmlFreeDoc(doc);
    return -1;
  }
  rq->doc = doc;
  rq->in = root;
  return 0;
}

void gw_req_free(gw_request *rq)
{
  if (rq->doc) xmlFreeDoc(rq->doc);
  rq->doc = NULL;
  rq->in = NULL;
}

xmlNodePtr gw_req_child(xmlNodePtr parent, const char *name)
{
  if (!parent) return NULL;
  for (xmlNodePtr c = parent->children; c; c = c->next)
    if (c->type == XML_ELEMENT_NODE && xmlStrcmp(c->name, BAD_CAST name) == 0) return c;
  return NULL;
}

char *gw_req_child_raw(xmlNodePtr parent, const char *name)
{
  xmlNodePtr c = gw_req_child(parent, name);
  if (!c) return NULL;
  xmlChar *t = xmlNodeGetContent(c);
  char *s = strdup(t ? (const char *)t : "");
  xmlFree(t);
  return s;
}

char *gw_req_child_text(xmlNodePtr parent, const char *name)
{
  char *s = gw_req_child_raw(parent, name);
  if (!s) return NULL;
  /* Names and numbers never carry surrounding blanks; formatted XML often adds them. */
  size_t a = 0, z = strlen(s);
  while (s[a] == ' ' || s[a] == '\n' || s[a] == '\r' || s[a] == '\t') a++;
  while (z > a && (s[z - 1] == ' ' || s[z - 1] == '\n' || s[z - 1] == '\r' || s[z - 1] == '\t'))
    z--;
  memmove(s, s + a, z - a);
  s[z - a] = '\0';
  return s;
}

/* Blank: only the spaces, tabs and line ends that indenting a body puts between elements. */
static int is_blank(const xmlChar *t)
{
  for (; t && *t; t++)
    if (*t != ' ' && *t != '\t' && *t != '\r' && *t != '\n') return 0;
  return 1;
}

int gw_req_ops(xmlNodePtr in, char **out, char *err, size_t errlen)
{
  *out = NULL;
  xmlNodePtr ops = gw_req_child(in, "ops");
  if (!ops) return 0;
  /* The platform reads <ops> as markup (docs and public clients send the macro as child
   * elements). Escaped text would be a different macro there, so it is refused here rather
   * than quietly understood. Comments and processing instructions are not content. */
  for (xmlNodePtr c = ops->children; c; c = c->next) {
    int text = c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE;
    if ((text && !is_blank(c->content)) || c->type == XML_ENTITY_REF_NODE) {
      snprintf(err, errlen, "<ops> must be XML elements, not %s: send the macro as is, unescaped",
               c->type == XML_CDATA_SECTION_NODE ? "a CDATA section" : "escaped text");
      return GW_RC_BAD_CONTENTS;
    }
  }
  xmlBufferPtr xb = xmlBufferCreate();
  if (!xb) {
    snprintf(err, errlen, "out of memory");
    return 1;
  }
  for (xmlNodePtr c = ops->children; c; c = c->next)
    if (c->type == XML_ELEMENT_NODE) xmlNodeDump(xb, ops->doc, c, 0, 0);
  *out = strdup((const char *)xmlBufferContent(xb));
  xmlBufferFree(xb);
  if (!*out) {
    snprintf(err, errlen, "out of memory");
    return 1;
  }
  return 0;
}

void gw_reply_set(gw_reply *rp, int rc, const char *fmt, ...)
{
  char tmp[1024];
  va_list ap;
  va_start(ap, fmt);
  int full = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  size_t n = full < 0 ? 0 : (size_t)full < sizeof tmp ? (size_t)full : sizeof tmp - 1;
  /* A message cut short must not end in half a character. */
  if (full >= (int)sizeof tmp) n = gw_utf8_cut(tmp, n);
  /* One line, whatever libxml2, the compiler or a request put in it. */
  for (size_t i = 0; i < n; i++)
    if (tmp[i] == '\n' || tmp[i] == '\r' || tmp[i] == '\t') tmp[i] = ' ';
  while (n && tmp[n - 1] == ' ') n--;
  rp->rc = rc;
  gw_buf_reset(&rp->msg);
  gw_buf_utf8(&rp->msg, tmp, n);
}

char *gw_reply_render(gw_reply *rp, size_t *len)
{
  gw_buf out = {0};
  if (rp->body.oom || rp->msg.oom) {
    rp->rc = 1;
    gw_buf_reset(&rp->msg);
    gw_buf_puts(&rp->msg, "out of memory while building the reply");
    gw_buf_reset(&rp->body);
  }
  gw_buf_reserve(&out, rp->body.len + rp->msg.len + 96);
  gw_buf_puts(&out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<out><rc>");
  gw_buf_int(&out, rp->rc);
  gw_buf_puts(&out, "</rc><msg>");
  if (rp->msg.len) gw_buf_xml(&out, rp->msg.data, rp->msg.len);
  gw_buf_puts(&out, "</msg>");
  if (rp->body.len) gw_buf_add(&out, rp->body.data, rp->body.len);
  gw_buf_puts(&out, "</out>\n");
  return gw_buf_take(&out, len);
}

void gw_reply_free(gw_reply *rp)
{
  gw_buf_free(&rp->msg);
  gw_buf_free(&rp->body);
}
