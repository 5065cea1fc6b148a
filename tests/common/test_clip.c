#include "test_clip.h"

#include "camsim.h"

static void
run_ffmpeg(const char *const *argv)
{
  GError *error = NULL;
  char *err_text = NULL;
  int status = 0;
  if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                    NULL, NULL, NULL, &err_text, &status, &error) ||
      !g_spawn_check_wait_status(status, NULL))
    g_error("ffmpeg could not make a test clip: %s", error ? error->message : err_text);
  g_free(err_text);
}

cw_test_clip_t *
cw_test_clip_new(const char *dir, cw_codec_t codec, const char *size, int fps, int gop,
                 double seconds)
{
  gboolean h265 = codec == CW_CODEC_H265;
  char *path = g_strdup_printf("%s/clip-%s-%s-%d-%d.%s", dir, h265 ? "h265" : "h264", size, fps,
                               gop, h265 ? "hevc" : "h264");
  char *src = g_strdup_printf("testsrc2=size=%s:rate=%d", size, fps);
  char *g = g_strdup_printf("%d", gop);
  char *t = g_strdup_printf("%.3f", seconds);
  char *x265 = g_strdup_printf(
      "bframes=0:keyint=%d:min-keyint=%d:scenecut=0:repeat-headers=1:log-level=error", gop, gop);
  const char *h264_argv[] = {"ffmpeg", "-y",   "-v",  "error", "-f",           "lavfi",
                             "-i",     src,    "-t",  t,       "-c:v",         "libx264",
                             "-bf",    "0",    "-g",  g,       "-sc_threshold", "0",
                             "-bsf:v", "h264_mp4toannexb",     "-f",           "h264",
                             path,     NULL};
  const char *h265_argv[] = {"ffmpeg", "-y", "-v",           "error", "-f", "lavfi", "-i",
                             src,      "-t", t,              "-c:v",  "libx265",    "-x265-params",
                             x265,     "-f", "hevc",         path,    NULL};
  run_ffmpeg(h265 ? h265_argv : h264_argv);

  cs_clip_t *cs = NULL;
  GError *error = NULL;
  cs_clip_load(&cs, h265 ? CS_CODEC_H265 : CS_CODEC_H264, path, &error);
  g_assert_no_error(error);
  cw_test_clip_t *clip = g_new0(cw_test_clip_t, 1);
  clip->codec = codec;
  clip->fps = fps;
  clip->units = g_array_new(FALSE, TRUE, sizeof(cw_test_unit_t));
  static const guint8 sc[4] = {0, 0, 0, 1};
  for (guint a = 0; a < cs->aus->len; a++) {
    const cs_au_t *au = &g_array_index(cs->aus, cs_au_t, a);
    GByteArray *b = g_byte_array_new();
    for (guint k = 0; k < au->n_nals; k++) {
      const cs_nal_t *n = &g_array_index(cs->nals, cs_nal_t, au->first_nal + k);
      g_byte_array_append(b, sc, 4);
      g_byte_array_append(b, n->data, (guint)n->len);
    }
    cw_test_unit_t u = {.key = au->key, .len = b->len};
    u.data = g_byte_array_free(b, FALSE);
    g_array_append_val(clip->units, u);
  }
  cs_clip_free(cs);
  g_free(x265);
  g_free(t);
  g_free(g);
  g_free(src);
  g_free(path);
  return clip;
}

cw_access_unit_t *
cw_test_clip_unit(const cw_test_clip_t *clip, guint i, gint64 camera_id)
{
  const cw_test_unit_t *u = &g_array_index(clip->units, cw_test_unit_t, i % clip->units->len);
  cw_access_unit_t *au = cw_access_unit_new(clip->codec, u->data, u->len);
  au->keyframe = u->key;
  au->camera_id = camera_id;
  au->clock_rate = 90000;
  au->pts = (gint64)i * 90000 / clip->fps;
  return au;
}

void
cw_test_clip_free(cw_test_clip_t *clip)
{
  if (!clip)
    return;
  for (guint i = 0; i < clip->units->len; i++)
    g_free(g_array_index(clip->units, cw_test_unit_t, i).data);
  g_array_free(clip->units, TRUE);
  g_free(clip);
}
