/* Event snapshots against real media: clips made by ffmpeg (libx264,
 * libx265) are split into access units; keyframes become JPEGs that are
 * decoded back with libavcodec. The snapshotter is fed units as ingest
 * would, and its files, callbacks and counters are checked; also expiry,
 * refusals, pruning of day folders and freeing with requests pending. */
#include "snapshot.h"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>
#include <libavcodec/avcodec.h>

#include "segment.h"
#include "test_clip.h"
#include "test_support.h"

#define CAM 7
#define OTHER_CAM 9
#define FPS 25
#define GOP 30
#define WAIT_S 10

/* ---- clips --------------------------------------------------------------- */

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

static void
rm_rf(const char *path)
{
  const char *argv[] = {"rm", "-rf", path, NULL};
  run_ok(argv, NULL);
}

/* One second of testsrc2 as ingest publishes it: one keyframe, then
 * GOP - 1 > FPS - 1 units that are not. */
static cw_test_clip_t *
clip_new(cw_codec_t codec, const char *size)
{
  cw_test_clip_t *clip = cw_test_clip_new(work_dir, codec, size, FPS, GOP, 1.0);
  g_assert_cmpuint(clip->units->len, ==, FPS);
  for (guint i = 0; i < clip->units->len; i++)
    g_assert_cmpint(g_array_index(clip->units, cw_test_unit_t, i).key, ==, i == 0);
  return clip;
}

/* ---- JPEGs --------------------------------------------------------------- */

/* Checks the markers and decodes the JPEG with libavcodec; its size. */
static void
check_jpeg(const guint8 *d, gsize n, int *width, int *height)
{
  g_assert_cmpuint(n, >, 4);
  g_assert_cmphex(d[0], ==, 0xff);
  g_assert_cmphex(d[1], ==, 0xd8);
  g_assert_cmphex(d[n - 2], ==, 0xff);
  g_assert_cmphex(d[n - 1], ==, 0xd9);
  const AVCodec *codec = avcodec_find_decoder(AV_CODEC_ID_MJPEG);
  AVCodecContext *cc = avcodec_alloc_context3(codec);
  AVPacket *pkt = av_packet_alloc();
  AVFrame *frame = av_frame_alloc();
  g_assert_cmpint(avcodec_open2(cc, codec, NULL), ==, 0);
  g_assert_cmpint(av_new_packet(pkt, (int)n), ==, 0);
  memcpy(pkt->data, d, n);
  g_assert_cmpint(avcodec_send_packet(cc, pkt), ==, 0);
  avcodec_send_packet(cc, NULL);
  g_assert_cmpint(avcodec_receive_frame(cc, frame), ==, 0);
  g_assert_cmpint(frame->decode_error_flags, ==, 0);
  *width = frame->width;
  *height = frame->height;
  av_frame_free(&frame);
  av_packet_free(&pkt);
  avcodec_free_context(&cc);
}

static void
check_jpeg_file(const char *path, int width, int height)
{
  char *data = NULL;
  gsize n = 0;
  GError *error = NULL;
  g_file_get_contents(path, &data, &n, &error);
  g_assert_no_error(error);
  int w = 0, h = 0;
  check_jpeg((const guint8 *)data, n, &w, &h);
  g_assert_cmpint(w, ==, width);
  g_assert_cmpint(h, ==, height);
  g_free(data);
}

static void
expect_jpeg(const cw_test_clip_t *clip, guint max_width, int width, int height)
{
  cw_access_unit_t *au = cw_test_clip_unit(clip, 0, CAM);
  GBytes *jpeg = NULL;
  cw_error_t err = {0};
  g_assert_cmpint(cw_snapshot_jpeg(au, max_width, 80, &jpeg, &err), ==, 0);
  g_assert_cmpstr(err.msg, ==, "");
  gsize n;
  const guint8 *d = g_bytes_get_data(jpeg, &n);
  int w = 0, h = 0;
  check_jpeg(d, n, &w, &h);
  g_test_message("%s max_width %u: %dx%d, %zu bytes", cw_codec_name(clip->codec), max_width, w, h,
                 n);
  g_assert_cmpint(w, ==, width);
  g_assert_cmpint(h, ==, height);
  g_bytes_unref(jpeg);
  cw_access_unit_unref(au);
}

static void
test_jpeg(gconstpointer data)
{
  cw_codec_t codec = GPOINTER_TO_INT(data);
  cw_test_clip_t *hd = clip_new(codec, "1280x720");
  cw_test_clip_t *small = clip_new(codec, "320x240");
  expect_jpeg(hd, 640, 640, 360);
  expect_jpeg(hd, 0, 1280, 720);
  expect_jpeg(hd, 1281, 1280, 720);
  expect_jpeg(hd, 333, 332, 186); /* even sides, aspect to the nearest even height */
  expect_jpeg(small, 640, 320, 240);

  /* Quality moves the size the right way. */
  cw_access_unit_t *au = cw_test_clip_unit(hd, 0, CAM);
  GBytes *lo = NULL, *hi = NULL;
  g_assert_cmpint(cw_snapshot_jpeg(au, 640, 10, &lo, NULL), ==, 0);
  g_assert_cmpint(cw_snapshot_jpeg(au, 640, 100, &hi, NULL), ==, 0);
  g_test_message("quality 10: %zu bytes, 100: %zu bytes", g_bytes_get_size(lo),
                 g_bytes_get_size(hi));
  g_assert_cmpuint(g_bytes_get_size(lo), <, g_bytes_get_size(hi));
  g_bytes_unref(lo);
  g_bytes_unref(hi);

  /* What one 1280x720 snapshot costs (decode, scale, encode). */
  gint64 t0 = g_get_monotonic_time();
  for (int i = 0; i < 10; i++) {
    GBytes *jpeg = NULL;
    g_assert_cmpint(cw_snapshot_jpeg(au, 640, 80, &jpeg, NULL), ==, 0);
    g_bytes_unref(jpeg);
  }
  g_test_message("%s 1280x720 -> 640x360: %.1f ms a snapshot", cw_codec_name(codec),
                 (double)(g_get_monotonic_time() - t0) / 10 / 1000);
  cw_access_unit_unref(au);
  cw_test_clip_free(small);
  cw_test_clip_free(hd);
}

static void
expect_invalid(cw_access_unit_t *au, const char *what)
{
  GBytes *jpeg = NULL;
  cw_error_t err = {0};
  g_assert_cmpint(cw_snapshot_jpeg(au, 640, 80, &jpeg, &err), ==, -EINVAL);
  g_assert_cmpint(err.code, ==, -EINVAL);
  g_test_message("%s: %s", what, err.msg);
  g_assert_true(g_str_has_prefix(err.msg, "snapshot: "));
  g_assert_null(jpeg);
  cw_access_unit_unref(au);
}

static void
test_invalid(void)
{
  cw_test_clip_t *clip = clip_new(CW_CODEC_H264, "320x240");
  const cw_test_unit_t *key = &g_array_index(clip->units, cw_test_unit_t, 0);

  guint8 garbage[4096];
  for (guint i = 0; i < sizeof garbage; i++)
    garbage[i] = (guint8)(g_random_int() | 1); /* no start code by chance */
  cw_access_unit_t *au = cw_access_unit_new(CW_CODEC_H264, garbage, sizeof garbage);
  au->keyframe = TRUE;
  expect_invalid(au, "garbage");
  /* Garbage behind a start code, as a NAL unit of a keyframe. */
  garbage[0] = garbage[1] = garbage[2] = 0;
  garbage[3] = 1;
  garbage[4] = 0x65; /* IDR slice */
  au = cw_access_unit_new(CW_CODEC_H264, garbage, sizeof garbage);
  au->keyframe = TRUE;
  expect_invalid(au, "garbage IDR");
  au = cw_access_unit_new(CW_CODEC_H265, garbage, sizeof garbage);
  au->keyframe = TRUE;
  expect_invalid(au, "garbage as H.265");

  /* A P picture, said to be one, and said to be a keyframe. */
  expect_invalid(cw_test_clip_unit(clip, 5, CAM), "non-keyframe");
  au = cw_test_clip_unit(clip, 5, CAM);
  au->keyframe = TRUE;
  expect_invalid(au, "P picture flagged as a keyframe");

  /* The keyframe cut short, and with its parameter sets only. */
  au = cw_access_unit_new(CW_CODEC_H264, key->data, key->len / 2);
  au->keyframe = TRUE;
  expect_invalid(au, "truncated keyframe");
  GByteArray *ps = g_byte_array_new();
  for (size_t i = 0; i + 4 < key->len; i++)
    if (!memcmp(key->data + i, "\0\0\0\1", 4) && (key->data[i + 4] & 0x1f) == 5) {
      g_byte_array_append(ps, key->data, (guint)i);
      break;
    }
  g_assert_cmpuint(ps->len, >, 0);
  au = cw_access_unit_new(CW_CODEC_H264, ps->data, ps->len);
  au->keyframe = TRUE;
  expect_invalid(au, "parameter sets only");
  g_byte_array_unref(ps);

  /* A good keyframe that lost a packet, or with the wrong codec. */
  au = cw_test_clip_unit(clip, 0, CAM);
  au->damaged = TRUE;
  expect_invalid(au, "damaged");
  au = cw_test_clip_unit(clip, 0, CAM);
  au->codec = CW_CODEC_NONE;
  expect_invalid(au, "no codec");
  au = cw_access_unit_new(CW_CODEC_H264, key->data, 0);
  au->keyframe = TRUE;
  expect_invalid(au, "empty");
  cw_test_clip_free(clip);
}

static void
test_relpath(void)
{
  gint64 t = cw_test_time("2024-05-01T23:59:59.123456Z");
  char *p = cw_snapshot_relpath(CAM, t, "0b6f2a8e-2c1d-4f7a-9a55-1c2d3e4f5a6b");
  g_assert_cmpstr(p, ==,
                  "7/2024-05-01/7-20240501T235959.123Z-0b6f2a8e-2c1d-4f7a-9a55-1c2d3e4f5a6b.jpg");
  g_free(p);
  /* Local time is never used, and a tag cannot leave the folder. */
  p = cw_snapshot_relpath(12, cw_test_time("2024-05-02T01:00:00.000+02:00"), "../a/b");
  g_assert_cmpstr(p, ==, "12/2024-05-01/12-20240501T230000.000Z-___a_b.jpg");
  g_free(p);
  p = cw_snapshot_relpath(12, cw_test_time("1969-12-31T23:59:59.999Z"), NULL);
  g_assert_cmpstr(p, ==, "12/1969-12-31/12-19691231T235959.999Z.jpg");
  g_free(p);
}

/* ---- a snapshotter and what it reports --------------------------------- */

typedef struct {
  gint64 camera_id;
  char *relpath, *error;
} done_t;

typedef struct {
  GMutex mu;
  GCond cond;
  GPtrArray *done; /* done_t */
  char *root;
  cw_snapshotter_t *s;
} rig_t;

static void
done_free(gpointer data)
{
  done_t *d = data;
  g_free(d->relpath);
  g_free(d->error);
  g_free(d);
}

static void
on_done(void *opaque, gint64 camera_id, const char *relpath, const char *error)
{
  rig_t *g = opaque;
  done_t *d = g_new0(done_t, 1);
  d->camera_id = camera_id;
  d->relpath = g_strdup(relpath);
  d->error = g_strdup(error);
  g_mutex_lock(&g->mu);
  g_ptr_array_add(g->done, d);
  g_cond_broadcast(&g->cond);
  g_mutex_unlock(&g->mu);
}

static void
rig_start(rig_t *g, cw_snapshotter_options_t o)
{
  memset(g, 0, sizeof *g);
  g_mutex_init(&g->mu);
  g_cond_init(&g->cond);
  g->done = g_ptr_array_new_with_free_func(done_free);
  g->root = g_dir_make_tmp("cwsnap-XXXXXX", NULL);
  char *root = g_build_filename(g->root, "snapshots", NULL); /* made by the snapshotter */
  o.root = root;
  o.done = on_done;
  o.done_opaque = g;
  cw_error_t err = {0};
  g->s = cw_snapshotter_new(&o, &err);
  g_assert_cmpstr(err.msg, ==, "");
  g_assert_nonnull(g->s);
  g_assert_true(g_file_test(root, G_FILE_TEST_IS_DIR));
  g_free(g->root);
  g->root = root;
}

static void
rig_stop(rig_t *g)
{
  cw_snapshotter_free(g->s);
  g->s = NULL;
}

static void
rig_clear(rig_t *g)
{
  if (g->s)
    rig_stop(g);
  g_ptr_array_free(g->done, TRUE);
  char *parent = g_path_get_dirname(g->root);
  if (g_getenv("CW_TEST_KEEP"))
    g_test_message("snapshots kept in %s", g->root);
  else
    rm_rf(parent);
  g_free(parent);
  g_free(g->root);
  g_mutex_clear(&g->mu);
  g_cond_clear(&g->cond);
}

/* Waits until n requests have ended; fails after WAIT_S. */
static void
wait_done(rig_t *g, guint n)
{
  gint64 until = g_get_monotonic_time() + WAIT_S * G_USEC_PER_SEC;
  g_mutex_lock(&g->mu);
  while (g->done->len < n)
    if (!g_cond_wait_until(&g->cond, &g->mu, until))
      break;
  guint got = g->done->len;
  g_mutex_unlock(&g->mu);
  g_assert_cmpuint(got, ==, n);
}

static guint
n_done(rig_t *g)
{
  g_mutex_lock(&g->mu);
  guint n = g->done->len;
  g_mutex_unlock(&g->mu);
  return n;
}

static void
push(rig_t *g, const cw_test_clip_t *clip, guint i, gint64 camera_id, gboolean damaged)
{
  cw_access_unit_t *au = cw_test_clip_unit(clip, i, camera_id);
  au->damaged = damaged;
  cw_snapshotter_push(g->s, au);
  cw_access_unit_unref(au);
}

static char *
file_in(rig_t *g, const char *relpath)
{
  return g_build_filename(g->root, relpath, NULL);
}

static int
by_name(gconstpointer a, gconstpointer b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in a folder, sorted, joined by spaces. */
static char *
listing(const char *dir)
{
  GDir *d = g_dir_open(dir, 0, NULL);
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  const char *name;
  while (d && (name = g_dir_read_name(d)))
    g_ptr_array_add(names, g_strdup(name));
  if (d)
    g_dir_close(d);
  g_ptr_array_sort(names, by_name);
  g_ptr_array_add(names, NULL);
  char *out = g_strjoinv(" ", (char **)names->pdata);
  g_ptr_array_free(names, TRUE);
  return out;
}

static void
test_served(void)
{
  cw_test_clip_t *clip = clip_new(CW_CODEC_H264, "1280x720");
  rig_t g;
  rig_start(&g, (cw_snapshotter_options_t){.max_width = 640});
  const char *a = "7/2024-05-01/a.jpg", *b = "7/2024-05-01/b.jpg", *other = "9/2024-05-01/c.jpg";
  g_assert_true(cw_snapshotter_request(g.s, CAM, a));
  g_assert_true(cw_snapshotter_request(g.s, CAM, b));
  g_assert_true(cw_snapshotter_request(g.s, OTHER_CAM, other));

  /* Pictures that are no keyframe, a damaged keyframe, and a keyframe of a
   * camera nobody asked about: nothing happens. */
  for (guint i = 1; i < FPS; i++)
    push(&g, clip, i, CAM, FALSE);
  push(&g, clip, 0, CAM, TRUE);
  push(&g, clip, 0, 3, FALSE);
  g_usleep(300 * 1000);
  g_assert_cmpuint(n_done(&g), ==, 0);
  char *cam_dir = file_in(&g, "7");
  g_assert_false(g_file_test(cam_dir, G_FILE_TEST_EXISTS));
  g_free(cam_dir);

  /* One good keyframe serves both requests of the camera, not the other. */
  push(&g, clip, 0, CAM, FALSE);
  wait_done(&g, 2);
  for (guint i = 0; i < 2; i++) {
    done_t *d = g.done->pdata[i];
    g_assert_cmpint(d->camera_id, ==, CAM);
    g_assert_null(d->error);
  }
  g_assert_cmpstr(((done_t *)g.done->pdata[0])->relpath, ==, a);
  g_assert_cmpstr(((done_t *)g.done->pdata[1])->relpath, ==, b);
  char *pa = file_in(&g, a), *pb = file_in(&g, b), *po = file_in(&g, other);
  check_jpeg_file(pa, 640, 360);
  check_jpeg_file(pb, 640, 360);
  /* One decode and one encode: the same bytes in both. */
  char *da, *db;
  gsize na, nb;
  g_assert_true(g_file_get_contents(pa, &da, &na, NULL));
  g_assert_true(g_file_get_contents(pb, &db, &nb, NULL));
  g_assert_cmpmem(da, na, db, nb);
  g_free(da);
  g_free(db);
  char *dir = g_path_get_dirname(pa);
  char *names = listing(dir);
  g_assert_cmpstr(names, ==, "a.jpg b.jpg"); /* no temporary file left */
  g_free(names);
  g_free(dir);
  g_assert_false(g_file_test(po, G_FILE_TEST_EXISTS));

  /* A keyframe after that serves nobody (the requests are gone). */
  push(&g, clip, 0, CAM, FALSE);
  g_usleep(200 * 1000);
  g_assert_cmpuint(n_done(&g), ==, 2);
  cw_snapshotter_stats_t st;
  cw_snapshotter_stats(g.s, &st);
  g_assert_cmpuint(st.requested, ==, 3);
  g_assert_cmpuint(st.written, ==, 2);
  g_assert_cmpuint(st.failed + st.expired + st.refused, ==, 0);

  /* The other camera's request is still there: served by its keyframe. */
  push(&g, clip, 0, OTHER_CAM, FALSE);
  wait_done(&g, 3);
  g_assert_cmpint(((done_t *)g.done->pdata[2])->camera_id, ==, OTHER_CAM);
  g_assert_null(((done_t *)g.done->pdata[2])->error);
  check_jpeg_file(po, 640, 360);
  rig_stop(&g);
  g_assert_cmpuint(g.done->len, ==, 3);
  g_free(pa);
  g_free(pb);
  g_free(po);
  rig_clear(&g);
  cw_test_clip_free(clip);
}

static void
test_expiry(void)
{
  cw_test_clip_t *clip = clip_new(CW_CODEC_H265, "320x240");
  rig_t g;
  rig_start(&g, (cw_snapshotter_options_t){.wait_ms = 200});
  gint64 t0 = g_get_monotonic_time();
  g_assert_true(cw_snapshotter_request(g.s, CAM, "7/late.jpg"));
  for (guint i = 1; i < FPS; i++)
    push(&g, clip, i, CAM, FALSE);
  wait_done(&g, 1);
  gint64 took = g_get_monotonic_time() - t0;
  g_test_message("expired after %" G_GINT64_FORMAT " ms", took / 1000);
  g_assert_cmpint(took, >=, 200 * 1000);
  g_assert_cmpint(took, <, 2 * G_USEC_PER_SEC);
  done_t *d = g.done->pdata[0];
  g_assert_cmpstr(d->relpath, ==, "7/late.jpg");
  g_assert_cmpstr(d->error, ==, "no keyframe within 0.2 s");
  cw_snapshotter_stats_t st;
  cw_snapshotter_stats(g.s, &st);
  g_assert_cmpuint(st.requested, ==, 1);
  g_assert_cmpuint(st.expired, ==, 1);
  g_assert_cmpuint(st.written + st.failed + st.refused, ==, 0);

  /* A keyframe after the end writes nothing. */
  push(&g, clip, 0, CAM, FALSE);
  g_usleep(200 * 1000);
  g_assert_cmpuint(n_done(&g), ==, 1);
  char *path = file_in(&g, "7/late.jpg");
  g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
  g_free(path);
  rig_clear(&g);
  cw_test_clip_free(clip);
}

static void
test_refused(void)
{
  rig_t g;
  rig_start(&g, (cw_snapshotter_options_t){.max_pending = 2});
  g_assert_true(cw_snapshotter_request(g.s, CAM, "7/a.jpg"));
  g_assert_true(cw_snapshotter_request(g.s, OTHER_CAM, "9/b.jpg"));
  g_assert_false(cw_snapshotter_request(g.s, CAM, "7/c.jpg"));
  cw_snapshotter_stats_t st;
  cw_snapshotter_stats(g.s, &st);
  g_assert_cmpuint(st.requested, ==, 2);
  g_assert_cmpuint(st.refused, ==, 1);

  rig_stop(&g);
  g_assert_cmpuint(g.done->len, ==, 2); /* ended by the free */
  rig_clear(&g);

  rig_start(&g, (cw_snapshotter_options_t){0});
  static const char *const unsafe[] = {
      "../x.jpg", "/abs.jpg", "a//b.jpg",  "",   "a/../b.jpg", "a/..",
      "..",       "./a.jpg",  "a/./b.jpg", "a/", "a..b/c.jpg",
  };
  for (guint i = 0; i < G_N_ELEMENTS(unsafe); i++) {
    g_test_message("refused: \"%s\"", unsafe[i]);
    g_assert_false(cw_snapshotter_request(g.s, CAM, unsafe[i]));
  }
  g_assert_false(cw_snapshotter_request(g.s, CAM, NULL));
  cw_snapshotter_stats(g.s, &st);
  g_assert_cmpuint(st.refused, ==, G_N_ELEMENTS(unsafe) + 1);
  g_assert_cmpuint(st.requested, ==, 0);
  /* What cw_snapshot_relpath makes is always taken. */
  char *rel = cw_snapshot_relpath(CAM, cw_test_time("2024-05-01T12:00:00.5Z"), "e1");
  g_assert_true(cw_snapshotter_request(g.s, CAM, rel));
  g_free(rel);
  rig_stop(&g);
  g_assert_cmpuint(g.done->len, ==, 1);
  rig_clear(&g);
}

static void
touch(const char *root, const char *relpath)
{
  char *path = g_build_filename(root, relpath, NULL);
  char *dir = g_path_get_dirname(path);
  g_assert_cmpint(g_mkdir_with_parents(dir, 0750), ==, 0);
  g_assert_true(g_file_set_contents(path, "x", 1, NULL));
  g_free(dir);
  g_free(path);
}

static gboolean
exists(const char *root, const char *relpath)
{
  char *path = g_build_filename(root, relpath, NULL);
  gboolean yes = g_file_test(path, G_FILE_TEST_EXISTS);
  g_free(path);
  return yes;
}

static void
test_prune(void)
{
  char *root = g_dir_make_tmp("cwsnap-prune-XXXXXX", NULL);
  static const char *const files[] = {
      "7/2024-04-30/a.jpg",
      "7/2024-04-30/b.jpg",
      "7/2024-05-01/c.jpg",
      "7/2024-05-01/c.jpg.part",
      "7/2024-05-02/d.jpg",
      "9/2024-04-30/e.jpg",
      /* Not the layout: kept whatever their age. */
      "7/notes.txt",
      "7/2024-4-30/f.jpg",
      "7/old/2024-04-30/g.jpg",
      "abc/2024-04-30/h.jpg",
      "07/2024-04-30/i.jpg",
      "7/2024-02-30/j.jpg",
      "README",
      "2024-04-30/k.jpg",
  };
  for (guint i = 0; i < G_N_ELEMENTS(files); i++)
    touch(root, files[i]);
  cw_error_t err = {0};
  /* Up to the end of 2024-05-01 exactly: that day goes too, the 2nd stays. */
  g_assert_cmpint(cw_snapshot_prune(root, cw_test_time("2024-05-02T00:00:00Z"), &err), ==, 5);
  g_assert_cmpstr(err.msg, ==, "");
  for (guint i = 0; i < G_N_ELEMENTS(files); i++) {
    gboolean gone = i < 4 || i == 5;
    g_test_message("%s %s", files[i], gone ? "removed" : "kept");
    g_assert_cmpint(exists(root, files[i]), ==, !gone);
  }
  g_assert_false(exists(root, "7/2024-04-30"));
  g_assert_false(exists(root, "7/2024-05-01"));
  g_assert_true(exists(root, "7"));
  /* A microsecond short of a day's end keeps that day. */
  g_assert_cmpint(cw_snapshot_prune(root, cw_test_time("2024-05-02T23:59:59.999999Z"), &err), ==,
                  0);
  g_assert_true(exists(root, "7/2024-05-02/d.jpg"));
  g_assert_cmpint(cw_snapshot_prune(root, cw_test_time("2024-05-03T00:00:00Z"), &err), ==, 1);
  g_assert_false(exists(root, "7/2024-05-02"));

  /* No root yet: nothing to prune. A root that is a file: an error. */
  char *missing = g_build_filename(root, "none", NULL);
  g_assert_cmpint(cw_snapshot_prune(missing, G_MAXINT64, &err), ==, 0);
  char *file = g_build_filename(root, "README", NULL);
  g_assert_cmpint(cw_snapshot_prune(file, G_MAXINT64, &err), ==, -ENOTDIR);
  g_test_message("%s", err.msg);
  g_assert_nonnull(strstr(err.msg, "README"));
  g_free(file);
  g_free(missing);
  rm_rf(root);
  g_free(root);
}

static void
test_free_pending(void)
{
  cw_test_clip_t *clip = clip_new(CW_CODEC_H264, "320x240");
  rig_t g;
  rig_start(&g, (cw_snapshotter_options_t){0});
  g_assert_true(cw_snapshotter_request(g.s, CAM, "7/a.jpg"));
  g_assert_true(cw_snapshotter_request(g.s, CAM, "7/b.jpg"));
  g_assert_true(cw_snapshotter_request(g.s, OTHER_CAM, "9/c.jpg"));
  for (guint i = 1; i < FPS; i++)
    push(&g, clip, i, CAM, FALSE);
  rig_stop(&g);
  g_assert_cmpuint(g.done->len, ==, 3);
  for (guint i = 0; i < 3; i++) {
    done_t *d = g.done->pdata[i];
    g_test_message("%s: %s", d->relpath, d->error);
    g_assert_nonnull(d->error);
    char *path = file_in(&g, d->relpath);
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
    g_free(path);
  }
  rig_clear(&g);
  cw_test_clip_free(clip);
}

/* More cameras than the keyframe queue holds, all at once: keyframes are
 * dropped, their requests wait for the next one, and none is lost. */
static void
test_many_cameras(void)
{
  enum { N = 48 };
  cw_test_clip_t *clip = clip_new(CW_CODEC_H264, "320x240");
  rig_t g;
  rig_start(&g, (cw_snapshotter_options_t){.wait_ms = 60000});
  for (gint64 c = 1; c <= N; c++) {
    char *rel = cw_snapshot_relpath(c, cw_test_time("2024-05-01T12:00:00Z"), "e");
    g_assert_true(cw_snapshotter_request(g.s, c, rel));
    g_free(rel);
  }
  gint64 until = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
  guint rounds = 0;
  while (n_done(&g) < N && g_get_monotonic_time() < until) {
    for (gint64 c = 1; c <= N; c++)
      push(&g, clip, 0, c, FALSE);
    rounds++;
    g_usleep(100 * 1000);
  }
  wait_done(&g, N);
  g_test_message("%d cameras served in %u rounds of keyframes", N, rounds);
  for (guint i = 0; i < N; i++) {
    done_t *d = g.done->pdata[i];
    g_assert_null(d->error);
    char *path = file_in(&g, d->relpath);
    check_jpeg_file(path, 320, 240);
    g_free(path);
  }
  cw_snapshotter_stats_t st;
  cw_snapshotter_stats(g.s, &st);
  g_assert_cmpuint(st.written, ==, N);
  rig_clear(&g);
  cw_test_clip_free(clip);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  work_dir = g_dir_make_tmp("cwsnap-clips-XXXXXX", NULL);
  g_assert_nonnull(work_dir);
  g_test_add_data_func("/snapshot/jpeg_h264", GINT_TO_POINTER(CW_CODEC_H264), test_jpeg);
  g_test_add_data_func("/snapshot/jpeg_h265", GINT_TO_POINTER(CW_CODEC_H265), test_jpeg);
  g_test_add_func("/snapshot/invalid", test_invalid);
  g_test_add_func("/snapshot/relpath", test_relpath);
  g_test_add_func("/snapshot/served", test_served);
  g_test_add_func("/snapshot/expiry", test_expiry);
  g_test_add_func("/snapshot/refused", test_refused);
  g_test_add_func("/snapshot/prune", test_prune);
  g_test_add_func("/snapshot/free_pending", test_free_pending);
  g_test_add_func("/snapshot/many_cameras", test_many_cameras);
  int rc = g_test_run();
  rm_rf(work_dir);
  g_free(work_dir);
  return rc;
}
