/* Events as text and as columns (issue 5, item 7): the JSON an event
 * journal record holds, written and read by hand (cw_event_json_append,
 * cw_event_batch_json), and a batch turned into the binary column arrays
 * events_add_rows takes (cw_event_rows_*). Declared in event_store.h. */
#include "event_store.h"

#include <errno.h>
#include <string.h>

#include "event_rows_priv.h"
#include "timeutil.h"

/* ---- JSON, written and read by hand ------------------------------------
 *
 * Every event passes through here twice at the writer's full rate (once
 * written into the journal, once read back into a batch), so this is plain
 * code over a buffer rather than json-glib's object trees. The reader takes
 * exactly what the writer writes (and json-glib wrote before it); anything
 * else is refused and goes to the server as JSON, whose checks name it. */

#define JSON_DEPTH_MAX 256
/* PostgreSQL's epoch (2000-01-01) in µs since the Unix epoch. */
#define PG_EPOCH_US G_GINT64_CONSTANT(946684800000000)

typedef struct {
  const guint8 *p, *end;
} scan_t;

static void
skip_ws(scan_t *s)
{
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
    s->p++;
}

static gboolean
take(scan_t *s, char c)
{
  skip_ws(s);
  if (s->p < s->end && *s->p == c) {
    s->p++;
    return TRUE;
  }
  return FALSE;
}

static int
hex4(const guint8 *p)
{
  int v = 0;
  for (int i = 0; i < 4; i++) {
    int d = g_ascii_xdigit_value((char)p[i]);
    if (d < 0)
      return -1;
    v = v << 4 | d;
  }
  return v;
}

/* A string at s->p (past leading space), unescaped into out when out is
 * not NULL. Refuses what PostgreSQL's jsonb refuses: control characters,
 * bad escapes, \u0000 and lone surrogates. UTF-8 is checked by the caller. */
static gboolean
scan_string(scan_t *s, GString *out)
{
  if (!take(s, '"'))
    return FALSE;
  if (out)
    g_string_truncate(out, 0);
  const guint8 *run = s->p;
  while (s->p < s->end) {
    guint8 c = *s->p;
    if (c == '"' || c == '\\') {
      if (out)
        g_string_append_len(out, (const char *)run, s->p - run);
      if (c == '"') {
        s->p++;
        return TRUE;
      }
      if (s->end - s->p < 2)
        return FALSE;
      /* The one-letter escapes and what they stand for. */
      static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
      char e = (char)s->p[1];
      const char *hit = e ? strchr(from, e) : NULL;
      s->p += 2;
      if (hit) {
        if (out)
          g_string_append_c(out, to[hit - from]);
      } else if (e == 'u') {
        int cp = s->end - s->p >= 4 ? hex4(s->p) : -1;
        if (cp <= 0 || (cp >= 0xdc00 && cp <= 0xdfff))
          return FALSE;
        s->p += 4;
        if (cp >= 0xd800 && cp <= 0xdbff) {
          int lo = s->end - s->p >= 6 && s->p[0] == '\\' && s->p[1] == 'u' ? hex4(s->p + 2) : -1;
          if (lo < 0xdc00 || lo > 0xdfff)
            return FALSE;
          s->p += 6;
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }
        if (out)
          g_string_append_unichar(out, (gunichar)cp);
      } else {
        return FALSE;
      }
      run = s->p;
      continue;
    }
    if (c < 0x20)
      return FALSE;
    s->p++;
  }
  return FALSE;
}

static gboolean
digits(scan_t *s)
{
  const guint8 *from = s->p;
  while (s->p < s->end && g_ascii_isdigit(*s->p))
    s->p++;
  return s->p > from;
}

/* A number as RFC 8259 writes it. */
static gboolean
scan_number(scan_t *s)
{
  if (s->p < s->end && *s->p == '-')
    s->p++;
  if (s->p < s->end && *s->p == '0')
    s->p++;
  else if (!digits(s))
    return FALSE;
  if (s->p < s->end && *s->p == '.') {
    s->p++;
    if (!digits(s))
      return FALSE;
  }
  if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
    s->p++;
    if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
      s->p++;
    if (!digits(s))
      return FALSE;
  }
  return TRUE;
}

static gboolean
scan_word(scan_t *s, const char *word)
{
  gsize n = strlen(word);
  if ((gsize)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
    return FALSE;
  s->p += n;
  return TRUE;
}

/* Steps over one value, checking it. */
static gboolean
scan_value(scan_t *s, int depth)
{
  skip_ws(s);
  if (s->p >= s->end || depth > JSON_DEPTH_MAX)
    return FALSE;
  switch (*s->p) {
  case '"':
    return scan_string(s, NULL);
  case '{':
    s->p++;
    if (take(s, '}'))
      return TRUE;
    do {
      if (!scan_string(s, NULL) || !take(s, ':') || !scan_value(s, depth + 1))
        return FALSE;
    } while (take(s, ','));
    return take(s, '}');
  case '[':
    s->p++;
    if (take(s, ']'))
      return TRUE;
    do {
      if (!scan_value(s, depth + 1))
        return FALSE;
    } while (take(s, ','));
    return take(s, ']');
  case 't':
    return scan_word(s, "true");
  case 'f':
    return scan_word(s, "false");
  case 'n':
    return scan_word(s, "null");
  default:
    return scan_number(s);
  }
}

/* Whether text is one JSON object (and nothing else), as jsonb takes it. */
gboolean
cw_event_json_is_object(const char *text, gsize len)
{
  if (!g_utf8_validate_len(text, len, NULL))
    return FALSE;
  scan_t s = {(const guint8 *)text, (const guint8 *)text + len};
  skip_ws(&s);
  if (s.p >= s.end || *s.p != '{' || !scan_value(&s, 0))
    return FALSE;
  skip_ws(&s);
  return s.p == s.end;
}

static void
append_string(GString *out, const char *v)
{
  if (!v) {
    g_string_append(out, "null");
    return;
  }
  g_string_append_c(out, '"');
  const char *run = v;
  for (const char *p = v; *p; p++) {
    guchar c = (guchar)*p;
    if (c != '"' && c != '\\' && c >= 0x20)
      continue;
    g_string_append_len(out, run, p - run);
    g_string_append_c(out, '\\');
    if (c == '"' || c == '\\')
      g_string_append_c(out, (char)c);
    else if (c == '\n')
      g_string_append_c(out, 'n');
    else if (c == '\t')
      g_string_append_c(out, 't');
    else
      g_string_append_printf(out, "u%04x", c);
    run = p + 1;
  }
  g_string_append(out, run);
  g_string_append_c(out, '"');
}

/* Days since 1970-01-01 and back (Howard Hinnant's civil calendar). */
static gint64
days_from_civil(gint64 y, int m, int d)
{
  y -= m <= 2;
  gint64 era = (y >= 0 ? y : y - 399) / 400;
  gint64 yoe = y - era * 400;
  gint64 doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  gint64 doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static void
civil_from_days(gint64 z, gint64 *y, int *m, int *d)
{
  z += 719468;
  gint64 era = (z >= 0 ? z : z - 146096) / 146097;
  gint64 doe = z - era * 146097;
  gint64 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  gint64 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  gint64 mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

/* As cw_time_format writes it ("2026-11-29T06:37:00.123456Z"), without
 * GDateTime; years it would not write the same go through it. */
static void
append_time(GString *out, gint64 us)
{
  gint64 s = us / G_USEC_PER_SEC, frac = us % G_USEC_PER_SEC;
  if (frac < 0) {
    frac += G_USEC_PER_SEC;
    s--;
  }
  gint64 days = s / 86400, sod = s % 86400;
  if (sod < 0) {
    sod += 86400;
    days--;
  }
  gint64 y;
  int m, d;
  civil_from_days(days, &y, &m, &d);
  if (y < 1 || y > 9999) {
    char *text = cw_time_format(us);
    append_string(out, text);
    g_free(text);
    return;
  }
  g_string_append_printf(out, "\"%04d-%02d-%02dT%02d:%02d:%02d.%06dZ\"", (int)y, m, d,
                         (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), (int)frac);
}

void
cw_event_json_append(GString *out, const char *node, const cw_event_t *e)
{
  char id[CW_EVENT_ID_LEN + 1];
  memcpy(id, e->id, CW_EVENT_ID_LEN);
  id[CW_EVENT_ID_LEN] = '\0';
  g_string_append(out, "{\"id\":");
  append_string(out, id);
  if (e->camera_id > 0)
    g_string_append_printf(out, ",\"camera_id\":%" G_GINT64_FORMAT, e->camera_id);
  else
    g_string_append(out, ",\"camera_id\":null");
  g_string_append(out, ",\"node\":");
  append_string(out, node);
  g_string_append(out, ",\"kind\":");
  append_string(out, e->kind);
  g_string_append(out, ",\"severity\":");
  append_string(out, e->severity);
  g_string_append(out, ",\"start_time\":");
  append_time(out, e->start_us);
  g_string_append(out, ",\"end_time\":");
  if (e->end_us > 0)
    append_time(out, e->end_us);
  else
    g_string_append(out, "null");
  /* Attributes travel as a JSON object. Text that is not one is kept,
   * quoted, rather than refusing the event: a writer that has already
   * accepted it must still be able to store it. */
  g_string_append(out, ",\"attributes\":");
  if (!e->attributes) {
    g_string_append(out, "{}");
  } else if (cw_event_json_is_object(e->attributes, strlen(e->attributes))) {
    g_string_append(out, e->attributes);
  } else {
    char *valid = g_utf8_make_valid(e->attributes, -1);
    g_string_append(out, "{\"unparsed\":");
    append_string(out, valid);
    g_string_append_c(out, '}');
    g_free(valid);
  }
  g_string_append(out, ",\"snapshot\":");
  append_string(out, e->snapshot && *e->snapshot ? e->snapshot : NULL);
  g_string_append_c(out, '}');
}

char *
cw_event_batch_json(const char *node, const cw_event_t *const *events, guint n)
{
  GString *out = g_string_sized_new(64 + 256 * (gsize)n);
  g_string_append_c(out, '[');
  for (guint i = 0; i < n; i++) {
    if (i)
      g_string_append_c(out, ',');
    cw_event_json_append(out, node, events[i]);
  }
  g_string_append_c(out, ']');
  return g_string_free(out, FALSE);
}

/* ---- a batch as columns ------------------------------------------------- */

/* Array element types and array types (pg_type.dat). */
#define OID_INT8 20
#define OID_TEXT 25
#define OID_TIMESTAMPTZ 1184
#define OID_UUID 2950
#define OID_JSONB 3802
#define OID_INT8_ARRAY 1016
#define OID_TEXT_ARRAY 1009
#define OID_TIMESTAMPTZ_ARRAY 1185
#define OID_UUID_ARRAY 2951
#define OID_JSONB_ARRAY 3807
/* ndim, flags (has nulls), element type, then length and lower bound. */
#define ARRAY_HEADER 20

enum {
  COL_ID,
  COL_CAMERA,
  COL_NODE,
  COL_KIND,
  COL_SEVERITY,
  COL_START,
  COL_END,
  COL_ATTRS,
  COL_SNAP
};
/* The text members node, kind and severity: columns from COL_NODE on. */
#define TEXT_MEMBERS 3

static const Oid elem_oids[CW_EVENT_ROWS_NPARAMS] = {OID_UUID,        OID_INT8,  OID_TEXT,
                                                     OID_TEXT,        OID_TEXT,  OID_TIMESTAMPTZ,
                                                     OID_TIMESTAMPTZ, OID_JSONB, OID_TEXT};
static const Oid array_oids[CW_EVENT_ROWS_NPARAMS] = {
    OID_UUID_ARRAY,        OID_INT8_ARRAY,        OID_TEXT_ARRAY,  OID_TEXT_ARRAY, OID_TEXT_ARRAY,
    OID_TIMESTAMPTZ_ARRAY, OID_TIMESTAMPTZ_ARRAY, OID_JSONB_ARRAY, OID_TEXT_ARRAY};

struct cw_event_rows {
  GByteArray *col[CW_EVENT_ROWS_NPARAMS];
  gboolean has_null[CW_EVENT_ROWS_NPARAMS];
  guint n;
  GString *key, *text[4]; /* scratch: a member name; node, kind, severity, snapshot */
};

/* One parsed record before it goes into the columns (all or nothing). */
typedef struct {
  guint8 id[16];
  gboolean id_set, camera_set, start_set, end_set, text_set[4];
  gint64 camera, start, end; /* start, end: µs since PostgreSQL's epoch */
  const guint8 *attrs;       /* the object's text; NULL: null */
  gsize attrs_len;
  guint seen; /* members met, to refuse a repeat */
} record_t;

static void
put_be32(GByteArray *b, guint32 v)
{
  v = GUINT32_TO_BE(v);
  g_byte_array_append(b, (const guint8 *)&v, 4);
}

static void
put_be64(GByteArray *b, guint64 v)
{
  v = GUINT64_TO_BE(v);
  g_byte_array_append(b, (const guint8 *)&v, 8);
}

cw_event_rows_t *
cw_event_rows_new(void)
{
  cw_event_rows_t *r = g_new0(cw_event_rows_t, 1);
  for (int i = 0; i < CW_EVENT_ROWS_NPARAMS; i++)
    r->col[i] = g_byte_array_new();
  r->key = g_string_new(NULL);
  for (int i = 0; i < 4; i++)
    r->text[i] = g_string_new(NULL);
  cw_event_rows_reset(r);
  return r;
}

void
cw_event_rows_free(cw_event_rows_t *r)
{
  if (!r)
    return;
  for (int i = 0; i < CW_EVENT_ROWS_NPARAMS; i++)
    g_byte_array_unref(r->col[i]);
  g_string_free(r->key, TRUE);
  for (int i = 0; i < 4; i++)
    g_string_free(r->text[i], TRUE);
  g_free(r);
}

void
cw_event_rows_reset(cw_event_rows_t *r)
{
  r->n = 0;
  for (int i = 0; i < CW_EVENT_ROWS_NPARAMS; i++) {
    /* The header is filled in by cw_event_rows_params. */
    g_byte_array_set_size(r->col[i], ARRAY_HEADER);
    r->has_null[i] = FALSE;
  }
}

guint
cw_event_rows_len(const cw_event_rows_t *r)
{
  return r->n;
}

static gboolean
parse_uuid(const GString *s, guint8 out[16])
{
  if (s->len != CW_EVENT_ID_LEN)
    return FALSE;
  const char *p = s->str;
  for (int i = 0; i < 16; i++) {
    if (*p == '-' && (i == 4 || i == 6 || i == 8 || i == 10))
      p++;
    int hi = g_ascii_xdigit_value(p[0]), lo = g_ascii_xdigit_value(p[1]);
    if (hi < 0 || lo < 0 || g_ascii_isupper(p[0]) || g_ascii_isupper(p[1]))
      return FALSE;
    out[i] = (guint8)(hi << 4 | lo);
    p += 2;
  }
  return p == s->str + s->len;
}

static gboolean
two(const char *p, int lo, int hi, int *out)
{
  if (!g_ascii_isdigit(p[0]) || !g_ascii_isdigit(p[1]))
    return FALSE;
  *out = (p[0] - '0') * 10 + (p[1] - '0');
  return *out >= lo && *out <= hi;
}

/* Exactly what cw_time_format writes: "YYYY-MM-DDTHH:MM:SS.ffffffZ". */
static gboolean
parse_time(const GString *s, gint64 *pg_us)
{
  static const char shape[] = "0000-00-00T00:00:00.000000Z";
  if (s->len != sizeof shape - 1)
    return FALSE;
  for (gsize i = 0; i < s->len; i++)
    if (shape[i] == '0' ? !g_ascii_isdigit(s->str[i]) : s->str[i] != shape[i])
      return FALSE;
  const char *p = s->str;
  int y = (p[0] - '0') * 1000 + (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0');
  int mo, d, h, mi, sec;
  if (y < 1 || !two(p + 5, 1, 12, &mo) || !two(p + 8, 1, 31, &d) || !two(p + 11, 0, 23, &h) ||
      !two(p + 14, 0, 59, &mi) || !two(p + 17, 0, 59, &sec))
    return FALSE;
  if (d > g_date_get_days_in_month((GDateMonth)mo, (GDateYear)y))
    return FALSE;
  gint64 frac = g_ascii_strtoll(p + 20, NULL, 10);
  gint64 secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
  *pg_us = secs * G_USEC_PER_SEC + frac - PG_EPOCH_US;
  return TRUE;
}

/* A member's value: a string into buf, or null. */
static gboolean
scan_string_or_null(scan_t *s, GString *buf, gboolean *set)
{
  skip_ws(s);
  if (s->p < s->end && *s->p == 'n') {
    *set = FALSE;
    return scan_word(s, "null");
  }
  *set = TRUE;
  return scan_string(s, buf);
}

static gboolean
scan_member(cw_event_rows_t *r, scan_t *s, record_t *rec)
{
  static const char *const names[] = {"id",       "camera_id",  "node",
                                      "kind",     "severity",   "start_time",
                                      "end_time", "attributes", "snapshot"};
  if (!scan_string(s, r->key) || !take(s, ':'))
    return FALSE;
  int which = -1;
  for (int i = 0; i < (int)G_N_ELEMENTS(names); i++)
    if (strcmp(r->key->str, names[i]) == 0)
      which = i;
  if (which < 0) /* json_populate_recordset ignores it too */
    return scan_value(s, 0);
  if (rec->seen & (1u << which))
    return FALSE;
  rec->seen |= 1u << which;
  gboolean set = FALSE;
  switch (which) {
  case COL_ID:
    return scan_string_or_null(s, r->key, &set) && set &&
           (rec->id_set = parse_uuid(r->key, rec->id));
  case COL_CAMERA: {
    skip_ws(s);
    if (s->p < s->end && *s->p == 'n')
      return scan_word(s, "null");
    /* An integer as JSON writes it, that fits: nothing else is a bigint. */
    const guint8 *from = s->p;
    if (!scan_number(s) || s->p - from > 18 || memchr(from, '.', s->p - from) ||
        memchr(from, 'e', s->p - from) || memchr(from, 'E', s->p - from))
      return FALSE;
    char num[24];
    memcpy(num, from, s->p - from);
    num[s->p - from] = '\0';
    rec->camera = g_ascii_strtoll(num, NULL, 10);
    rec->camera_set = TRUE;
    return TRUE;
  }
  case COL_NODE:
  case COL_KIND:
  case COL_SEVERITY:
    return scan_string_or_null(s, r->text[which - COL_NODE], &rec->text_set[which - COL_NODE]);
  case COL_SNAP:
    return scan_string_or_null(s, r->text[3], &rec->text_set[3]);
  case COL_START:
  case COL_END: {
    if (!scan_string_or_null(s, r->key, &set))
      return FALSE;
    if (!set)
      return TRUE;
    gboolean ok = parse_time(r->key, which == COL_START ? &rec->start : &rec->end);
    *(which == COL_START ? &rec->start_set : &rec->end_set) = ok;
    return ok;
  }
  case COL_ATTRS: {
    skip_ws(s);
    if (s->p < s->end && *s->p == 'n')
      return scan_word(s, "null");
    if (s->p >= s->end || *s->p != '{')
      return FALSE;
    rec->attrs = s->p;
    if (!scan_value(s, 0))
      return FALSE;
    rec->attrs_len = (gsize)(s->p - rec->attrs);
    return TRUE;
  }
  }
  return FALSE;
}

static void
put_text(cw_event_rows_t *r, int col, gboolean set, const GString *v)
{
  if (!set) {
    put_be32(r->col[col], G_MAXUINT32); /* -1: null */
    r->has_null[col] = TRUE;
    return;
  }
  put_be32(r->col[col], (guint32)v->len);
  g_byte_array_append(r->col[col], (const guint8 *)v->str, (guint)v->len);
}

gboolean
cw_event_rows_add_json(cw_event_rows_t *r, const char *json, gsize len)
{
  if (r->n >= G_MAXINT32 / 2 || !g_utf8_validate_len(json, len, NULL))
    return FALSE;
  scan_t s = {(const guint8 *)json, (const guint8 *)json + len};
  record_t rec = {0};
  if (!take(&s, '{'))
    return FALSE;
  if (!take(&s, '}')) {
    do {
      if (!scan_member(r, &s, &rec))
        return FALSE;
    } while (take(&s, ','));
    if (!take(&s, '}'))
      return FALSE;
  }
  skip_ws(&s);
  /* The id and start are the key: without them the server names the fault. */
  if (s.p != s.end || !rec.id_set || !rec.start_set)
    return FALSE;

  put_be32(r->col[COL_ID], 16);
  g_byte_array_append(r->col[COL_ID], rec.id, 16);
  if (rec.camera_set) {
    put_be32(r->col[COL_CAMERA], 8);
    put_be64(r->col[COL_CAMERA], (guint64)rec.camera);
  } else {
    put_be32(r->col[COL_CAMERA], G_MAXUINT32);
    r->has_null[COL_CAMERA] = TRUE;
  }
  for (int i = 0; i < TEXT_MEMBERS; i++)
    put_text(r, COL_NODE + i, rec.text_set[i], r->text[i]);
  put_be32(r->col[COL_START], 8);
  put_be64(r->col[COL_START], (guint64)rec.start);
  if (rec.end_set) {
    put_be32(r->col[COL_END], 8);
    put_be64(r->col[COL_END], (guint64)rec.end);
  } else {
    put_be32(r->col[COL_END], G_MAXUINT32);
    r->has_null[COL_END] = TRUE;
  }
  if (rec.attrs) {
    /* jsonb's binary form: a version byte, then the text. */
    put_be32(r->col[COL_ATTRS], (guint32)rec.attrs_len + 1);
    guint8 version = 1;
    g_byte_array_append(r->col[COL_ATTRS], &version, 1);
    g_byte_array_append(r->col[COL_ATTRS], rec.attrs, (guint)rec.attrs_len);
  } else {
    put_be32(r->col[COL_ATTRS], G_MAXUINT32);
    r->has_null[COL_ATTRS] = TRUE;
  }
  put_text(r, COL_SNAP, rec.text_set[3], r->text[3]);
  r->n++;
  return TRUE;
}

void
cw_event_rows_params(cw_event_rows_t *r, cw_event_rows_params_t *out)
{
  for (int i = 0; i < CW_EVENT_ROWS_NPARAMS; i++) {
    guint8 *h = r->col[i]->data;
    guint32 head[5] = {GUINT32_TO_BE(1), GUINT32_TO_BE(r->has_null[i] ? 1 : 0),
                       GUINT32_TO_BE(elem_oids[i]), GUINT32_TO_BE(r->n), GUINT32_TO_BE(1)};
    memcpy(h, head, ARRAY_HEADER);
    out->values[i] = (const char *)h;
    out->lengths[i] = (int)r->col[i]->len;
    out->formats[i] = 1;
    out->types[i] = array_oids[i];
  }
}
