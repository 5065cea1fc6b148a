/* pull_decode: pulls one camera with citywatch's RTSP client for a while and
 * decodes every access unit with libavcodec, as the recorder and analytics
 * will consume them. Prints one JSON line with what it saw; exits 1 if any
 * decode failed, nothing arrived, or the session ended early.
 *
 *   pull_decode URL SECONDS [--user U --password P] [--transport auto|tcp|udp]
 *
 * The interop tests run it against RTSP servers this project did not write. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <uv.h>

#include "rtsp_client.h"

typedef struct {
  uv_loop_t *loop;
  uv_timer_t timer;
  cw_rtsp_client_t *client;
  AVCodecContext *dec;
  AVPacket *pkt;
  AVFrame *frame;
  cw_codec_t codec;
  guint64 aus, keyframes, damaged, decoded, decode_errors, skipped_before_key;
  gboolean seen_key, playing, ended;
  char end_message[512];
  int width, height;
  gint64 first_pts, last_pts;
  gint64 wallclock_aus;
} pull_t;

static void
on_phase(void *opaque, cw_rtsp_phase_t phase)
{
  pull_t *p = opaque;
  if (phase == CW_RTSP_PHASE_PLAYING)
    p->playing = TRUE;
}

static void
on_media(void *opaque, cw_codec_t codec, int w, int h, double fps)
{
  pull_t *p = opaque;
  p->codec = codec;
  const AVCodec *c =
      avcodec_find_decoder(codec == CW_CODEC_H265 ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264);
  p->dec = avcodec_alloc_context3(c);
  p->dec->thread_count = 1;
  /* Report damage as an error rather than concealing it. */
  p->dec->err_recognition = AV_EF_EXPLODE | AV_EF_CRCCHECK | AV_EF_BITSTREAM;
  avcodec_open2(p->dec, c, NULL);
}

static void
drain(pull_t *p)
{
  while (avcodec_receive_frame(p->dec, p->frame) == 0) {
    p->decoded++;
    p->width = p->frame->width;
    p->height = p->frame->height;
    if (p->frame->decode_error_flags)
      p->decode_errors++;
    av_frame_unref(p->frame);
  }
}

static void
on_au(void *opaque, cw_access_unit_t *au)
{
  pull_t *p = opaque;
  p->aus++;
  if (au->damaged) {
    p->damaged++;
    return; /* marked as such: never passed on as good */
  }
  if (au->keyframe)
    p->keyframes++;
  if (!p->seen_key && !au->keyframe) {
    p->skipped_before_key++;
    return;
  }
  p->seen_key = TRUE;
  if (au->wallclock_us)
    p->wallclock_aus++;
  if (p->first_pts == G_MININT64)
    p->first_pts = au->pts;
  p->last_pts = au->pts;
  av_new_packet(p->pkt, (int)au->size);
  memcpy(p->pkt->data, au->data, au->size);
  p->pkt->pts = au->pts;
  if (avcodec_send_packet(p->dec, p->pkt) < 0)
    p->decode_errors++;
  av_packet_unref(p->pkt);
  drain(p);
}

static void
on_end(void *opaque, cw_rtsp_end_t why, const char *message)
{
  pull_t *p = opaque;
  p->ended = TRUE;
  g_strlcpy(p->end_message, message, sizeof p->end_message);
  if (why != CW_RTSP_END_STOPPED)
    uv_stop(p->loop);
}

static void
on_timeout(uv_timer_t *t)
{
  pull_t *p = t->data;
  cw_rtsp_client_stop(p->client);
  uv_stop(p->loop);
}

int
main(int argc, char **argv)
{
  char *user = NULL, *password = NULL, *transport = NULL;
  GOptionEntry entries[] = {
      {"user", 0, 0, G_OPTION_ARG_STRING, &user, "User name", "U"},
      {"password", 0, 0, G_OPTION_ARG_STRING, &password, "Password", "P"},
      {"transport", 0, 0, G_OPTION_ARG_STRING, &transport, "auto, tcp or udp", "T"},
      G_OPTION_ENTRY_NULL};
  GOptionContext *oc = g_option_context_new("URL SECONDS");
  g_option_context_add_main_entries(oc, entries, NULL);
  GError *gerr = NULL;
  if (!g_option_context_parse(oc, &argc, &argv, &gerr) || argc != 3) {
    fprintf(stderr, "usage: pull_decode URL SECONDS [--user U --password P] [--transport T]\n");
    return 2;
  }
  g_option_context_free(oc);
  pull_t p = {0};
  p.first_pts = G_MININT64;
  p.loop = uv_default_loop();
  p.pkt = av_packet_alloc();
  p.frame = av_frame_alloc();
  cw_rtsp_client_config_t cfg = {
      .url = argv[1],
      .username = user,
      .password = password,
      .transport = !transport || !strcmp(transport, "auto") ? CW_RTSP_TRANSPORT_AUTO
                   : !strcmp(transport, "tcp")              ? CW_RTSP_TRANSPORT_TCP
                                                            : CW_RTSP_TRANSPORT_UDP,
  };
  cw_rtsp_client_callbacks_t cb = {on_phase, on_media, on_au, on_end};
  p.client = cw_rtsp_client_new(p.loop, &cfg, &cb, &p);
  uv_timer_init(p.loop, &p.timer);
  p.timer.data = &p;
  uv_timer_start(&p.timer, on_timeout, (guint64)(atof(argv[2]) * 1000), 0);
  cw_rtsp_client_start(p.client);
  uv_run(p.loop, UV_RUN_DEFAULT);
  gboolean early = p.ended && !strstr(p.end_message, "stopped");
  cw_rtsp_client_stop(p.client);
  uv_close((uv_handle_t *)&p.timer, NULL);
  uv_run(p.loop, UV_RUN_DEFAULT); /* let the session close */
  if (p.dec) {
    avcodec_send_packet(p.dec, NULL);
    drain(&p);
  }
  const cw_depay_stats_t *st = cw_rtsp_client_stats(p.client);
  double secs = p.first_pts != G_MININT64 && p.last_pts > p.first_pts
                    ? (double)(p.last_pts - p.first_pts) / 90000
                    : 0;
  double fps = secs > 0 ? (double)(p.decoded > 1 ? p.decoded - 1 : 0) / secs : 0;
  printf("{\"playing\": %s, \"codec\": \"%s\", \"transport\": \"%s\", \"access_units\": "
         "%" G_GUINT64_FORMAT ", \"keyframes\": %" G_GUINT64_FORMAT
         ", \"damaged\": %" G_GUINT64_FORMAT ", \"decoded\": %" G_GUINT64_FORMAT
         ", \"decode_errors\": %" G_GUINT64_FORMAT
         ", \"width\": %d, \"height\": %d, \"fps\": %.2f, \"lost\": %" G_GUINT64_FORMAT
         ", \"with_wallclock\": %" G_GUINT64_FORMAT ", \"ended\": \"%s\"}\n",
         p.playing ? "true" : "false",
         p.codec == CW_CODEC_H265   ? "H265"
         : p.codec == CW_CODEC_H264 ? "H264"
                                    : "none",
         cw_rtsp_client_transport(p.client) ? cw_rtsp_client_transport(p.client) : "none", p.aus,
         p.keyframes, p.damaged, p.decoded, p.decode_errors, p.width, p.height, fps,
         st ? st->lost : 0, p.wallclock_aus, early ? p.end_message : "");
  cw_rtsp_client_free(p.client);
  uv_run(p.loop, UV_RUN_DEFAULT);
  if (p.dec)
    avcodec_free_context(&p.dec);
  av_packet_free(&p.pkt);
  av_frame_free(&p.frame);
  g_free(user);
  g_free(password);
  g_free(transport);
  int bad = early || p.decoded == 0 || p.decode_errors > 0;
  if (early)
    fprintf(stderr, "pull_decode: session ended early: %s\n", p.end_message);
  return bad ? 1 : 0;
}
