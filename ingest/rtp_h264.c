/* H.264 over RTP (RFC 6184, non-interleaved mode): single NAL unit packets,
 * STAP-A and FU-A; and the few SPS fields that give the picture size
 * (ITU-T H.264 7.3.2.1.1). The access-unit assembly is in rtp.c. */
#include <errno.h>

#include "rtp_depay_priv.h"

enum {
  NAL_IDR = 5,
  NAL_SPS = 7,
  NAL_PPS = 8,
  NAL_AUD = 9,
  NAL_STAP_A = 24,
  NAL_STAP_B = 25,
  NAL_MTAP16 = 26,
  NAL_MTAP24 = 27,
  NAL_FU_A = 28,
  NAL_FU_B = 29,
};

cw_nal_kind_t
cw_depay_h264_nal_kind(const guint8 *nal, size_t len)
{
  if (len < 1)
    return CW_NAL_OTHER;
  switch (nal[0] & 0x1f) {
  case NAL_IDR:
    return CW_NAL_KEY;
  case NAL_SPS:
    return CW_NAL_SPS;
  case NAL_PPS:
    return CW_NAL_PPS;
  case NAL_AUD:
    return CW_NAL_AUD;
  default:
    return CW_NAL_OTHER;
  }
}

/* FU-A: FU indicator (F, NRI), FU header (S, E, type), fragment. */
static void
fu_a(cw_depay_t *d, const guint8 *p, size_t n)
{
  if (n < 3) {
    cw_depay_damage(d);
    return;
  }
  /* The NAL header is rebuilt from the indicator's F and NRI and the type. */
  guint8 header = (guint8)((p[0] & 0xe0) | (p[1] & 0x1f));
  cw_depay_fragment(d, p[1], &header, 1, p + 2, n - 2);
}

void
cw_depay_h264_payload(cw_depay_t *d, const guint8 *p, size_t n)
{
  if (n < 1) {
    cw_depay_damage(d);
    return;
  }
  guint type = p[0] & 0x1f;
  if (type != NAL_FU_A)
    cw_depay_nal_cut(d); /* an FU interrupted by another packet of the picture */
  switch (type) {
  case 0:
  case 30:
  case 31:
    break; /* undefined: ignored (RFC 6184 5.2) */
  case NAL_STAP_A:
    /* STAP-A: a one-byte header, then size-prefixed NAL units. */
    cw_depay_aggregate(d, p, n, 1, 1);
    break;
  case NAL_FU_A:
    fu_a(d, p, n);
    break;
  case NAL_STAP_B:
  case NAL_MTAP16:
  case NAL_MTAP24:
  case NAL_FU_B:
    cw_depay_unsupported(d); /* interleaved mode only */
    break;
  default:
    cw_depay_nal_whole(d, p, n);
    break;
  }
}

/* ---- SPS ------------------------------------------------------------------ */

static void
skip_scaling_list(cw_bits_t *b, int size)
{
  int last = 8, next = 8;
  for (int j = 0; j < size && !b->overrun; j++) {
    if (next != 0) {
      gint32 delta = cw_bits_se(b);
      next = (last + delta + 256) % 256;
    }
    last = next == 0 ? last : next;
  }
}

int
cw_h264_sps_resolution(const guint8 *nal, size_t len, int *width, int *height)
{
  if (len < 4 || (nal[0] & 0x1f) != NAL_SPS)
    return -EINVAL;
  int rc = -EINVAL;
  cw_bits_t b;
  cw_bits_init(&b, nal, len, 1);
  guint profile = cw_bits_u(&b, 8);
  cw_bits_skip(&b, 16);    /* constraint flags, level_idc */
  if (cw_bits_ue(&b) > 31) /* seq_parameter_set_id */
    goto out;
  guint chroma_format_idc = 1, separate_colour_plane = 0;
  switch (profile) {
  case 100:
  case 110:
  case 122:
  case 244:
  case 44:
  case 83:
  case 86:
  case 118:
  case 128:
  case 138:
  case 139:
  case 134:
  case 135:
    chroma_format_idc = cw_bits_ue(&b);
    if (chroma_format_idc > 3)
      goto out;
    if (chroma_format_idc == 3)
      separate_colour_plane = cw_bits_u(&b, 1);
    cw_bits_ue(&b); /* bit_depth_luma_minus8 */
    cw_bits_ue(&b); /* bit_depth_chroma_minus8 */
    cw_bits_skip(&b, 1);
    if (cw_bits_u(&b, 1)) { /* seq_scaling_matrix_present_flag */
      int lists = chroma_format_idc != 3 ? 8 : 12;
      for (int i = 0; i < lists && !b.overrun; i++)
        if (cw_bits_u(&b, 1))
          skip_scaling_list(&b, i < 6 ? 16 : 64);
    }
    break;
  default:
    break;
  }
  cw_bits_ue(&b); /* log2_max_frame_num_minus4 */
  guint poc_type = cw_bits_ue(&b);
  if (poc_type == 0) {
    cw_bits_ue(&b);
  } else if (poc_type == 1) {
    cw_bits_skip(&b, 1);
    cw_bits_se(&b);
    cw_bits_se(&b);
    guint cycle = cw_bits_ue(&b);
    if (cycle > 255)
      goto out;
    for (guint i = 0; i < cycle && !b.overrun; i++)
      cw_bits_se(&b);
  } else if (poc_type != 2) {
    goto out;
  }
  cw_bits_ue(&b);      /* max_num_ref_frames */
  cw_bits_skip(&b, 1); /* gaps_in_frame_num_value_allowed_flag */
  guint64 mbs_w = (guint64)cw_bits_ue(&b) + 1;
  guint64 map_units_h = (guint64)cw_bits_ue(&b) + 1;
  guint frame_mbs_only = cw_bits_u(&b, 1);
  if (!frame_mbs_only)
    cw_bits_skip(&b, 1); /* mb_adaptive_frame_field_flag */
  cw_bits_skip(&b, 1);   /* direct_8x8_inference_flag */
  guint64 crop_l = 0, crop_r = 0, crop_t = 0, crop_b = 0;
  if (cw_bits_u(&b, 1)) {
    crop_l = cw_bits_ue(&b);
    crop_r = cw_bits_ue(&b);
    crop_t = cw_bits_ue(&b);
    crop_b = cw_bits_ue(&b);
  }
  if (b.overrun)
    goto out;
  guint chroma_array_type = separate_colour_plane ? 0 : chroma_format_idc;
  guint64 sub_w = chroma_array_type == 1 || chroma_array_type == 2 ? 2 : 1;
  guint64 sub_h = chroma_array_type == 1 ? 2 : 1;
  guint64 crop_x = sub_w, crop_y = sub_h * (2 - frame_mbs_only);
  if (chroma_array_type == 0) {
    crop_x = 1;
    crop_y = 2 - frame_mbs_only;
  }
  guint64 w = mbs_w * 16, h = (2 - frame_mbs_only) * map_units_h * 16;
  guint64 cw = crop_x * (crop_l + crop_r), ch = crop_y * (crop_t + crop_b);
  if (w > 16384 || h > 16384 || cw >= w || ch >= h)
    goto out;
  *width = (int)(w - cw);
  *height = (int)(h - ch);
  rc = 0;
out:
  cw_bits_clear(&b);
  return rc;
}
