/* clip.c: loads an Annex B H.264 or H.265 elementary stream, splits it into
 * NAL units and access units, and derives the SDP fmtp line. */
#include "camsim.h"

#include <string.h>

const char *
cs_codec_rtp_name(cs_codec_t codec)
{
  return codec == CS_CODEC_H265 ? "H265" : "H264";
}

int
cs_codec_parse(const char *s, cs_codec_t *out)
{
  if (g_ascii_strcasecmp(s, "h264") == 0 || g_ascii_strcasecmp(s, "avc") == 0) {
    *out = CS_CODEC_H264;
    return 0;
  }
  if (g_ascii_strcasecmp(s, "h265") == 0 || g_ascii_strcasecmp(s, "hevc") == 0) {
    *out = CS_CODEC_H265;
    return 0;
  }
  return -1;
}

static int
nal_type(cs_codec_t codec, const cs_nal_t *n)
{
  if (codec == CS_CODEC_H265)
    return (n->data[0] >> 1) & 0x3f;
  return n->data[0] & 0x1f;
}

static bool
is_aud(cs_codec_t codec, int t)
{
  return codec == CS_CODEC_H265 ? t == 35 : t == 9;
}

static bool
is_vcl(cs_codec_t codec, int t)
{
  return codec == CS_CODEC_H265 ? t < 32 : (t >= 1 && t <= 5);
}

/* A VCL NAL that begins a new picture (first_mb_in_slice == 0, or
 * first_slice_segment_in_pic_flag). */
static bool
is_first_slice(cs_codec_t codec, const cs_nal_t *n)
{
  if (codec == CS_CODEC_H265)
    return n->len > 2 && (n->data[2] & 0x80);
  return n->len > 1 && (n->data[1] & 0x80);
}

/* Non-VCL NALs that may only come before the first slice of a picture. */
static bool
starts_prefix(cs_codec_t codec, int t)
{
  if (codec == CS_CODEC_H265)
    return (t >= 32 && t <= 35) || t == 39 || (t >= 41 && t <= 44) || (t >= 48 && t <= 55);
  return t == 6 || t == 7 || t == 8 || t == 9 || (t >= 14 && t <= 18);
}

static bool
is_key(cs_codec_t codec, int t)
{
  return codec == CS_CODEC_H265 ? (t >= 16 && t <= 21) : t == 5;
}

/* Splits BUF into NAL units (start codes and trailing zero bytes removed). */
static void
split_nals(const uint8_t *buf, size_t len, GArray *nals)
{
  size_t i = 0, start = SIZE_MAX;
  while (i + 3 <= len) {
    if (buf[i] == 0 && buf[i + 1] == 0 && buf[i + 2] == 1) {
      if (start != SIZE_MAX) {
        size_t end = i;
        while (end > start && buf[end - 1] == 0)
          end--;
        if (end > start)
          g_array_append_val(nals, ((cs_nal_t){buf + start, end - start}));
      }
      i += 3;
      start = i;
      continue;
    }
    i++;
  }
  if (start != SIZE_MAX && start < len) {
    size_t end = len;
    while (end > start && buf[end - 1] == 0)
      end--;
    if (end > start)
      g_array_append_val(nals, ((cs_nal_t){buf + start, end - start}));
  }
}

static char *
b64(const cs_nal_t *n)
{
  return n ? g_base64_encode(n->data, n->len) : g_strdup("");
}

static char *
build_fmtp(cs_codec_t codec, const cs_nal_t *vps, const cs_nal_t *sps, const cs_nal_t *pps)
{
  g_autofree char *s = b64(sps), *p = b64(pps), *v = b64(vps);
  if (codec == CS_CODEC_H265)
    return g_strdup_printf("sprop-vps=%s;sprop-sps=%s;sprop-pps=%s", v, s, p);
  return g_strdup_printf("packetization-mode=1;profile-level-id=%02x%02x%02x;"
                         "sprop-parameter-sets=%s,%s",
                         sps->data[1], sps->data[2], sps->data[3], s, p);
}

int
cs_clip_load(cs_clip_t **out, cs_codec_t codec, const char *path, GError **error)
{
  int rc = -1;
  cs_clip_t *clip = g_new0(cs_clip_t, 1);
  GArray *all = g_array_new(FALSE, FALSE, sizeof(cs_nal_t));
  gchar *contents = NULL;
  gsize len = 0;

  clip->codec = codec;
  clip->path = g_strdup(path);
  clip->nals = g_array_new(FALSE, FALSE, sizeof(cs_nal_t));
  clip->aus = g_array_new(FALSE, FALSE, sizeof(cs_au_t));
  if (!g_file_get_contents(path, &contents, &len, error))
    goto out;
  clip->buf = (uint8_t *)contents;
  split_nals(clip->buf, len, all);

  const cs_nal_t *vps = NULL, *sps = NULL, *pps = NULL;
  cs_au_t au = {0};
  bool au_has_vcl = false;
  for (guint i = 0; i < all->len; i++) {
    const cs_nal_t *n = &g_array_index(all, cs_nal_t, i);
    if (n->len < 3)
      continue;
    int t = nal_type(codec, n);
    bool boundary =
        au_has_vcl && (starts_prefix(codec, t) || (is_vcl(codec, t) && is_first_slice(codec, n)));
    if (boundary) {
      g_array_append_val(clip->aus, au);
      au = (cs_au_t){.first_nal = clip->nals->len};
      au_has_vcl = false;
    }
    if (is_aud(codec, t))
      continue;
    if (au.n_nals == 0)
      au.first_nal = clip->nals->len;
    g_array_append_val(clip->nals, *n);
    au.n_nals++;
    if (is_vcl(codec, t))
      au_has_vcl = true;
    if (is_key(codec, t))
      au.key = true;
    if (codec == CS_CODEC_H265) {
      if (t == 32 && !vps)
        vps = n;
      if (t == 33 && !sps)
        sps = n;
      if (t == 34 && !pps)
        pps = n;
    } else {
      if (t == 7 && !sps)
        sps = n;
      if (t == 8 && !pps)
        pps = n;
    }
  }
  if (au_has_vcl)
    g_array_append_val(clip->aus, au);

  for (guint i = 0; i < clip->aus->len; i++)
    clip->n_keys += g_array_index(clip->aus, cs_au_t, i).key;
  if (clip->aus->len == 0 || !sps || !pps || (codec == CS_CODEC_H265 && !vps)) {
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                "%s: no %s access units with parameter sets found", path, cs_codec_rtp_name(codec));
    goto out;
  }
  if (!g_array_index(clip->aus, cs_au_t, 0).key) {
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                "%s: the first access unit is not a keyframe", path);
    goto out;
  }
  clip->fmtp = build_fmtp(codec, vps, sps, pps);
  *out = clip;
  clip = NULL;
  rc = 0;
out:
  g_array_free(all, TRUE);
  if (clip)
    cs_clip_free(clip);
  return rc;
}

void
cs_clip_free(cs_clip_t *clip)
{
  if (!clip)
    return;
  g_free(clip->path);
  g_free(clip->buf);
  g_array_free(clip->nals, TRUE);
  g_array_free(clip->aus, TRUE);
  g_free(clip->fmtp);
  g_free(clip);
}
