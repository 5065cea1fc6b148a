/* H.265 over RTP (RFC 7798, without DONL, i.e. sprop-max-don-diff 0):
 * single NAL unit packets, aggregation packets (AP) and fragmentation
 * units (FU); PACI packets are refused. And the few SPS fields that give
 * the picture size (ITU-T H.265 7.3.2.2.1). Assembly is in rtp.c. */
#include <errno.h>

#include "rtp_depay_priv.h"

enum {
  NAL_IRAP_FIRST = 16, /* BLA_W_LP .. */
  NAL_IRAP_LAST = 23,  /* .. RSV_IRAP_VCL23 */
  NAL_VPS = 32,
  NAL_SPS = 33,
  NAL_PPS = 34,
  NAL_AUD = 35,
  NAL_AP = 48,
  NAL_FU = 49,
  NAL_PACI = 50,
};

static guint
nal_type(const guint8 *nal)
{
  return (nal[0] >> 1) & 0x3f;
}

cw_nal_kind_t
cw_depay_h265_nal_kind(const guint8 *nal, size_t len)
{
  if (len < 2)
    return CW_NAL_OTHER;
  guint t = nal_type(nal);
  if (t >= NAL_IRAP_FIRST && t <= NAL_IRAP_LAST)
    return CW_NAL_KEY;
  switch (t) {
  case NAL_VPS:
    return CW_NAL_VPS;
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

/* FU: payload header (type 49), FU header (S, E, type), fragment. */
static void
fragment(cw_depay_t *d, const guint8 *p, size_t n)
{
  if (n < 4) {
    cw_depay_damage(d);
    return;
  }
  /* The NAL header: the payload header with the FU's own type put back. */
  guint8 header[2] = {(guint8)((p[0] & 0x81) | ((p[2] & 0x3f) << 1)), p[1]};
  cw_depay_fragment(d, p[2], header, 2, p + 3, n - 3);
}

void
cw_depay_h265_payload(cw_depay_t *d, const guint8 *p, size_t n)
{
  if (n < 2) {
    cw_depay_damage(d);
    return;
  }
  guint type = nal_type(p);
  if (type != NAL_FU)
    cw_depay_nal_cut(d); /* an FU interrupted by another packet of the picture */
  switch (type) {
  case NAL_AP:
    /* AP: a two-byte header, then size-prefixed NAL units. */
    cw_depay_aggregate(d, p, n, 2, 2);
    break;
  case NAL_FU:
    fragment(d, p, n);
    break;
  case NAL_PACI:
    cw_depay_unsupported(d);
    break;
  default:
    if (type > NAL_PACI)
      break; /* unspecified: ignored */
    if (n < 3) {
      cw_depay_damage(d);
      break;
    }
    cw_depay_nal_whole(d, p, n);
    break;
  }
}

/* ---- SPS ------------------------------------------------------------------ */

static void
skip_profile_tier_level(cw_bits_t *b, guint max_sub_layers_minus1)
{
  cw_bits_skip(b, 96); /* general profile (88 bits) and level_idc */
  guint profile_present[8] = {0}, level_present[8] = {0};
  for (guint i = 0; i < max_sub_layers_minus1; i++) {
    profile_present[i] = cw_bits_u(b, 1);
    level_present[i] = cw_bits_u(b, 1);
  }
  if (max_sub_layers_minus1 > 0)
    for (guint i = max_sub_layers_minus1; i < 8; i++)
      cw_bits_skip(b, 2);
  for (guint i = 0; i < max_sub_layers_minus1; i++) {
    if (profile_present[i])
      cw_bits_skip(b, 88);
    if (level_present[i])
      cw_bits_skip(b, 8);
  }
}

int
cw_h265_sps_resolution(const guint8 *nal, size_t len, int *width, int *height)
{
  if (len < 3 || nal_type(nal) != NAL_SPS)
    return -EINVAL;
  int rc = -EINVAL;
  cw_bits_t b;
  cw_bits_init(&b, nal, len, 2);
  cw_bits_skip(&b, 4); /* sps_video_parameter_set_id */
  guint max_sub_layers_minus1 = cw_bits_u(&b, 3);
  if (max_sub_layers_minus1 > 6)
    goto out;
  cw_bits_skip(&b, 1); /* sps_temporal_id_nesting_flag */
  skip_profile_tier_level(&b, max_sub_layers_minus1);
  if (cw_bits_ue(&b) > 15) /* sps_seq_parameter_set_id */
    goto out;
  guint chroma_format_idc = cw_bits_ue(&b);
  if (chroma_format_idc > 3)
    goto out;
  guint separate_colour_plane = 0;
  if (chroma_format_idc == 3)
    separate_colour_plane = cw_bits_u(&b, 1);
  guint64 w = cw_bits_ue(&b), h = cw_bits_ue(&b);
  guint64 l = 0, r = 0, t = 0, bo = 0;
  if (cw_bits_u(&b, 1)) { /* conformance_window_flag */
    l = cw_bits_ue(&b);
    r = cw_bits_ue(&b);
    t = cw_bits_ue(&b);
    bo = cw_bits_ue(&b);
  }
  if (b.overrun)
    goto out;
  guint chroma_array_type = separate_colour_plane ? 0 : chroma_format_idc;
  guint64 sub_w = chroma_array_type == 1 || chroma_array_type == 2 ? 2 : 1;
  guint64 sub_h = chroma_array_type == 1 ? 2 : 1;
  guint64 cw = sub_w * (l + r), ch = sub_h * (t + bo);
  if (w == 0 || h == 0 || w > 16384 || h > 16384 || cw >= w || ch >= h)
    goto out;
  *width = (int)(w - cw);
  *height = (int)(h - ch);
  rc = 0;
out:
  cw_bits_clear(&b);
  return rc;
}
