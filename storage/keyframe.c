/* Parameter sets and picture size of a keyframe (see keyframe.h). */
#include "keyframe.h"

#include <string.h>

#include <libavcodec/avcodec.h>

/* The NAL unit starting at or after *pos: sets *nal and *len (start code and
 * trailing zero bytes excluded) and moves *pos past it. FALSE at the end. */
static gboolean
next_nal(const guint8 *d, size_t n, size_t *pos, const guint8 **nal, size_t *len)
{
  size_t i = *pos;
  while (i + 3 <= n && !(d[i] == 0 && d[i + 1] == 0 && d[i + 2] == 1))
    i++;
  if (i + 3 > n)
    return FALSE;
  size_t start = i + 3, j = start;
  while (j + 3 <= n && !(d[j] == 0 && d[j + 1] == 0 && d[j + 2] == 1))
    j++;
  size_t end = j + 3 <= n ? j : n;
  while (end > start && d[end - 1] == 0)
    end--;
  *nal = d + start;
  *len = end - start;
  *pos = end;
  return TRUE;
}

/* The parameter sets in front of the keyframe's first slice into out, each
 * behind a 4-byte start code (the form movenc turns into avcC/hvcC). */
void
cw_keyframe_parameter_sets(const cw_access_unit_t *au, GByteArray *out)
{
  static const guint8 sc[4] = {0, 0, 0, 1};
  size_t pos = 0, len;
  const guint8 *nal;
  g_byte_array_set_size(out, 0);
  while (next_nal(au->data, au->size, &pos, &nal, &len)) {
    if (len < 2)
      continue;
    int t = au->codec == CW_CODEC_H265 ? (nal[0] >> 1) & 0x3f : nal[0] & 0x1f;
    gboolean vcl = au->codec == CW_CODEC_H265 ? t < 32 : (t >= 1 && t <= 5);
    gboolean ps = au->codec == CW_CODEC_H265 ? (t >= 32 && t <= 34) : (t == 7 || t == 8);
    if (vcl)
      break;
    if (ps) {
      g_byte_array_append(out, sc, sizeof sc);
      g_byte_array_append(out, nal, (guint)len);
    }
  }
}

gboolean
cw_keyframe_has_sps(const GByteArray *ps, cw_codec_t codec)
{
  for (guint i = 0; i + 4 < ps->len; i++) {
    if (ps->data[i] == 0 && ps->data[i + 1] == 0 && ps->data[i + 2] == 0 && ps->data[i + 3] == 1) {
      guint8 h = ps->data[i + 4];
      if (codec == CW_CODEC_H265 ? ((h >> 1) & 0x3f) == 33 : (h & 0x1f) == 7)
        return TRUE;
    }
  }
  return FALSE;
}

/* Picture size from the keyframe's SPS and first slice, through libavcodec's
 * parser (no decoding). 0 x 0 when it cannot tell. */
void
cw_keyframe_picture_size(const cw_access_unit_t *au, int *width, int *height)
{
  enum AVCodecID id = au->codec == CW_CODEC_H265 ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264;
  AVCodecParserContext *pc = av_parser_init(id);
  AVCodecContext *cc = avcodec_alloc_context3(NULL);
  guint8 *buf = av_malloc(au->size + AV_INPUT_BUFFER_PADDING_SIZE);
  *width = *height = 0;
  if (pc && cc && buf) {
    /* Parsers may read past the end: the copy carries the padding they expect. */
    memcpy(buf, au->data, au->size);
    memset(buf + au->size, 0, AV_INPUT_BUFFER_PADDING_SIZE);
    pc->flags |= PARSER_FLAG_COMPLETE_FRAMES;
    uint8_t *out = NULL;
    int out_size = 0;
    av_parser_parse2(pc, cc, &out, &out_size, buf, (int)au->size, AV_NOPTS_VALUE, AV_NOPTS_VALUE,
                     0);
    *width = pc->width > 0 ? pc->width : cc->width;
    *height = pc->height > 0 ? pc->height : cc->height;
  }
  av_free(buf);
  avcodec_free_context(&cc);
  if (pc)
    av_parser_close(pc);
}
