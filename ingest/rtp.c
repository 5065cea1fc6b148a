/* RTP parsing and the codec-independent half of the depayloader: payload
 * type and SSRC checks, sequence tracking (loss, reordering, duplicates),
 * jitter, timestamp extension, access-unit assembly and parameter sets.
 * The payload formats are in rtp_h264.c and rtp_h265.c. See rtp.h. */
#include "rtp.h"

#include <errno.h>
#include <string.h>

#include "rtp_depay_priv.h"

#define RTP_HEADER_LEN 12
#define SEQ_MAX_DROPOUT 3000 /* forward steps below this are loss, above a jump */
#define SEQ_WINDOW 1024      /* how far back a late packet is recognised */
#define PARAM_SET_MAX 65536  /* larger "parameter sets" are not kept */
#define TS_JUMP_FORWARD_S 10 /* a forward step above this many seconds is a jump */
#define TS_JUMP_BACKWARD_S 1 /* a backward step above this many seconds is a jump */

static const guint8 start_code[4] = {0, 0, 0, 1};

int
cw_rtp_parse(const guint8 *buf, size_t len, cw_rtp_packet_t *out, cw_error_t *err)
{
  memset(out, 0, sizeof *out);
  if (len < RTP_HEADER_LEN)
    return cw_error_set(err, -EINVAL, "rtp: %zu bytes, shorter than the 12-byte header", len);
  out->version = buf[0] >> 6;
  out->padding = (buf[0] >> 5) & 1;
  out->extension = (buf[0] >> 4) & 1;
  out->csrc_count = buf[0] & 0x0f;
  out->marker = buf[1] >> 7;
  out->payload_type = buf[1] & 0x7f;
  out->seq = (guint16)(buf[2] << 8 | buf[3]);
  out->timestamp = (guint32)buf[4] << 24 | (guint32)buf[5] << 16 | (guint32)buf[6] << 8 | buf[7];
  out->ssrc = (guint32)buf[8] << 24 | (guint32)buf[9] << 16 | (guint32)buf[10] << 8 | buf[11];
  if (out->version != 2)
    return cw_error_set(err, -EINVAL, "rtp: version %u, not 2", out->version);
  size_t off = RTP_HEADER_LEN + 4 * (size_t)out->csrc_count;
  if (off > len)
    return cw_error_set(err, -EINVAL, "rtp: %u CSRCs do not fit in %zu bytes", out->csrc_count,
                        len);
  if (out->extension) {
    if (off + 4 > len)
      return cw_error_set(err, -EINVAL, "rtp: header extension truncated");
    size_t words = (size_t)buf[off + 2] << 8 | buf[off + 3];
    off += 4 + 4 * words;
    if (off > len)
      return cw_error_set(err, -EINVAL, "rtp: header extension of %zu words truncated", words);
  }
  size_t end = len;
  if (out->padding) {
    guint8 pad = buf[len - 1];
    if (pad == 0 || pad > len - off)
      return cw_error_set(err, -EINVAL, "rtp: padding of %u bytes with %zu after the header", pad,
                          len - off);
    end -= pad;
  }
  out->payload = buf + off;
  out->payload_len = end - off;
  return 0;
}

/* ---- the depayloader ---------------------------------------------------- */

struct cw_depay {
  cw_codec_t codec;
  guint32 clock_rate;
  cw_access_unit_sink_fn sink;
  void *opaque;
  int payload_type; /* -1: take the first one seen */
  cw_depay_stats_t stats;

  /* Sequence: the stream's SSRC is stats.ssrc once have_ssrc. */
  gboolean have_ssrc, have_seq, have_bad_seq;
  guint16 bad_seq;
  guint64 seen[SEQ_WINDOW / 64]; /* bit seq % SEQ_WINDOW: received */

  /* Jitter (RFC 3550 A.8). */
  gboolean have_transit;
  gint64 transit;

  /* Timestamps: ext is the 64-bit pts of last_ts. */
  gboolean have_ts, rebase;
  guint32 last_ts;
  gint64 last_ext, max_ext;
  gint64 frame_step; /* last forward step between access units, for re-basing */

  /* Wall clock from the RTCP SR. */
  gboolean have_wallclock;
  guint32 wc_rtp_ts;
  gint64 wc_us;

  /* The access unit in progress. */
  GByteArray *au;
  gboolean au_active, au_damaged, au_oversize, au_key;
  gboolean au_has_vps, au_has_sps, au_has_pps;
  guint au_nals;
  size_t au_insert; /* where parameter sets go: after a leading AUD */
  guint32 au_ts;
  gint64 au_ext;
  gboolean nal_open;
  size_t nal_start; /* offset of the open NAL's start code */
  size_t nal_len;   /* its bytes so far, counted even when not stored (oversize) */

  /* Latest parameter sets (NAL units without start code). */
  GByteArray *vps, *sps, *pps;
  int width, height;
};

static void
seen_set(cw_depay_t *d, guint16 seq, gboolean on)
{
  guint i = seq % SEQ_WINDOW;
  if (on)
    d->seen[i / 64] |= (guint64)1 << (i % 64);
  else
    d->seen[i / 64] &= ~((guint64)1 << (i % 64));
}

static gboolean
seen_get(const cw_depay_t *d, guint16 seq)
{
  guint i = seq % SEQ_WINDOW;
  return (d->seen[i / 64] >> (i % 64)) & 1;
}

static cw_nal_kind_t
nal_kind(const cw_depay_t *d, const guint8 *nal, size_t len)
{
  if (d->codec == CW_CODEC_H265)
    return cw_depay_h265_nal_kind(nal, len);
  return cw_depay_h264_nal_kind(nal, len);
}

/* Keeps a parameter set as the latest of its kind; an SPS also sets the
 * resolution when it parses. */
static void
store_param_set(cw_depay_t *d, cw_nal_kind_t kind, const guint8 *nal, size_t len)
{
  if (len > PARAM_SET_MAX)
    return;
  GByteArray **slot = kind == CW_NAL_VPS ? &d->vps : kind == CW_NAL_SPS ? &d->sps : &d->pps;
  if (!*slot)
    *slot = g_byte_array_new();
  g_byte_array_set_size(*slot, 0);
  g_byte_array_append(*slot, nal, (guint)len);
  if (kind == CW_NAL_SPS) {
    int w = 0, h = 0;
    int rc = d->codec == CW_CODEC_H265 ? cw_h265_sps_resolution(nal, len, &w, &h)
                                       : cw_h264_sps_resolution(nal, len, &w, &h);
    if (rc == 0) {
      d->width = w;
      d->height = h;
    }
  }
}

/* Splits Annex B (3- or 4-byte start codes) and stores its parameter sets. */
static void
store_annexb_param_sets(cw_depay_t *d, const guint8 *buf, size_t len)
{
  size_t i = 0, nal = 0;
  gboolean in_nal = FALSE;
  while (i + 3 <= len) {
    if (buf[i] == 0 && buf[i + 1] == 0 && buf[i + 2] == 1) {
      if (in_nal) {
        size_t end = i;
        while (end > nal && buf[end - 1] == 0)
          end--;
        cw_nal_kind_t k = nal_kind(d, buf + nal, end - nal);
        if (k == CW_NAL_VPS || k == CW_NAL_SPS || k == CW_NAL_PPS)
          store_param_set(d, k, buf + nal, end - nal);
      }
      i += 3;
      nal = i;
      in_nal = TRUE;
    } else {
      i++;
    }
  }
  if (in_nal && nal < len) {
    cw_nal_kind_t k = nal_kind(d, buf + nal, len - nal);
    if (k == CW_NAL_VPS || k == CW_NAL_SPS || k == CW_NAL_PPS)
      store_param_set(d, k, buf + nal, len - nal);
  }
}

cw_depay_t *
cw_depay_new(cw_codec_t codec, guint32 clock_rate, const guint8 *param_sets, size_t param_sets_len,
             cw_access_unit_sink_fn sink, void *opaque)
{
  if (codec != CW_CODEC_H264 && codec != CW_CODEC_H265)
    return NULL;
  cw_depay_t *d = g_new0(cw_depay_t, 1);
  d->codec = codec;
  d->clock_rate = clock_rate ? clock_rate : 90000;
  d->sink = sink;
  d->opaque = opaque;
  d->payload_type = -1;
  d->frame_step = d->clock_rate / 25 ? d->clock_rate / 25 : 1;
  d->au = g_byte_array_new();
  if (param_sets && param_sets_len)
    store_annexb_param_sets(d, param_sets, param_sets_len);
  return d;
}

void
cw_depay_set_payload_type(cw_depay_t *d, guint8 payload_type)
{
  d->payload_type = payload_type & 0x7f;
}

void
cw_depay_free(cw_depay_t *d)
{
  if (!d)
    return;
  g_byte_array_unref(d->au);
  if (d->vps)
    g_byte_array_unref(d->vps);
  if (d->sps)
    g_byte_array_unref(d->sps);
  if (d->pps)
    g_byte_array_unref(d->pps);
  g_free(d);
}

const cw_depay_stats_t *
cw_depay_stats(const cw_depay_t *d)
{
  return &d->stats;
}

void
cw_depay_resolution(const cw_depay_t *d, int *width, int *height)
{
  if (width)
    *width = d->width;
  if (height)
    *height = d->height;
}

void
cw_depay_set_wallclock(cw_depay_t *d, guint32 rtp_ts, gint64 wallclock_us)
{
  d->have_wallclock = TRUE;
  d->wc_rtp_ts = rtp_ts;
  d->wc_us = wallclock_us;
}

/* ---- NAL units and access units ------------------------------------------ */

void
cw_depay_damage(cw_depay_t *d)
{
  d->au_damaged = TRUE;
}

void
cw_depay_unsupported(cw_depay_t *d)
{
  d->stats.bad_packets++;
  d->au_damaged = TRUE;
}

gboolean
cw_depay_nal_open(const cw_depay_t *d)
{
  return d->nal_open;
}

/* Appends unless the access unit would pass the limit, which spoils it. */
static void
au_append(cw_depay_t *d, const guint8 *data, size_t len)
{
  if (d->au_oversize)
    return;
  if (len > CW_RTP_MAX_AU_BYTES - d->au->len) {
    d->au_oversize = TRUE;
    return;
  }
  g_byte_array_append(d->au, data, (guint)len);
}

void
cw_depay_nal_begin(cw_depay_t *d)
{
  cw_depay_nal_cut(d);
  d->nal_open = TRUE;
  d->nal_start = d->au->len;
  d->nal_len = 0;
  au_append(d, start_code, sizeof start_code);
}

void
cw_depay_nal_append(cw_depay_t *d, const guint8 *data, size_t len)
{
  if (!d->nal_open)
    return;
  d->nal_len += len;
  au_append(d, data, len);
}

void
cw_depay_nal_cut(cw_depay_t *d)
{
  if (!d->nal_open)
    return;
  cw_depay_nal_end(d);
  d->au_damaged = TRUE;
}

void
cw_depay_nal_end(cw_depay_t *d)
{
  if (!d->nal_open)
    return;
  d->nal_open = FALSE;
  if (d->au_oversize)
    return;
  const guint8 *nal = d->au->data + d->nal_start + sizeof start_code;
  size_t len = d->au->len - d->nal_start - sizeof start_code;
  if (len == 0) {
    g_byte_array_set_size(d->au, (guint)d->nal_start);
    return;
  }
  cw_nal_kind_t kind = nal_kind(d, nal, len);
  switch (kind) {
  case CW_NAL_VPS:
    d->au_has_vps = TRUE;
    store_param_set(d, kind, nal, len);
    break;
  case CW_NAL_SPS:
    d->au_has_sps = TRUE;
    store_param_set(d, kind, nal, len);
    break;
  case CW_NAL_PPS:
    d->au_has_pps = TRUE;
    store_param_set(d, kind, nal, len);
    break;
  case CW_NAL_AUD:
    if (d->au_nals == 0)
      d->au_insert = d->au->len;
    break;
  case CW_NAL_KEY:
    d->au_key = TRUE;
    break;
  case CW_NAL_OTHER:
    break;
  }
  d->au_nals++;
}

void
cw_depay_nal_whole(cw_depay_t *d, const guint8 *nal, size_t len)
{
  cw_depay_nal_begin(d);
  cw_depay_nal_append(d, nal, len);
  cw_depay_nal_end(d);
}

static void
au_reset(cw_depay_t *d)
{
  g_byte_array_set_size(d->au, 0);
  d->au_active = d->au_damaged = d->au_oversize = d->au_key = FALSE;
  d->au_has_vps = d->au_has_sps = d->au_has_pps = FALSE;
  d->au_nals = 0;
  d->au_insert = 0;
  d->nal_open = FALSE;
}

static void
au_start(cw_depay_t *d, guint32 ts, gint64 ext, gboolean damaged)
{
  au_reset(d);
  d->au_active = TRUE;
  d->au_ts = ts;
  d->au_ext = ext;
  d->au_damaged = damaged;
}

/* The bytes of a finished access unit, with parameter sets put in front of
 * a keyframe that lacks any of them. Takes d->au's data. */
static guint8 *
au_take_data(cw_depay_t *d, size_t *size)
{
  gboolean need_vps = d->codec == CW_CODEC_H265;
  gboolean lacks = !d->au_has_sps || !d->au_has_pps || (need_vps && !d->au_has_vps);
  GByteArray *sets[3] = {need_vps ? d->vps : NULL, d->sps, d->pps};
  size_t extra = 0;
  if (d->au_key && lacks) {
    for (int i = 0; i < 3; i++)
      if (sets[i])
        extra += sizeof start_code + sets[i]->len;
  }
  *size = d->au->len + extra;
  guint8 *out = g_malloc(*size ? *size : 1);
  size_t at = d->au_insert;
  memcpy(out, d->au->data, at);
  size_t o = at;
  if (extra) {
    for (int i = 0; i < 3; i++) {
      if (!sets[i])
        continue;
      memcpy(out + o, start_code, sizeof start_code);
      o += sizeof start_code;
      memcpy(out + o, sets[i]->data, sets[i]->len);
      o += sets[i]->len;
    }
  }
  memcpy(out + o, d->au->data + at, d->au->len - at);
  return out;
}

static gint64
wallclock_of(const cw_depay_t *d, guint32 ts)
{
  if (!d->have_wallclock)
    return 0;
  gint64 diff = (gint32)(ts - d->wc_rtp_ts);
  return d->wc_us + diff * G_USEC_PER_SEC / (gint64)d->clock_rate;
}

/* Ends the access unit in progress: hands it to the sink, or counts it
 * dropped. An FU still open means its end never came: what came of it is
 * kept, and the unit is damaged. */
static void
au_finish(cw_depay_t *d)
{
  if (!d->au_active)
    return;
  cw_depay_nal_cut(d);
  if (d->au_oversize || d->au->len == 0) {
    if (d->au_oversize || d->au_damaged)
      d->stats.dropped_aus++;
    au_reset(d);
    return;
  }
  size_t size;
  guint8 *data = au_take_data(d, &size);
  cw_access_unit_t *au = cw_access_unit_new_take(d->codec, data, size);
  au->pts = d->au_ext;
  au->clock_rate = d->clock_rate;
  au->wallclock_us = wallclock_of(d, d->au_ts);
  au->keyframe = d->au_key;
  au->damaged = d->au_damaged;
  au->ssrc = d->stats.ssrc;
  d->stats.aus++;
  if (au->keyframe)
    d->stats.keyframes++;
  if (au->damaged)
    d->stats.damaged_aus++;
  au_reset(d);
  if (d->sink)
    d->sink(d->opaque, au);
  cw_access_unit_unref(au);
}

void
cw_depay_flush(cw_depay_t *d)
{
  au_finish(d);
}

/* ---- sequence, SSRC, timestamps ---------------------------------------- */

static void
seq_restart(cw_depay_t *d, guint16 seq)
{
  memset(d->seen, 0, sizeof d->seen);
  d->have_seq = TRUE;
  d->have_bad_seq = FALSE;
  d->stats.highest_seq = seq;
  seen_set(d, seq, TRUE);
}

typedef enum { SEQ_IN_ORDER, SEQ_GAP, SEQ_DROP, SEQ_JUMP } seq_verdict_t;

/* Where seq stands against the highest so far; counts what it finds. */
static seq_verdict_t
seq_check(cw_depay_t *d, guint16 seq)
{
  if (!d->have_seq) {
    seq_restart(d, seq);
    return SEQ_IN_ORDER;
  }
  guint16 udelta = (guint16)(seq - d->stats.highest_seq);
  if (udelta == 0) {
    d->stats.duplicates++;
    return SEQ_DROP;
  }
  if (udelta < SEQ_MAX_DROPOUT) {
    for (guint16 i = 1; i < udelta && i <= SEQ_WINDOW; i++)
      seen_set(d, (guint16)(d->stats.highest_seq + i), FALSE);
    if (seq < d->stats.highest_seq)
      d->stats.cycles++;
    d->stats.lost += udelta - 1u;
    d->stats.highest_seq = seq;
    seen_set(d, seq, TRUE);
    d->have_bad_seq = FALSE;
    return udelta > 1 ? SEQ_GAP : SEQ_IN_ORDER;
  }
  if (udelta >= 65536 - SEQ_WINDOW) {
    if (seen_get(d, seq)) {
      d->stats.duplicates++;
    } else {
      d->stats.reordered++;
      seen_set(d, seq, TRUE);
    }
    return SEQ_DROP;
  }
  /* A jump: believe it only when the next packet follows on from it. */
  if (d->have_bad_seq && seq == d->bad_seq) {
    seq_restart(d, seq);
    return SEQ_GAP;
  }
  d->have_bad_seq = TRUE;
  d->bad_seq = (guint16)(seq + 1);
  return SEQ_JUMP;
}

/* The 64-bit pts of ts: continues from the last, re-based on a jump. */
static gint64
extend_ts(cw_depay_t *d, guint32 ts)
{
  gint64 ext;
  if (!d->have_ts) {
    ext = d->rebase ? d->max_ext + d->frame_step : (gint64)ts;
  } else {
    gint64 diff = (gint32)(ts - d->last_ts);
    if (diff > (gint64)TS_JUMP_FORWARD_S * d->clock_rate ||
        diff < -(gint64)TS_JUMP_BACKWARD_S * d->clock_rate) {
      d->stats.timestamp_jumps++;
      d->have_transit = FALSE;
      ext = d->max_ext + d->frame_step;
    } else {
      ext = d->last_ext + diff;
      if (diff > 0)
        d->frame_step = diff;
    }
  }
  d->have_ts = TRUE;
  d->rebase = FALSE;
  d->last_ts = ts;
  d->last_ext = ext;
  if (ext > d->max_ext)
    d->max_ext = ext;
  return ext;
}

static void
update_jitter(cw_depay_t *d, guint32 ts, gint64 arrival_us)
{
  /* Arrival in timestamp units; only differences matter, so wrapping to
   * 32 bits like the RTP timestamp is fine. */
  guint32 arrival = (guint32)((guint64)arrival_us * d->clock_rate / G_USEC_PER_SEC);
  gint64 transit = (gint32)(arrival - ts);
  if (d->have_transit) {
    gint64 delta = transit - d->transit;
    if (delta < 0)
      delta = -delta;
    d->stats.jitter += ((double)delta - d->stats.jitter) / 16.0;
  }
  d->transit = transit;
  d->have_transit = TRUE;
}

static void
ssrc_change(cw_depay_t *d, guint32 ssrc)
{
  au_finish(d);
  d->stats.ssrc_changes++;
  d->stats.ssrc = ssrc;
  d->have_seq = d->have_bad_seq = FALSE;
  d->stats.cycles = 0;
  d->have_transit = FALSE;
  d->stats.jitter = 0;
  d->have_wallclock = FALSE;
  /* pts go on from where the old stream left them. */
  if (d->have_ts) {
    d->have_ts = FALSE;
    d->rebase = TRUE;
  }
}

int
cw_depay_push_at(cw_depay_t *d, const guint8 *packet, size_t len, gint64 arrival_us)
{
  cw_rtp_packet_t p;
  if (cw_rtp_parse(packet, len, &p, NULL) < 0) {
    d->stats.bad_packets++;
    return -EINVAL;
  }
  if (d->payload_type < 0)
    d->payload_type = p.payload_type;
  if (p.payload_type != d->payload_type) {
    d->stats.bad_packets++;
    return 0;
  }
  if (!d->have_ssrc) {
    d->have_ssrc = TRUE;
    d->stats.ssrc = p.ssrc;
  } else if (p.ssrc != d->stats.ssrc) {
    ssrc_change(d, p.ssrc);
  }
  seq_verdict_t v = seq_check(d, p.seq);
  if (v == SEQ_JUMP) {
    d->stats.bad_packets++;
    return 0;
  }
  d->stats.packets++;
  d->stats.bytes += len;
  if (v == SEQ_DROP)
    return 0;
  gboolean gap = v == SEQ_GAP;
  if (gap && d->au_active) {
    cw_depay_nal_cut(d);
    d->au_damaged = TRUE;
  }
  gint64 ext = extend_ts(d, p.timestamp);
  update_jitter(d, p.timestamp, arrival_us);
  if (d->au_active && p.timestamp != d->au_ts)
    au_finish(d);
  if (!d->au_active)
    au_start(d, p.timestamp, ext, gap);
  if (d->codec == CW_CODEC_H265)
    cw_depay_h265_payload(d, p.payload, p.payload_len);
  else
    cw_depay_h264_payload(d, p.payload, p.payload_len);
  if (p.marker)
    au_finish(d);
  return 0;
}

int
cw_depay_push(cw_depay_t *d, const guint8 *packet, size_t len)
{
  return cw_depay_push_at(d, packet, len, g_get_monotonic_time());
}

void
cw_depay_aggregate(cw_depay_t *d, const guint8 *p, size_t n, size_t header_len, size_t min_nal)
{
  size_t off = header_len;
  if (off >= n) {
    cw_depay_damage(d);
    return;
  }
  while (off < n) {
    if (off + 2 > n) {
      cw_depay_damage(d);
      return;
    }
    size_t size = (size_t)p[off] << 8 | p[off + 1];
    off += 2;
    if (size < min_nal || size > n - off) {
      cw_depay_damage(d);
      return;
    }
    cw_depay_nal_whole(d, p + off, size);
    off += size;
  }
}

void
cw_depay_fragment(cw_depay_t *d, guint8 fu_header, const guint8 *nal_header, size_t header_len,
                  const guint8 *frag, size_t frag_len)
{
  if (fu_header & 0x80) {
    cw_depay_nal_begin(d);
    cw_depay_nal_append(d, nal_header, header_len);
  } else if (!cw_depay_nal_open(d)) {
    /* Its start was lost (or the FU was cut by a gap): nothing to add to. */
    cw_depay_damage(d);
    return;
  }
  cw_depay_nal_append(d, frag, frag_len);
  if (fu_header & 0x40)
    cw_depay_nal_end(d);
}
