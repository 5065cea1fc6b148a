/* The recorder against real media and FFmpeg's own tools: clips made by
 * ffmpeg (libx264, libx265) are split into access units, fed to a recorder
 * with ingest's timestamps, and every segment it closes is read back with
 * ffprobe (codec, size, keyframe first, continuous timestamps, frame count)
 * and decoded with ffmpeg. Also: stream breaks, idle, a full queue, crash
 * recovery of files cut short, and a full disk (tmpfs of 1 MiB). */
#include "recorder.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "camsim.h"
#include "test_support.h"

#define CAM 7
#define FPS 25
#define TICKS (90000 / FPS) /* pts per frame */
#define FRAME_US (G_USEC_PER_SEC / FPS)
#define GOP 30
#define PTS0 ((gint64)1 << 33)                    /* past a 32-bit wrap, as ingest extends it */
#define WALL0 G_GINT64_CONSTANT(1714564800123000) /* 2024-05-01T12:00:00.123Z */

/* ---- clips --------------------------------------------------------------- */

typedef struct {
  guint8 *data;
  size_t len;
  gboolean key;
} unit_t;

typedef struct {
  cw_codec_t codec;
  GArray *units; /* unit_t */
} clip_t;

static char *work_dir; /* clips, shared by the cases of one run */

static void
run_ok(const char *const *argv, char **out)
{
  GError *error = NULL;
  char *err_text = NULL;
  int status = 0;
  g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, out, &err_text, &status,
               &error);
  g_assert_no_error(error);
  if (!g_spawn_check_wait_status(status, NULL))
    g_error("%s failed: %s", argv[0], err_text);
  g_free(err_text);
}

/* Annex B units as ingest publishes them: start codes, no AUD, and the
 * parameter sets in front of every keyframe. */
static clip_t *
clip_new(cw_codec_t codec, const char *size, int seconds)
{
  char *path = g_strdup_printf("%s/clip-%s-%s-%d.%s", work_dir, cw_codec_name(codec), size, seconds,
                               codec == CW_CODEC_H265 ? "hevc" : "h264");
  char *src = g_strdup_printf("testsrc2=size=%s:rate=%d", size, FPS);
  char *secs = g_strdup_printf("%d", seconds);
  char *gop = g_strdup_printf("%d", GOP);
  char *x265 = g_strdup_printf("bframes=0:keyint=%d:min-keyint=%d:scenecut=0:repeat-headers=1:"
                               "log-level=error",
                               GOP, GOP);
  const char *h264[] = {"ffmpeg",
                        "-y",
                        "-v",
                        "error",
                        "-f",
                        "lavfi",
                        "-i",
                        src,
                        "-t",
                        secs,
                        "-c:v",
                        "libx264",
                        "-bf",
                        "0",
                        "-g",
                        gop,
                        "-keyint_min",
                        gop,
                        "-sc_threshold",
                        "0",
                        "-bsf:v",
                        "h264_mp4toannexb",
                        "-f",
                        "h264",
                        path,
                        NULL};
  const char *h265[] = {"ffmpeg",       "-y", "-v", "error", "-f",   "lavfi",
                        "-i",           src,  "-t", secs,    "-c:v", "libx265",
                        "-x265-params", x265, "-f", "hevc",  path,   NULL};
  run_ok(codec == CW_CODEC_H265 ? h265 : h264, NULL);

  cs_clip_t *cs = NULL;
  GError *error = NULL;
  cs_clip_load(&cs, codec == CW_CODEC_H265 ? CS_CODEC_H265 : CS_CODEC_H264, path, &error);
  g_assert_no_error(error);
  clip_t *clip = g_new0(clip_t, 1);
  clip->codec = codec;
  clip->units = g_array_new(FALSE, TRUE, sizeof(unit_t));
  GByteArray *ps = g_byte_array_new();
  static const guint8 sc[4] = {0, 0, 0, 1};
  for (guint i = 0; i < cs->nals->len; i++) {
    const cs_nal_t *n = &g_array_index(cs->nals, cs_nal_t, i);
    int t = codec == CW_CODEC_H265 ? (n->data[0] >> 1) & 0x3f : n->data[0] & 0x1f;
    gboolean is_ps = codec == CW_CODEC_H265 ? t >= 32 && t <= 34 : t == 7 || t == 8;
    if (is_ps && ps->len < 512) {
      g_byte_array_append(ps, sc, 4);
      g_byte_array_append(ps, n->data, (guint)n->len);
    }
    if (!is_ps && ps->len)
      break;
  }
  for (guint a = 0; a < cs->aus->len; a++) {
    const cs_au_t *au = &g_array_index(cs->aus, cs_au_t, a);
    GByteArray *b = g_byte_array_new();
    gboolean has_ps = FALSE;
    for (guint k = 0; k < au->n_nals; k++) {
      const cs_nal_t *n = &g_array_index(cs->nals, cs_nal_t, au->first_nal + k);
      int t = codec == CW_CODEC_H265 ? (n->data[0] >> 1) & 0x3f : n->data[0] & 0x1f;
      has_ps |= codec == CW_CODEC_H265 ? t == 33 : t == 7;
    }
    if (au->key && !has_ps)
      g_byte_array_append(b, ps->data, ps->len);
    for (guint k = 0; k < au->n_nals; k++) {
      const cs_nal_t *n = &g_array_index(cs->nals, cs_nal_t, au->first_nal + k);
      g_byte_array_append(b, sc, 4);
      g_byte_array_append(b, n->data, (guint)n->len);
    }
    unit_t u = {.key = au->key};
    u.len = b->len;
    u.data = g_byte_array_free(b, FALSE);
    g_array_append_val(clip->units, u);
  }
  g_assert_cmpuint(clip->units->len, ==, (guint)(seconds * FPS));
  for (guint i = 0; i < clip->units->len; i++)
    g_assert_cmpint(g_array_index(clip->units, unit_t, i).key, ==, i % GOP == 0);
  g_byte_array_unref(ps);
  cs_clip_free(cs);
  g_free(x265);
  g_free(gop);
  g_free(secs);
  g_free(src);
  g_free(path);
  return clip;
}

static void
clip_free(clip_t *clip)
{
  for (guint i = 0; i < clip->units->len; i++)
    g_free(g_array_index(clip->units, unit_t, i).data);
  g_array_free(clip->units, TRUE);
  g_free(clip);
}

static const unit_t *
clip_unit(const clip_t *clip, guint i)
{
  return &g_array_index(clip->units, unit_t, i % clip->units->len);
}

/* ---- a recorder and what it reports ------------------------------------ */

typedef struct {
  GMutex mu;
  GCond cond;
  GPtrArray *closed; /* cw_segment_info_t */
  GPtrArray *errors; /* messages; "" for a recovery */
  char *root;
  cw_recorder_t *r;
  /* The camera's clock. */
  gint64 pts, wall;
  guint32 ssrc;
} rig_t;

static void
on_closed(void *opaque, const cw_segment_info_t *info)
{
  rig_t *g = opaque;
  g_mutex_lock(&g->mu);
  g_ptr_array_add(g->closed, cw_segment_info_copy(info));
  g_cond_broadcast(&g->cond);
  g_mutex_unlock(&g->mu);
}

static void
on_error(void *opaque, gint64 camera_id, const char *message)
{
  rig_t *g = opaque;
  g_assert_cmpint(camera_id, ==, CAM);
  g_mutex_lock(&g->mu);
  g_ptr_array_add(g->errors, g_strdup(message ? message : ""));
  g_cond_broadcast(&g->cond);
  g_mutex_unlock(&g->mu);
}

static void
rig_init(rig_t *g, const char *root)
{
  memset(g, 0, sizeof *g);
  g_mutex_init(&g->mu);
  g_cond_init(&g->cond);
  g->closed = g_ptr_array_new_with_free_func(cw_segment_info_free);
  g->errors = g_ptr_array_new_with_free_func(g_free);
  g->root = root ? g_strdup(root) : g_dir_make_tmp("cwrec-XXXXXX", NULL);
  g->pts = PTS0;
  g->wall = WALL0;
  g->ssrc = 0x1234abcd;
}

static void
rig_start(rig_t *g, cw_recorder_options_t o)
{
  o.root = g->root;
  o.on_closed = on_closed;
  o.on_error = on_error;
  o.opaque = g;
  cw_error_t err = {0};
  g->r = cw_recorder_new(&o, &err);
  g_assert_cmpstr(err.msg, ==, "");
  g_assert_nonnull(g->r);
}

static void
rig_stop(rig_t *g)
{
  cw_recorder_free(g->r);
  g->r = NULL;
}

static void
rm_rf(const char *path)
{
  const char *argv[] = {"rm", "-rf", path, NULL};
  run_ok(argv, NULL);
}

static void
rig_clear(rig_t *g)
{
  if (g->r)
    rig_stop(g);
  g_ptr_array_free(g->closed, TRUE);
  g_ptr_array_free(g->errors, TRUE);
  /* CW_TEST_KEEP=1 leaves the footage for a look with ffprobe. */
  if (g_getenv("CW_TEST_KEEP"))
    g_test_message("footage kept in %s", g->root);
  else
    rm_rf(g->root);
  g_free(g->root);
  g_mutex_clear(&g->mu);
  g_cond_clear(&g->cond);
}

/* Pushes one unit with the camera's clock, which then moves on a frame. */
static void
push(rig_t *g, cw_codec_t codec, const unit_t *u, gboolean damaged)
{
  cw_access_unit_t *au = cw_access_unit_new(codec, u->data, u->len);
  au->pts = g->pts;
  au->wallclock_us = g->wall;
  au->keyframe = u->key;
  au->damaged = damaged;
  au->ssrc = g->ssrc;
  au->camera_id = CAM;
  cw_recorder_push(g->r, au);
  cw_access_unit_unref(au);
  g->pts += TICKS;
  g->wall += FRAME_US;
}

static void
push_clip(rig_t *g, const clip_t *clip, guint from, guint n)
{
  for (guint i = from; i < from + n; i++)
    push(g, clip->codec, clip_unit(clip, i), FALSE);
}

/* Waits (at most 20 s) until the recorder has reported n segments. */
static void
wait_closed(rig_t *g, guint n)
{
  gint64 until = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
  g_mutex_lock(&g->mu);
  while (g->closed->len < n)
    if (!g_cond_wait_until(&g->cond, &g->mu, until))
      break;
  guint got = g->closed->len;
  g_mutex_unlock(&g->mu);
  g_assert_cmpuint(got, >=, n);
}

static void
wait_errors(rig_t *g, guint n)
{
  gint64 until = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
  g_mutex_lock(&g->mu);
  while (g->errors->len < n)
    if (!g_cond_wait_until(&g->cond, &g->mu, until))
      break;
  guint got = g->errors->len;
  g_mutex_unlock(&g->mu);
  g_assert_cmpuint(got, >=, n);
}

/* Waits until the queue is empty and the bytes written stay put. */
static void
wait_settled(rig_t *g)
{
  cw_recorder_stats_t a, b;
  for (int i = 0; i < 400; i++) {
    cw_recorder_stats(g->r, &a);
    g_usleep(50000);
    cw_recorder_stats(g->r, &b);
    if (a.queued_bytes == 0 && b.queued_bytes == 0 && a.bytes_written == b.bytes_written &&
        a.segments_closed == b.segments_closed)
      return;
  }
  g_assert_not_reached();
}

static cw_recorder_camera_status_t
status_of(cw_recorder_t *r)
{
  GArray *a = cw_recorder_status(r);
  g_assert_cmpuint(a->len, ==, 1);
  cw_recorder_camera_status_t s = g_array_index(a, cw_recorder_camera_status_t, 0);
  g_array_free(a, TRUE);
  g_assert_cmpint(s.camera_id, ==, CAM);
  return s;
}

static gint
by_start(gconstpointer a, gconstpointer b)
{
  const cw_segment_info_t *x = *(cw_segment_info_t *const *)a, *y = *(cw_segment_info_t *const *)b;
  return x->start_us < y->start_us ? -1 : x->start_us > y->start_us;
}

/* ---- reading files back ------------------------------------------------ */

typedef struct {
  gint64 pts, dur, pos, size;
  gboolean key;
} pkt_t;

typedef struct {
  char *codec;
  int width, height;
  GArray *pkts; /* pkt_t */
} probe_t;

static gint64
member_int(JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member(o, name);
  g_assert_nonnull(n);
  if (json_node_get_value_type(n) == G_TYPE_STRING)
    return g_ascii_strtoll(json_node_get_string(n), NULL, 10);
  return json_node_get_int(n);
}

static probe_t
ffprobe(const char *path)
{
  const char *argv[] = {"ffprobe",
                        "-v",
                        "error",
                        "-select_streams",
                        "v:0",
                        "-show_entries",
                        "stream=codec_name,width,height:packet=pts,duration,flags,pos,size",
                        "-of",
                        "json",
                        path,
                        NULL};
  char *out = NULL;
  run_ok(argv, &out);
  JsonParser *p = json_parser_new();
  GError *error = NULL;
  json_parser_load_from_data(p, out, -1, &error);
  g_assert_no_error(error);
  JsonObject *root = json_node_get_object(json_parser_get_root(p));
  probe_t r = {.pkts = g_array_new(FALSE, TRUE, sizeof(pkt_t))};
  JsonArray *streams = json_object_get_array_member(root, "streams");
  g_assert_cmpuint(json_array_get_length(streams), ==, 1);
  JsonObject *st = json_array_get_object_element(streams, 0);
  r.codec = g_strdup(json_object_get_string_member(st, "codec_name"));
  r.width = (int)member_int(st, "width");
  r.height = (int)member_int(st, "height");
  JsonArray *pkts = json_object_get_array_member(root, "packets");
  for (guint i = 0; pkts && i < json_array_get_length(pkts); i++) {
    JsonObject *o = json_array_get_object_element(pkts, i);
    pkt_t k = {member_int(o, "pts"), member_int(o, "duration"), member_int(o, "pos"),
               member_int(o, "size"), json_object_get_string_member(o, "flags")[0] == 'K'};
    g_array_append_val(r.pkts, k);
  }
  g_object_unref(p);
  g_free(out);
  return r;
}

static void
probe_clear(probe_t *p)
{
  g_free(p->codec);
  g_array_free(p->pkts, TRUE);
}

/* Decodes every frame; TRUE when ffmpeg had nothing to say. */
static void
assert_decodes(const char *path)
{
  const char *argv[] = {"ffmpeg", "-v", "error", "-i", path, "-f", "null", "-", NULL};
  char *err_text = NULL;
  int status = 0;
  GError *error = NULL;
  g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
               NULL, NULL, &err_text, &status, &error);
  g_assert_no_error(error);
  g_assert_true(g_spawn_check_wait_status(status, NULL));
  g_assert_cmpstr(err_text, ==, "");
  g_free(err_text);
}

typedef struct {
  char type[5];
  gint64 off, end;
} box_t;

/* Top-level boxes of a file, as far as they are whole. */
static GArray *
boxes(const char *path, gint64 *file_size)
{
  char *data = NULL;
  gsize len = 0;
  g_assert_true(g_file_get_contents(path, &data, &len, NULL));
  GArray *a = g_array_new(FALSE, TRUE, sizeof(box_t));
  const guint8 *d = (const guint8 *)data;
  for (gsize off = 0; off + 8 <= len;) {
    guint64 size = (guint64)d[off] << 24 | d[off + 1] << 16 | d[off + 2] << 8 | d[off + 3];
    if (size < 8 || off + size > len)
      break;
    box_t b = {.off = (gint64)off, .end = (gint64)(off + size)};
    memcpy(b.type, d + off + 4, 4);
    g_array_append_val(a, b);
    off += size;
  }
  *file_size = (gint64)len;
  g_free(data);
  return a;
}

static guint
count_boxes(GArray *a, const char *type)
{
  guint n = 0;
  for (guint i = 0; i < a->len; i++)
    n += strcmp(g_array_index(a, box_t, i).type, type) == 0;
  return n;
}

/* Checks one closed segment against its file and returns its frame count:
 * the name, size, codec and picture size; a keyframe first; timestamps from
 * 0, every frame one frame after the last; the wall-clock span equal to the
 * media span; a clean decode; cw_segment_probe saying the same. */
static guint
check_segment(const char *root, const cw_segment_info_t *s, cw_codec_t codec, int width, int height)
{
  char *path = g_build_filename(root, s->path, NULL);
  char *want_path = cw_segment_relpath(CAM, s->start_us);
  g_assert_cmpstr(s->path, ==, want_path);
  g_assert_cmpint(s->camera_id, ==, CAM);
  g_assert_cmpint(s->codec, ==, codec);
  g_assert_cmpint(s->width, ==, width);
  g_assert_cmpint(s->height, ==, height);
  GStatBuf sb;
  g_assert_cmpint(g_stat(path, &sb), ==, 0);
  g_assert_cmpint(sb.st_size, ==, s->bytes);

  probe_t p = ffprobe(path);
  g_assert_cmpstr(p.codec, ==, codec == CW_CODEC_H265 ? "hevc" : "h264");
  g_assert_cmpint(p.width, ==, width);
  g_assert_cmpint(p.height, ==, height);
  g_assert_cmpuint(p.pkts->len, >, 0);
  pkt_t *k = (pkt_t *)p.pkts->data;
  g_assert_true(k[0].key);
  g_assert_cmpint(k[0].pts, ==, 0);
  for (guint i = 0; i < p.pkts->len; i++) {
    g_assert_cmpint(k[i].dur, ==, TICKS);
    if (i > 0)
      g_assert_cmpint(k[i].pts, ==, k[i - 1].pts + k[i - 1].dur);
  }
  pkt_t *last = &k[p.pkts->len - 1];
  g_assert_cmpint(s->end_us - s->start_us, ==, (last->pts + last->dur) * G_USEC_PER_SEC / 90000);
  assert_decodes(path);

  cw_segment_info_t q;
  cw_error_t err = {0};
  g_assert_cmpint(cw_segment_probe(root, s->path, &q, &err), ==, 0);
  g_assert_cmpstr(q.path, ==, s->path);
  g_assert_cmpint(q.camera_id, ==, s->camera_id);
  g_assert_cmpint(q.start_us, ==, s->start_us);
  g_assert_cmpint(q.end_us, ==, s->end_us);
  g_assert_cmpint(q.bytes, ==, s->bytes);
  g_assert_cmpint(q.codec, ==, s->codec);
  g_assert_cmpint(q.width, ==, s->width);
  g_assert_cmpint(q.height, ==, s->height);
  cw_segment_info_clear(&q);

  guint n = p.pkts->len;
  probe_clear(&p);
  g_free(want_path);
  g_free(path);
  return n;
}

/* No "*.part" left anywhere under root. */
static void
assert_no_part(const char *root)
{
  const char *argv[] = {"find", root, "-name", "*.part", NULL};
  char *out = NULL;
  run_ok(argv, &out);
  g_assert_cmpstr(out, ==, "");
  g_free(out);
}

/* ---- cases ------------------------------------------------------------- */

static cw_recorder_options_t
opts(void)
{
  return (cw_recorder_options_t){
      .segment_ms = 4000, .fragment_ms = 1000, .writers = 2, .fsync = CW_RECORDER_FSYNC_SEGMENT};
}

/* 12 s at 25 fps, a keyframe every 1.2 s, 4 s segments: segments of 4.8 s
 * (the first keyframe after 4 s), 4.8 s and the 2.4 s left at the end, one
 * fragment per second, contiguous on the wall clock, every frame kept. */
static void
test_clean(gconstpointer data)
{
  cw_codec_t codec = GPOINTER_TO_INT(data);
  clip_t *clip = clip_new(codec, "320x240", 12);
  rig_t g;
  rig_init(&g, NULL);
  rig_start(&g, opts());
  push_clip(&g, clip, 0, clip->units->len);
  wait_closed(&g, 2);
  cw_recorder_camera_status_t st = status_of(g.r);
  g_assert_cmpint(st.state, ==, CW_RECORDING_ACTIVE);
  g_assert_cmpint(st.units_dropped, ==, 0);
  g_assert_cmpstr(st.error, ==, "");
  rig_stop(&g);

  g_ptr_array_sort(g.closed, by_start);
  g_assert_cmpuint(g.closed->len, ==, 3);
  static const guint frames[] = {120, 120, 60};
  guint total = 0;
  for (guint i = 0; i < g.closed->len; i++) {
    const cw_segment_info_t *s = g.closed->pdata[i];
    g_assert_false(s->repaired);
    guint n = check_segment(g.root, s, codec, 320, 240);
    g_assert_cmpuint(n, ==, frames[i]);
    total += n;
    gint64 span = s->end_us - s->start_us;
    if (i + 1 < g.closed->len) {
      g_assert_cmpint(span, >=, 4000000);
      g_assert_cmpint(span, <, 4000000 + GOP * FRAME_US);
      const cw_segment_info_t *next = g.closed->pdata[i + 1];
      g_assert_cmpint(ABS(next->start_us - s->end_us), <=, FRAME_US);
    }
    /* frag_duration 1 s: a fragment for every started second. */
    char *path = g_build_filename(g.root, s->path, NULL);
    gint64 size;
    GArray *b = boxes(path, &size);
    g_assert_cmpstr(g_array_index(b, box_t, 0).type, ==, "ftyp");
    g_assert_cmpstr(g_array_index(b, box_t, 1).type, ==, "moov");
    g_assert_cmpuint(count_boxes(b, "moof"), ==, (guint)((span + 999999) / 1000000));
    g_assert_cmpint(g_array_index(b, box_t, b->len - 1).end, ==, size);
    g_array_free(b, TRUE);
    g_free(path);
  }
  g_assert_cmpuint(total, ==, clip->units->len);
  g_assert_cmpint(((cw_segment_info_t *)g.closed->pdata[0])->start_us, ==, WALL0);
  assert_no_part(g.root);
  rig_clear(&g);
  clip_free(clip);
}

/* Without a sender-report clock (wallclock_us 0), at the camera's pace: the
 * first segment starts at the arrival time and the next one where the first
 * ended, so arrival jitter makes neither gaps nor overlaps. */
static void
test_arrival_clock(void)
{
  clip_t *clip = clip_new(CW_CODEC_H264, "320x240", 4);
  rig_t g;
  rig_init(&g, NULL);
  cw_recorder_options_t o = opts();
  o.segment_ms = 1000;
  rig_start(&g, o);
  gint64 before = g_get_real_time() / 1000 * 1000; /* names carry whole ms */
  for (guint i = 0; i < 2 * GOP; i++) {
    g.wall = 0;
    push(&g, CW_CODEC_H264, clip_unit(clip, i), FALSE);
    g_usleep(FRAME_US);
  }
  rig_stop(&g);
  g_ptr_array_sort(g.closed, by_start);
  g_assert_cmpuint(g.closed->len, ==, 2);
  const cw_segment_info_t *s0 = g.closed->pdata[0], *s1 = g.closed->pdata[1];
  g_assert_cmpint(s0->start_us, >=, before);
  g_assert_cmpint(s0->start_us, <, before + G_USEC_PER_SEC);
  g_assert_cmpint(s1->start_us, ==, s0->end_us);
  g_assert_cmpuint(check_segment(g.root, s0, CW_CODEC_H264, 320, 240), ==, GOP);
  g_assert_cmpuint(check_segment(g.root, s1, CW_CODEC_H264, 320, 240), ==, GOP);
  rig_clear(&g);
  clip_free(clip);
}

/* Kill -9 in the middle of a segment, as the disk sees it: after 3 s of
 * units the .part holds exactly ftyp, moov and two whole fragments (each
 * reached write(2) when it was complete). A copy of it recovers to a file
 * of exactly those 50 frames. */
static void
test_fragments_on_disk(void)
{
  clip_t *clip = clip_new(CW_CODEC_H264, "320x240", 12);
  rig_t g, copy;
  rig_init(&g, NULL);
  rig_init(&copy, NULL);
  cw_recorder_options_t o = opts();
  o.segment_ms = 60000;
  o.fsync = CW_RECORDER_FSYNC_FRAGMENT;
  rig_start(&g, o);
  push_clip(&g, clip, 0, 75);
  wait_settled(&g);

  char *rel = cw_segment_relpath(CAM, WALL0);
  char *part = g_strdup_printf("%s/%s.part", g.root, rel);
  gint64 size;
  GArray *b = boxes(part, &size);
  g_assert_cmpuint(b->len, ==, 6);
  static const char *const want[] = {"ftyp", "moov", "moof", "mdat", "moof", "mdat"};
  for (guint i = 0; i < b->len; i++)
    g_assert_cmpstr(g_array_index(b, box_t, i).type, ==, want[i]);
  g_assert_cmpint(g_array_index(b, box_t, 5).end, ==, size);
  cw_recorder_stats_t stats;
  cw_recorder_stats(g.r, &stats);
  g_assert_cmpint(stats.bytes_written, ==, size);
  g_assert_cmpint(stats.units_in, ==, 75);

  char *copy_part = g_strdup_printf("%s/%s.part", copy.root, rel);
  char *dir = g_path_get_dirname(copy_part);
  g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
  const char *cp[] = {"cp", part, copy_part, NULL};
  run_ok(cp, NULL);
  GPtrArray *rec = NULL;
  cw_error_t err = {0};
  g_assert_cmpint(cw_recorder_recover(copy.root, &rec, &err), ==, 0);
  g_assert_cmpuint(rec->len, ==, 1);
  const cw_segment_info_t *s = rec->pdata[0];
  g_assert_true(s->repaired);
  g_assert_cmpuint(check_segment(copy.root, s, CW_CODEC_H264, 320, 240), ==, 50);
  g_ptr_array_free(rec, TRUE);

  rig_stop(&g);
  g_assert_cmpuint(g.closed->len, ==, 1);
  g_assert_cmpuint(check_segment(g.root, g.closed->pdata[0], CW_CODEC_H264, 320, 240), ==, 75);
  g_array_free(b, TRUE);
  g_free(dir);
  g_free(copy_part);
  g_free(part);
  g_free(rel);
  rig_clear(&copy);
  rig_clear(&g);
  clip_free(clip);
}

/* Breaks end the segment at the last good frame and recording picks up at
 * the next keyframe (every 30 frames): a new SSRC at frame 50, a damaged
 * frame at 140, a 10 s jump at 200, timestamps going back at 250. */
static void
test_breaks(void)
{
  clip_t *clip = clip_new(CW_CODEC_H264, "320x240", 12);
  rig_t g;
  rig_init(&g, NULL);
  cw_recorder_options_t o = opts();
  o.segment_ms = 60000;
  rig_start(&g, o);
  gint64 wall_at[300];
  for (guint i = 0; i < 300; i++) {
    if (i == 50)
      g.ssrc++;
    if (i == 200)
      g.pts += 10 * 90000;
    if (i == 250)
      g.pts -= 20 * 90000;
    wall_at[i] = g.wall;
    push(&g, CW_CODEC_H264, clip_unit(clip, i), i == 140);
  }
  rig_stop(&g);

  g_ptr_array_sort(g.closed, by_start);
  static const guint first[] = {0, 60, 150, 210, 270}, count[] = {50, 80, 50, 40, 30};
  g_assert_cmpuint(g.closed->len, ==, G_N_ELEMENTS(first));
  guint total = 0;
  for (guint i = 0; i < g.closed->len; i++) {
    const cw_segment_info_t *s = g.closed->pdata[i];
    g_assert_cmpint(s->start_us, ==, wall_at[first[i]]);
    g_assert_cmpint(s->end_us, ==, wall_at[first[i]] + (gint64)count[i] * FRAME_US);
    g_assert_cmpuint(check_segment(g.root, s, CW_CODEC_H264, 320, 240), ==, count[i]);
    total += count[i];
  }
  g_assert_cmpuint(total, ==, 300 - 10 - 10 - 10 - 20);
  rig_clear(&g);
  clip_free(clip);
}

/* idle_ms without units closes the segment by itself (a timed wait, with no
 * unit to wake the writer), and the camera is then idle. */
static void
test_idle(void)
{
  clip_t *clip = clip_new(CW_CODEC_H264, "320x240", 4);
  rig_t g;
  rig_init(&g, NULL);
  cw_recorder_options_t o = opts();
  o.idle_ms = 1000;
  rig_start(&g, o);
  push_clip(&g, clip, 0, 50);
  wait_closed(&g, 1);
  g_assert_cmpint(status_of(g.r).state, ==, CW_RECORDING_IDLE);
  g_assert_cmpuint(check_segment(g.root, g.closed->pdata[0], CW_CODEC_H264, 320, 240), ==, 50);
  /* Back after the pause: a new segment from the next keyframe. */
  push_clip(&g, clip, 50, 50);
  wait_settled(&g);
  g_assert_cmpint(status_of(g.r).state, ==, CW_RECORDING_ACTIVE);
  g_assert_cmpint(status_of(g.r).units_dropped, ==, 10);
  rig_stop(&g);
  g_assert_cmpuint(g.closed->len, ==, 2);
  g_assert_cmpuint(check_segment(g.root, g.closed->pdata[1], CW_CODEC_H264, 320, 240), ==, 40);
  rig_clear(&g);
  clip_free(clip);
}

/* New parameter sets (the camera changed resolution) start a new segment at
 * that keyframe, each file with its own size, contiguous in time. */
static void
test_parameter_sets(void)
{
  clip_t *a = clip_new(CW_CODEC_H264, "320x240", 4), *b = clip_new(CW_CODEC_H264, "160x120", 4);
  rig_t g;
  rig_init(&g, NULL);
  rig_start(&g, opts());
  push_clip(&g, a, 0, 60);
  push_clip(&g, b, 0, 60);
  rig_stop(&g);
  g_ptr_array_sort(g.closed, by_start);
  g_assert_cmpuint(g.closed->len, ==, 2);
  const cw_segment_info_t *s0 = g.closed->pdata[0], *s1 = g.closed->pdata[1];
  g_assert_cmpuint(check_segment(g.root, s0, CW_CODEC_H264, 320, 240), ==, 60);
  g_assert_cmpuint(check_segment(g.root, s1, CW_CODEC_H264, 160, 120), ==, 60);
  g_assert_cmpint(s1->start_us, ==, s0->end_us);
  rig_clear(&g);
  clip_free(a);
  clip_free(b);
}

/* A small queue (32 KiB, some 20 units), flooded in bursts of 2.4 s of
 * video each: units are dropped and counted, no segment holds a gap (each
 * is continuous), recording resumes at the keyframe after each drop, and at
 * the camera's pace again everything is kept. Files plus drops = units. */
static void
test_queue_full(void)
{
  clip_t *clip = clip_new(CW_CODEC_H264, "320x240", 12);
  rig_t g;
  rig_init(&g, NULL);
  cw_recorder_options_t o = opts();
  o.queue_bytes = 32 * 1024;
  rig_start(&g, o);
  guint flood = 1500, tail = 90;
  for (guint i = 0; i < flood; i += 2 * GOP) {
    push_clip(&g, clip, i, 2 * GOP);
    g_usleep(20000);
  }
  wait_settled(&g);
  cw_recorder_stats_t stats;
  cw_recorder_stats(g.r, &stats);
  guint flood_segments = g.closed->len;
  g_test_message("flood of %u: %" G_GINT64_FORMAT " dropped (queue full), %u segments, max "
                 "queued %" G_GINT64_FORMAT " bytes",
                 flood, stats.units_dropped_queue_full, flood_segments, stats.queued_bytes_max);
  g_assert_cmpint(stats.units_dropped_queue_full, >, 0);
  g_assert_cmpuint(flood_segments, >=, 2);
  g_assert_cmpint(stats.queued_bytes_max, <=, (gint64)o.queue_bytes);
  /* At the camera's pace again. */
  for (guint i = flood; i < flood + tail; i++) {
    push(&g, CW_CODEC_H264, clip_unit(clip, i), FALSE);
    g_usleep(5000);
  }
  wait_settled(&g);
  cw_recorder_camera_status_t st = status_of(g.r);
  cw_recorder_stats(g.r, &stats);
  g_assert_cmpint(stats.units_in, ==, flood + tail);
  g_assert_cmpint(st.units_dropped, >=, stats.units_dropped_queue_full);
  rig_stop(&g);
  g_ptr_array_sort(g.closed, by_start);
  guint total = 0;
  for (guint i = 0; i < g.closed->len; i++)
    total += check_segment(g.root, g.closed->pdata[i], CW_CODEC_H264, 320, 240);
  g_assert_cmpuint(total + (guint)st.units_dropped, ==, flood + tail);
  /* The paced tail from unit 1500 (a keyframe) on: kept whole. */
  const cw_segment_info_t *last = g.closed->pdata[g.closed->len - 1];
  g_assert_cmpint(last->end_us - last->start_us, >=, (gint64)tail * FRAME_US);
  rig_clear(&g);
  clip_free(clip);
}

/* Writes the first len bytes of src to dst (folders made). */
static void
write_prefix(const char *src, const char *dst, gint64 len)
{
  char *data = NULL;
  gsize n = 0;
  g_assert_true(g_file_get_contents(src, &data, &n, NULL));
  g_assert_cmpint(len, <=, (gint64)n);
  char *dir = g_path_get_dirname(dst);
  g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
  g_assert_true(g_file_set_contents(dst, data, len, NULL));
  g_free(dir);
  g_free(data);
}

/* Crash recovery of a finished segment cut at many places: each .part is
 * cut back to its last whole moof+mdat pair, renamed, decodes cleanly and
 * has exactly the frames of those fragments (by ffprobe's packet offsets in
 * the original); a .part of ftyp+moov only is removed; files that are not
 * segments are not touched, and one that is not an MP4 is left alone. */
static void
test_recover(void)
{
  clip_t *clip = clip_new(CW_CODEC_H264, "320x240", 12);
  rig_t g;
  rig_init(&g, NULL);
  cw_recorder_options_t o = opts();
  o.segment_ms = 60000;
  rig_start(&g, o);
  push_clip(&g, clip, 0, 150); /* 6 s: 6 fragments */
  rig_stop(&g);
  g_assert_cmpuint(g.closed->len, ==, 1);
  char *src = g_build_filename(g.root, ((cw_segment_info_t *)g.closed->pdata[0])->path, NULL);
  gint64 size;
  GArray *b = boxes(src, &size);
  probe_t p = ffprobe(src);
  g_assert_cmpuint(p.pkts->len, ==, 150);

  /* Cut points: inside the last fragments' mdat and moof, just after a
   * whole pair, just after moov, one byte short of the end of an mdat. */
  GArray *cuts = g_array_new(FALSE, FALSE, sizeof(gint64));
  for (guint i = 0; i < b->len; i++) {
    box_t *x = &g_array_index(b, box_t, i);
    gint64 c[] = {x->off + (x->end - x->off) / 2, x->end, x->end - 1, x->off + 3};
    if (strcmp(x->type, "moof") == 0 || strcmp(x->type, "mdat") == 0)
      g_array_append_vals(cuts, c, G_N_ELEMENTS(c));
    if (strcmp(x->type, "moov") == 0)
      g_array_append_val(cuts, x->end);
  }
  rig_t r;
  rig_init(&r, NULL);
  GHashTable *expect = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < cuts->len; i++) {
    gint64 cut = g_array_index(cuts, gint64, i);
    /* Frames kept: those inside the last whole mdat before the cut. */
    gint64 keep_end = 0;
    for (guint k = 0; k + 1 < b->len; k++) {
      box_t *x = &g_array_index(b, box_t, k), *y = &g_array_index(b, box_t, k + 1);
      if (strcmp(x->type, "moof") == 0 && strcmp(y->type, "mdat") == 0 && y->end <= cut)
        keep_end = y->end;
    }
    guint frames = 0;
    for (guint k = 0; k < p.pkts->len; k++)
      frames +=
          g_array_index(p.pkts, pkt_t, k).pos + g_array_index(p.pkts, pkt_t, k).size <= keep_end;
    char *rel = cw_segment_relpath(CAM, WALL0 + (gint64)i * 3600 * G_USEC_PER_SEC);
    char *dst = g_strdup_printf("%s/%s.part", r.root, rel);
    write_prefix(src, dst, cut);
    g_hash_table_insert(expect, rel, GUINT_TO_POINTER(frames));
    g_free(dst);
  }
  /* Bystanders. */
  char *other = g_build_filename(r.root, "7", "notes.part", NULL);
  char *text = g_build_filename(r.root, "7", "readme.txt", NULL);
  char *bad_rel = cw_segment_relpath(CAM, WALL0 - (gint64)3600 * G_USEC_PER_SEC);
  char *bad = g_strdup_printf("%s/%s.part", r.root, bad_rel);
  write_prefix(src, other, 100);
  g_assert_true(g_file_set_contents(text, "hello", -1, NULL));
  char *dir = g_path_get_dirname(bad);
  g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
  g_assert_true(g_file_set_contents(bad, "this is not an mp4 file at all", -1, NULL));

  GPtrArray *rec = NULL;
  cw_error_t err = {0};
  g_assert_cmpint(cw_recorder_recover(r.root, &rec, &err), ==, 0);
  guint kept = 0, removed = 0;
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init(&it, expect);
  while (g_hash_table_iter_next(&it, &key, &value)) {
    const char *rel = key;
    guint frames = GPOINTER_TO_UINT(value);
    char *final = g_build_filename(r.root, rel, NULL);
    char *part = g_strconcat(final, ".part", NULL);
    g_assert_false(g_file_test(part, G_FILE_TEST_EXISTS));
    const cw_segment_info_t *s = NULL;
    for (guint k = 0; k < rec->len; k++)
      if (strcmp(((cw_segment_info_t *)rec->pdata[k])->path, rel) == 0)
        s = rec->pdata[k];
    if (frames == 0) {
      g_assert_false(g_file_test(final, G_FILE_TEST_EXISTS));
      g_assert_null(s);
      removed++;
    } else {
      g_assert_nonnull(s);
      g_assert_true(s->repaired);
      g_assert_cmpuint(check_segment(r.root, s, CW_CODEC_H264, 320, 240), ==, frames);
      kept++;
    }
    g_free(part);
    g_free(final);
  }
  g_test_message("%u cuts: %u kept, %u removed", cuts->len, kept, removed);
  g_assert_cmpuint(rec->len, ==, kept);
  g_assert_cmpuint(kept, >=, 10);
  g_assert_cmpuint(removed, >=, 3);
  char *data = NULL;
  gsize len = 0;
  g_assert_true(g_file_get_contents(other, &data, &len, NULL));
  g_assert_cmpuint(len, ==, 100);
  g_free(data);
  g_assert_true(g_file_test(text, G_FILE_TEST_EXISTS));
  g_assert_true(g_file_get_contents(bad, &data, NULL, NULL));
  g_assert_cmpstr(data, ==, "this is not an mp4 file at all");
  g_free(data);

  g_ptr_array_free(rec, TRUE);
  g_free(dir);
  g_free(bad);
  g_free(bad_rel);
  g_free(text);
  g_free(other);
  g_hash_table_destroy(expect);
  g_array_free(cuts, TRUE);
  rig_clear(&r);
  probe_clear(&p);
  g_array_free(b, TRUE);
  g_free(src);
  rig_clear(&g);
  clip_free(clip);
}

/* A full disk: a tmpfs of 1 MiB of the test's own (in a mount namespace of
 * its own, so it goes away with the process whatever happens). The camera
 * goes into the error state naming the file and "No space left on device",
 * the file is kept up to its last whole fragment and reported repaired, and
 * once there is room again recording resumes by itself. */
static void
test_disk_full(void)
{
  char *mnt = cw_test_private_tmpfs("cwrec-full", "1m");
  if (!mnt)
    return;
  clip_t *clip = clip_new(CW_CODEC_H264, "320x240", 12);
  rig_t g;
  char *root = g_build_filename(mnt, "footage", NULL);
  rig_init(&g, root);
  g_free(root);
  cw_recorder_options_t o = opts();
  o.segment_ms = 120000;
  /* Longer than the writer needs for the whole batch, so no retry happens
   * while the disk is still full. */
  o.retry_ms = 1500;
  rig_start(&g, o);
  push_clip(&g, clip, 0, 900); /* 36 s, about 1.4 MB */
  wait_errors(&g, 1);
  wait_settled(&g);
  const char *msg = g.errors->pdata[0];
  g_test_message("error: %s", msg);
  char *rel = cw_segment_relpath(CAM, WALL0);
  char *part = g_strdup_printf("%s/%s.part", g.root, rel);
  char *want = g_strdup_printf("recording to %s: No space left on device", part);
  g_assert_cmpstr(msg, ==, want);
  cw_recorder_camera_status_t st = status_of(g.r);
  g_assert_cmpint(st.state, ==, CW_RECORDING_ERROR);
  g_assert_cmpstr(st.error, ==, msg);
  cw_recorder_stats_t stats;
  cw_recorder_stats(g.r, &stats);
  g_assert_cmpint(stats.write_errors, >=, 1);

  g_assert_cmpuint(g.closed->len, ==, 1);
  const cw_segment_info_t *s = g.closed->pdata[0];
  g_assert_true(s->repaired);
  g_assert_cmpstr(s->path, ==, rel);
  guint frames = check_segment(g.root, s, CW_CODEC_H264, 320, 240);
  g_test_message("kept %u frames, %" G_GINT64_FORMAT " bytes", frames, s->bytes);
  g_assert_cmpuint(frames, >, 100);
  gint64 size;
  char *final = g_build_filename(g.root, s->path, NULL);
  GArray *b = boxes(final, &size);
  g_assert_cmpstr(g_array_index(b, box_t, b->len - 1).type, ==, "mdat");
  g_assert_cmpint(g_array_index(b, box_t, b->len - 1).end, ==, size);
  g_array_free(b, TRUE);

  /* Room again: recording resumes at a keyframe, on_error(NULL). */
  g_assert_cmpint(g_unlink(final), ==, 0);
  g_usleep(o.retry_ms * 1000);
  push_clip(&g, clip, 900, 90);
  wait_errors(&g, 2);
  g_assert_cmpstr(g.errors->pdata[g.errors->len - 1], ==, "");
  wait_settled(&g);
  st = status_of(g.r);
  g_assert_cmpint(st.state, ==, CW_RECORDING_ACTIVE);
  g_assert_cmpstr(st.error, ==, "");
  rig_stop(&g);
  g_assert_cmpuint(g.closed->len, ==, 2);
  g_assert_cmpuint(check_segment(g.root, g.closed->pdata[1], CW_CODEC_H264, 320, 240), ==, 90);

  g_free(final);
  g_free(want);
  g_free(part);
  g_free(rel);
  rig_clear(&g); /* empties the mount */
  g_assert_cmpint(umount(mnt), ==, 0);
  g_rmdir(mnt);
  g_free(mnt);
  clip_free(clip);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  work_dir = g_dir_make_tmp("cwrec-clips-XXXXXX", NULL);
  g_assert_nonnull(work_dir);
  g_test_add_data_func("/recorder/h264", GINT_TO_POINTER(CW_CODEC_H264), test_clean);
  g_test_add_data_func("/recorder/h265", GINT_TO_POINTER(CW_CODEC_H265), test_clean);
  g_test_add_func("/recorder/arrival_clock", test_arrival_clock);
  g_test_add_func("/recorder/fragments_on_disk", test_fragments_on_disk);
  g_test_add_func("/recorder/breaks", test_breaks);
  g_test_add_func("/recorder/idle", test_idle);
  g_test_add_func("/recorder/parameter_sets", test_parameter_sets);
  g_test_add_func("/recorder/queue_full", test_queue_full);
  g_test_add_func("/recorder/recover", test_recover);
  g_test_add_func("/recorder/disk_full", test_disk_full);
  int rc = g_test_run();
  rm_rf(work_dir);
  g_free(work_dir);
  return rc;
}
