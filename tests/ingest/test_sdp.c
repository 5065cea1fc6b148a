/* Unit tests for ingest/sdp.c: SDPs in the shapes real servers and cameras
 * send (gst-rtsp-server, VLC, ffmpeg via rtsp-server-perl, Hikvision, Axis,
 * Dahua), parameter sets decoded byte-exact, the sloppiness cameras get away
 * with, every refusal with its line, and control-URL resolution. */
#include "sdp.h"

#include <errno.h>
#include <string.h>

static cw_sdp_t *
parse_ok(const char *text, const char *base)
{
  cw_sdp_t *sdp = NULL;
  cw_error_t err = {0};
  int rc = cw_sdp_parse(text, strlen(text), base, &sdp, &err);
  if (rc != 0)
    g_test_message("unexpected error: %s", err.msg);
  g_assert_cmpint(rc, ==, 0);
  g_assert_nonnull(sdp);
  return sdp;
}

static const cw_sdp_media_t *
media_at(const cw_sdp_t *sdp, guint i)
{
  g_assert_cmpuint(i, <, sdp->media->len);
  return sdp->media->pdata[i];
}

/* Annex B of the given NAL units, to compare param_sets with. */
static GByteArray *
annex_b(const char *const *hex_nals)
{
  GByteArray *out = g_byte_array_new();
  static const guint8 sc[] = {0, 0, 0, 1};
  for (; *hex_nals; hex_nals++) {
    g_byte_array_append(out, sc, 4);
    const char *h = *hex_nals;
    for (size_t i = 0; h[i] && h[i + 1]; i += 2) {
      guint8 b = (guint8)(g_ascii_xdigit_value(h[i]) << 4 | g_ascii_xdigit_value(h[i + 1]));
      g_byte_array_append(out, &b, 1);
    }
  }
  return out;
}

static void
assert_param_sets(const cw_sdp_media_t *m, const char *const *hex_nals)
{
  GByteArray *want = annex_b(hex_nals);
  g_assert_nonnull(m->param_sets);
  g_assert_cmpmem(m->param_sets, m->param_sets_len, want->data, want->len);
  g_byte_array_unref(want);
}

/* Known SPS/PPS (Axis, 1280x720 baseline) and the other sets used below. */
#define AXIS_SPS "67420029e2901407b602dc04040690789115"
#define AXIS_PPS "68ce3c80"
#define GST_SPS "67640028acd940780227e5c044000003000400000300f03c60c658"
#define GST_PPS "68ebe3cb22c0"
#define HEVC_VPS "40010c01ffff01600000030090000003000003005d959809"
#define HEVC_SPS                                                                                   \
  "42010101600000030090000003000003005da00280802d165959a4932bc04040000003004000000642"
#define HEVC_PPS "4401c172b46240"

/* ---- real SDPs --------------------------------------------------------- */

static void
test_gst_rtsp_server_h264(void)
{
  const char *text = "v=0\r\n"
                     "o=- 1188340656180883 1 IN IP4 127.0.0.1\r\n"
                     "s=Session streamed with GStreamer\r\n"
                     "i=rtsp-server\r\n"
                     "t=0 0\r\n"
                     "a=tool:GStreamer\r\n"
                     "a=type:broadcast\r\n"
                     "a=range:npt=now-\r\n"
                     "a=control:rtsp://127.0.0.1:8554/test\r\n"
                     "m=video 0 RTP/AVP 96\r\n"
                     "c=IN IP4 0.0.0.0\r\n"
                     "b=AS:2097\r\n"
                     "a=rtpmap:96 H264/90000\r\n"
                     "a=framerate:30\r\n"
                     "a=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z2QAKKzZQHgCJ+"
                     "XARAAAAwAEAAADAPA8YMZY,aOvjyyLA;profile-level-id=640028;level-asymmetry-"
                     "allowed=1\r\n"
                     "a=control:rtsp://127.0.0.1:8554/test/stream=0\r\n"
                     "a=ts-refclk:local\r\n"
                     "a=mediaclk:sender\r\n";
  cw_sdp_t *sdp = parse_ok(text, "rtsp://127.0.0.1:8554/test/");
  g_assert_cmpstr(sdp->session_name, ==, "Session streamed with GStreamer");
  g_assert_cmpstr(sdp->session_control, ==, "rtsp://127.0.0.1:8554/test");
  g_assert_cmpuint(sdp->media->len, ==, 1);
  const cw_sdp_media_t *m = media_at(sdp, 0);
  g_assert_cmpstr(m->media, ==, "video");
  g_assert_cmpint(m->payload_type, ==, 96);
  g_assert_cmpstr(m->encoding, ==, "H264");
  g_assert_cmpint(m->codec, ==, CW_CODEC_H264);
  g_assert_cmpuint(m->clock_rate, ==, 90000);
  g_assert_cmpstr(m->control, ==, "rtsp://127.0.0.1:8554/test/stream=0");
  g_assert_cmpint(m->packetization_mode, ==, 1);
  g_assert_true(g_str_has_prefix(m->fmtp, "packetization-mode=1;sprop-parameter-sets="));
  assert_param_sets(m, (const char *const[]){GST_SPS, GST_PPS, NULL});
  g_assert_cmpfloat(m->framerate, ==, 30.0);
  g_assert_cmpint(m->width, ==, 0);
  g_assert_true(cw_sdp_first_video(sdp) == m);
  cw_sdp_free(sdp);
}

/* H.265 sets come out VPS, SPS, PPS whatever order the fmtp has them in. */
static void
test_gst_rtsp_server_h265(void)
{
  const char *text = "v=0\r\n"
                     "o=- 3462915378713462785 1 IN IP4 127.0.0.1\r\n"
                     "s=Session streamed with GStreamer\r\n"
                     "i=rtsp-server\r\n"
                     "t=0 0\r\n"
                     "a=tool:GStreamer\r\n"
                     "a=type:broadcast\r\n"
                     "a=range:npt=now-\r\n"
                     "a=control:rtsp://127.0.0.1:8554/h265\r\n"
                     "m=video 0 RTP/AVP 96\r\n"
                     "c=IN IP4 0.0.0.0\r\n"
                     "b=AS:2000\r\n"
                     "a=rtpmap:96 H265/90000\r\n"
                     "a=fmtp:96 sprop-pps=RAHBcrRiQA==;sprop-sps="
                     "QgEBAWAAAAMAkAAAAwAAAwBdoAKAgC0WWVmkkyvAQEAAAAMAQAAABkI=;sprop-vps="
                     "QAEMAf//AWAAAAMAkAAAAwAAAwBdlZgJ\r\n"
                     "a=control:rtsp://127.0.0.1:8554/h265/stream=0\r\n"
                     "a=ts-refclk:local\r\n"
                     "a=mediaclk:sender\r\n"
                     "a=framerate:25\r\n";
  cw_sdp_t *sdp = parse_ok(text, "rtsp://127.0.0.1:8554/h265/");
  const cw_sdp_media_t *m = cw_sdp_first_video(sdp);
  g_assert_nonnull(m);
  g_assert_cmpint(m->codec, ==, CW_CODEC_H265);
  g_assert_cmpstr(m->encoding, ==, "H265");
  g_assert_cmpuint(m->clock_rate, ==, 90000);
  g_assert_cmpint(m->packetization_mode, ==, 0);
  g_assert_cmpstr(m->control, ==, "rtsp://127.0.0.1:8554/h265/stream=0");
  assert_param_sets(m, (const char *const[]){HEVC_VPS, HEVC_SPS, HEVC_PPS, NULL});
  g_assert_cmpfloat(m->framerate, ==, 25.0);
  cw_sdp_free(sdp);
}

/* cvlc --sout '#rtp{sdp=rtsp://:8554/stream}': absolute controls, fmtp ending
 * in ';', an audio medium on the same payload type number. */
static void
test_vlc_rtsp_output(void)
{
  const char *text = "v=0\r\n"
                     "o=- 16409863082207520751 16409863082207520751 IN IP4 vlchost\r\n"
                     "s=Unnamed\r\n"
                     "i=N/A\r\n"
                     "c=IN IP4 0.0.0.0\r\n"
                     "t=0 0\r\n"
                     "a=tool:vlc 3.0.18\r\n"
                     "a=recvonly\r\n"
                     "a=type:broadcast\r\n"
                     "a=charset:UTF-8\r\n"
                     "a=control:rtsp://192.168.1.10:8554/stream\r\n"
                     "m=audio 0 RTP/AVP 96\r\n"
                     "b=RR:0\r\n"
                     "a=rtpmap:96 mpeg4-generic/48000/2\r\n"
                     "a=fmtp:96 streamtype=5; profile-level-id=15; mode=AAC-hbr; config=1190; "
                     "SizeLength=13; IndexLength=3; IndexDeltaLength=3;\r\n"
                     "a=control:rtsp://192.168.1.10:8554/stream/trackID=0\r\n"
                     "m=video 0 RTP/AVP 96\r\n"
                     "b=RR:0\r\n"
                     "a=rtpmap:96 H264/90000\r\n"
                     "a=fmtp:96 packetization-mode=1;profile-level-id=64001f;sprop-parameter-sets="
                     "Z2QAH6zZQFAFuhAAAAMAEAAAAwPI8YMZYA==,aOvjyyLA;\r\n"
                     "a=control:rtsp://192.168.1.10:8554/stream/trackID=1\r\n";
  cw_sdp_t *sdp = parse_ok(text, "rtsp://192.168.1.10:8554/stream");
  g_assert_cmpstr(sdp->session_name, ==, "Unnamed");
  g_assert_cmpuint(sdp->media->len, ==, 2);
  const cw_sdp_media_t *a = media_at(sdp, 0);
  g_assert_cmpstr(a->media, ==, "audio");
  g_assert_cmpstr(a->encoding, ==, "mpeg4-generic");
  g_assert_cmpint(a->codec, ==, CW_CODEC_NONE);
  g_assert_cmpuint(a->clock_rate, ==, 48000);
  g_assert_null(a->param_sets);
  g_assert_cmpstr(a->control, ==, "rtsp://192.168.1.10:8554/stream/trackID=0");
  const cw_sdp_media_t *v = cw_sdp_first_video(sdp);
  g_assert_true(v == media_at(sdp, 1));
  g_assert_cmpstr(v->control, ==, "rtsp://192.168.1.10:8554/stream/trackID=1");
  g_assert_cmpint(v->packetization_mode, ==, 1);
  assert_param_sets(v, (const char *const[]){"6764001facd9405005ba10000003001000000303c8f1831960",
                                             GST_PPS, NULL});
  cw_sdp_free(sdp);
}

/* ffmpeg -f rtsp into rtsp-server-perl: relative "streamid=N" controls,
 * "; " between fmtp parameters. */
static void
test_ffmpeg_rtsp_server_perl(void)
{
  const char *text = "v=0\r\n"
                     "o=- 0 0 IN IP4 127.0.0.1\r\n"
                     "s=No Name\r\n"
                     "c=IN IP4 127.0.0.1\r\n"
                     "t=0 0\r\n"
                     "a=tool:libavformat 59.27.100\r\n"
                     "m=video 0 RTP/AVP 96\r\n"
                     "b=AS:200\r\n"
                     "a=rtpmap:96 H264/90000\r\n"
                     "a=fmtp:96 packetization-mode=1; sprop-parameter-sets="
                     "Z2QAHqzZQKAv+XARAAADAAEAAAMAMg8WLZY=,aOvjyyLA; profile-level-id=64001E\r\n"
                     "a=control:streamid=0\r\n"
                     "m=audio 0 RTP/AVP 97\r\n"
                     "b=AS:128\r\n"
                     "a=rtpmap:97 MPEG4-GENERIC/44100/2\r\n"
                     "a=fmtp:97 profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;"
                     "indexdeltalength=3; config=121056E500\r\n"
                     "a=control:streamid=1\r\n";
  cw_sdp_t *sdp = parse_ok(text, "rtsp://127.0.0.1:5545/live");
  g_assert_null(sdp->session_control);
  const cw_sdp_media_t *v = cw_sdp_first_video(sdp);
  g_assert_true(v == media_at(sdp, 0));
  g_assert_cmpstr(v->control, ==, "rtsp://127.0.0.1:5545/live/streamid=0");
  g_assert_cmpint(v->packetization_mode, ==, 1);
  assert_param_sets(v, (const char *const[]){"6764001eacd940a02ff97011000003000100000300320f162d96",
                                             GST_PPS, NULL});
  g_assert_cmpstr(media_at(sdp, 1)->control, ==, "rtsp://127.0.0.1:5545/live/streamid=1");
  g_assert_cmpuint(media_at(sdp, 1)->clock_rate, ==, 44100);
  cw_sdp_free(sdp);
}

/* Hikvision: absolute controls with a query, x-dimensions, a metadata
 * track, a=Media_header noise. */
static void
test_hikvision(void)
{
  const char *text =
      "v=0\r\n"
      "o=- 1109162014219182 1109162014219192 IN IP4 192.168.1.64\r\n"
      "s=Media Presentation\r\n"
      "e=NONE\r\n"
      "b=AS:5050\r\n"
      "t=0 0\r\n"
      "a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/?transportmode=unicast\r\n"
      "m=video 0 RTP/AVP 96\r\n"
      "c=IN IP4 0.0.0.0\r\n"
      "b=AS:5000\r\n"
      "a=recvonly\r\n"
      "a=x-dimensions:1920,1080\r\n"
      "a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=1?transportmode=unicast\r\n"
      "a=rtpmap:96 H264/90000\r\n"
      "a=fmtp:96 profile-level-id=420029; packetization-mode=1; "
      "sprop-parameter-sets=Z00AKZpkA8ARPyzUBAQFAAADA+gAAOpgBA==,aO48gA==\r\n"
      "m=application 0 RTP/AVP 107\r\n"
      "c=IN IP4 0.0.0.0\r\n"
      "b=AS:50\r\n"
      "a=recvonly\r\n"
      "a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=3?transportmode=unicast\r\n"
      "a=rtpmap:107 isapi.metadata/90000\r\n"
      "a=Media_header:MEDIAINFO=494D4B48010100000400010000000000000000000000000000000000000000000"
      "000000000000000;\r\n"
      "a=appversion:1.0\r\n";
  cw_sdp_t *sdp = parse_ok(text, "rtsp://192.168.1.64:554/Streaming/Channels/101/");
  g_assert_cmpstr(sdp->session_control, ==,
                  "rtsp://192.168.1.64:554/Streaming/Channels/101/?transportmode=unicast");
  g_assert_cmpuint(sdp->media->len, ==, 2);
  const cw_sdp_media_t *v = cw_sdp_first_video(sdp);
  g_assert_true(v == media_at(sdp, 0));
  g_assert_cmpstr(v->control, ==,
                  "rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=1?transportmode=unicast");
  g_assert_cmpint(v->width, ==, 1920);
  g_assert_cmpint(v->height, ==, 1080);
  g_assert_cmpint(v->packetization_mode, ==, 1);
  assert_param_sets(v, (const char *const[]){"674d00299a6403c0113f2cd404040500000303e80000ea6004",
                                             "68ee3c80", NULL});
  const cw_sdp_media_t *meta = media_at(sdp, 1);
  g_assert_cmpstr(meta->media, ==, "application");
  g_assert_cmpint(meta->payload_type, ==, 107);
  g_assert_cmpstr(meta->encoding, ==, "isapi.metadata");
  g_assert_cmpint(meta->codec, ==, CW_CODEC_NONE);
  cw_sdp_free(sdp);
}

/* Axis (classic firmware): a=control:* at session level, relative
 * trackID=1 against a Content-Base with a trailing slash; and the known
 * SPS/PPS decoded byte for byte. */
static void
test_axis_session_star(void)
{
  const char *text = "v=0\r\n"
                     "o=- 1274352137785960 1274352137785960 IN IP4 192.168.0.90\r\n"
                     "s=Media Presentation\r\n"
                     "e=NONE\r\n"
                     "c=IN IP4 0.0.0.0\r\n"
                     "b=AS:50000\r\n"
                     "t=0 0\r\n"
                     "a=control:*\r\n"
                     "a=range:npt=0.000000-\r\n"
                     "m=video 0 RTP/AVP 96\r\n"
                     "b=AS:50000\r\n"
                     "a=framerate:30.0\r\n"
                     "a=transform:1,0,0;0,1,0;0,0,1\r\n"
                     "a=control:trackID=1\r\n"
                     "a=rtpmap:96 H264/90000\r\n"
                     "a=fmtp:96 packetization-mode=1; profile-level-id=420029; "
                     "sprop-parameter-sets=Z0IAKeKQFAe2AtwEBAaQeJEV,aM48gA==\r\n";
  const char *base = "rtsp://192.168.0.90:554/axis-media/media.amp/";
  cw_sdp_t *sdp = parse_ok(text, base);
  g_assert_cmpstr(sdp->session_control, ==, base);
  const cw_sdp_media_t *v = cw_sdp_first_video(sdp);
  g_assert_nonnull(v);
  g_assert_cmpstr(v->control, ==, "rtsp://192.168.0.90:554/axis-media/media.amp/trackID=1");
  g_assert_cmpfloat(v->framerate, ==, 30.0);
  static const guint8 want[] = {0x00, 0x00, 0x00, 0x01, 0x67, 0x42, 0x00, 0x29, 0xe2, 0x90,
                                0x14, 0x07, 0xb6, 0x02, 0xdc, 0x04, 0x04, 0x06, 0x90, 0x78,
                                0x91, 0x15, 0x00, 0x00, 0x00, 0x01, 0x68, 0xce, 0x3c, 0x80};
  g_assert_cmpmem(v->param_sets, v->param_sets_len, want, sizeof want);
  cw_sdp_free(sdp);
}

/* Axis (GStreamer-based firmware) with the request URL as base: no slash,
 * query in the URL, absolute media control. */
static void
test_axis_media_amp_query(void)
{
  const char *text =
      "v=0\r\n"
      "o=- 12345678901234567 1 IN IP4 192.168.0.90\r\n"
      "s=Session streamed with GStreamer\r\n"
      "i=rtsp-server\r\n"
      "t=0 0\r\n"
      "a=tool:GStreamer\r\n"
      "a=type:broadcast\r\n"
      "a=range:npt=now-\r\n"
      "a=control:rtsp://192.168.0.90/axis-media/media.amp?videocodec=h264\r\n"
      "m=video 0 RTP/AVP 96\r\n"
      "c=IN IP4 0.0.0.0\r\n"
      "b=AS:50000\r\n"
      "a=rtpmap:96 H264/90000\r\n"
      "a=fmtp:96 packetization-mode=1;profile-level-id=4d0029;sprop-parameter-sets="
      "Z00AKeKQDwBE/LgLcBAQGkHiRFQ=,aO48gA==\r\n"
      "a=control:rtsp://192.168.0.90/axis-media/media.amp/stream=0?videocodec=h264\r\n"
      "a=framerate:30.000000\r\n"
      "a=transform:1.000000,0.000000,0.000000;0.000000,1.000000,0.000000;0.000000,0.000000,1."
      "000000\r\n";
  cw_sdp_t *sdp = parse_ok(text, "rtsp://192.168.0.90/axis-media/media.amp?videocodec=h264");
  const cw_sdp_media_t *v = cw_sdp_first_video(sdp);
  g_assert_cmpstr(v->control, ==,
                  "rtsp://192.168.0.90/axis-media/media.amp/stream=0?videocodec=h264");
  assert_param_sets(
      v, (const char *const[]){"674d0029e2900f0044fcb80b7010101a41e24454", "68ee3c80", NULL});
  cw_sdp_free(sdp);
}

/* Dahua: trackID=0 joined after a query (the Content-Base ends in "/"),
 * sprop-parameter-sets with a trailing comma, PCMA audio on a static PT. */
static void
test_dahua(void)
{
  const char *text = "v=0\r\n"
                     "o=- 2251938202 2251938202 IN IP4 0.0.0.0\r\n"
                     "s=Media Server\r\n"
                     "c=IN IP4 0.0.0.0\r\n"
                     "t=0 0\r\n"
                     "a=control:*\r\n"
                     "a=packetization-supported:DH\r\n"
                     "a=rtppayload-supported:DH\r\n"
                     "a=range:npt=now-\r\n"
                     "m=video 0 RTP/AVP 96\r\n"
                     "a=control:trackID=0\r\n"
                     "a=framerate:25.000000\r\n"
                     "a=rtpmap:96 H264/90000\r\n"
                     "a=fmtp:96 packetization-mode=1;profile-level-id=4D002A;sprop-parameter-sets="
                     "Z00AKpY1QPAET8s3AQEBQAAAAwBAAAAMoQ==,aO4xsg==,\r\n"
                     "a=recvonly\r\n"
                     "m=audio 0 RTP/AVP 8\r\n"
                     "a=control:trackID=1\r\n"
                     "a=rtpmap:8 PCMA/8000\r\n"
                     "a=recvonly\r\n";
  const char *base = "rtsp://192.168.1.108:554/cam/realmonitor?channel=1&subtype=0/";
  cw_sdp_t *sdp = parse_ok(text, base);
  g_assert_cmpstr(sdp->session_control, ==, base);
  const cw_sdp_media_t *v = cw_sdp_first_video(sdp);
  g_assert_cmpstr(v->control, ==,
                  "rtsp://192.168.1.108:554/cam/realmonitor?channel=1&subtype=0/trackID=0");
  g_assert_cmpfloat(v->framerate, ==, 25.0);
  assert_param_sets(v, (const char *const[]){"674d002a963540f0044fcb3701010140000003004000000ca1",
                                             "68ee31b2", NULL});
  const cw_sdp_media_t *a = media_at(sdp, 1);
  g_assert_cmpint(a->payload_type, ==, 8);
  g_assert_cmpstr(a->encoding, ==, "PCMA");
  g_assert_cmpstr(a->control, ==,
                  "rtsp://192.168.1.108:554/cam/realmonitor?channel=1&subtype=0/trackID=1");
  cw_sdp_free(sdp);
}

/* Dahua H.265 with the request URL (no trailing slash) as base. */
static void
test_dahua_h265(void)
{
  const char *text =
      "v=0\r\n"
      "s=Media Server\r\n"
      "a=control:*\r\n"
      "m=video 0 RTP/AVP 98\r\n"
      "a=control:trackID=0\r\n"
      "a=rtpmap:98 H265/90000\r\n"
      "a=fmtp:98 profile-id=1;sprop-sps=QgEBAWAAAAMAkAAAAwAAAwBdoAKAgC0WWVmkkyvAQEAAAAM"
      "AQAAABkI=;sprop-pps=RAHBcrRiQA==;sprop-vps=QAEMAf//AWAAAAMAkAAAAwAAAwBdlZgJ\r\n";
  cw_sdp_t *sdp = parse_ok(text, "rtsp://10.0.0.5:554/cam/realmonitor?channel=1&subtype=0");
  const cw_sdp_media_t *v = cw_sdp_first_video(sdp);
  g_assert_cmpint(v->codec, ==, CW_CODEC_H265);
  g_assert_cmpstr(v->control, ==,
                  "rtsp://10.0.0.5:554/cam/realmonitor?channel=1&subtype=0/trackID=0");
  assert_param_sets(v, (const char *const[]){HEVC_VPS, HEVC_SPS, HEVC_PPS, NULL});
  cw_sdp_free(sdp);
}

/* ---- tolerance --------------------------------------------------------- */

/* No v=, LF only, leading/trailing spaces, empty lines, junk lines, no final
 * line end, lower-case encoding and attribute names in odd case. */
static void
test_sloppy_camera(void)
{
  const char *text = "\n"
                     "s=Cheap Cam   \n"
                     "   \n"
                     "this is not sdp\n"
                     "x=unknown type\n"
                     "a=Control:*  \n"
                     "m=video   0 RTP/AVP   96  \n"
                     "\t\n"
                     "a=RTPMAP:96 h264/90000 \n"
                     "a=framesize:96 1280-720\n"
                     "a=fmtp:96 Packetization-Mode=1 ; SPROP-PARAMETER-SETS = "
                     "Z0IAKeKQFAe2AtwEBAaQeJEV , aM48gA== ;\n"
                     "a=control: track1";
  cw_sdp_t *sdp = parse_ok(text, "rtsp://cam/live");
  g_assert_cmpstr(sdp->session_name, ==, "Cheap Cam");
  g_assert_cmpstr(sdp->session_control, ==, "rtsp://cam/live");
  const cw_sdp_media_t *v = cw_sdp_first_video(sdp);
  g_assert_nonnull(v);
  g_assert_cmpstr(v->encoding, ==, "h264");
  g_assert_cmpint(v->codec, ==, CW_CODEC_H264);
  g_assert_cmpint(v->packetization_mode, ==, 1);
  g_assert_cmpint(v->width, ==, 1280);
  g_assert_cmpint(v->height, ==, 720);
  g_assert_cmpstr(v->control, ==, "rtsp://cam/live/track1");
  assert_param_sets(v, (const char *const[]){AXIS_SPS, AXIS_PPS, NULL});
  cw_sdp_free(sdp);
}

/* The text need not end in NUL: only len bytes are read. */
static void
test_not_nul_terminated(void)
{
  const char *text = "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\nm=video 0 RTP/AVP 97\r\n";
  size_t len = strlen("m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n");
  char *copy = g_malloc(len);
  memcpy(copy, text, len);
  cw_sdp_t *sdp = NULL;
  g_assert_cmpint(cw_sdp_parse(copy, len, "rtsp://h/s", &sdp, NULL), ==, 0);
  g_assert_cmpuint(sdp->media->len, ==, 1);
  g_assert_cmpint(media_at(sdp, 0)->codec, ==, CW_CODEC_H264);
  cw_sdp_free(sdp);
  g_free(copy);
}

static void
test_empty_input(void)
{
  cw_sdp_t *sdp = NULL;
  g_assert_cmpint(cw_sdp_parse("", 0, "rtsp://h/s", &sdp, NULL), ==, 0);
  g_assert_cmpuint(sdp->media->len, ==, 0);
  g_assert_null(sdp->session_name);
  g_assert_null(sdp->session_control);
  g_assert_null(cw_sdp_first_video(sdp));
  cw_sdp_free(sdp);
  cw_sdp_free(NULL);
}

/* A medium without a=control gets the session control URL, else the base. */
static void
test_missing_media_control(void)
{
  cw_sdp_t *sdp = parse_ok("a=control:rtsp://h/agg\r\nm=video 0 RTP/AVP 96\r\n", "rtsp://h/s");
  g_assert_cmpstr(media_at(sdp, 0)->control, ==, "rtsp://h/agg");
  cw_sdp_free(sdp);
  sdp = parse_ok("m=video 0 RTP/AVP 96\r\n", "rtsp://h/s");
  g_assert_cmpstr(media_at(sdp, 0)->control, ==, "rtsp://h/s");
  cw_sdp_free(sdp);
}

/* Only the first format's rtpmap/fmtp/framesize count; the first of
 * repeated lines wins. */
static void
test_first_payload_type_and_first_line_win(void)
{
  const char *text = "m=video 0 RTP/AVP 97 96\r\n"
                     "a=rtpmap:96 H265/90000\r\n"
                     "a=fmtp:96 sprop-sps=AAAA\r\n"
                     "a=framesize:96 640-480\r\n"
                     "a=rtpmap:97 H264/90000\r\n"
                     "a=rtpmap:97 H265/90000\r\n"
                     "a=fmtp:97 packetization-mode=2\r\n"
                     "a=fmtp:97 packetization-mode=0\r\n"
                     "a=control:a\r\n"
                     "a=control:b\r\n";
  cw_sdp_t *sdp = parse_ok(text, "rtsp://h/s");
  const cw_sdp_media_t *v = media_at(sdp, 0);
  g_assert_cmpint(v->payload_type, ==, 97);
  g_assert_cmpint(v->codec, ==, CW_CODEC_H264);
  g_assert_cmpstr(v->fmtp, ==, "packetization-mode=2");
  g_assert_cmpint(v->packetization_mode, ==, 2);
  g_assert_cmpint(v->width, ==, 0);
  g_assert_cmpstr(v->control, ==, "rtsp://h/s/a");
  g_assert_null(v->param_sets);
  cw_sdp_free(sdp);
}

/* A start code some encoders leave inside the base64 is not doubled;
 * padding may be left out. */
static void
test_sprop_start_code_and_no_padding(void)
{
  const char *text = "m=video 0 RTP/AVP 96\r\n"
                     "a=rtpmap:96 H264/90000\r\n"
                     "a=fmtp:96 sprop-parameter-sets=AAAAAWdCACnikBQHtgLcBAQGkHiRFQ==,aM48gA\r\n";
  cw_sdp_t *sdp = parse_ok(text, "rtsp://h/s");
  assert_param_sets(media_at(sdp, 0), (const char *const[]){AXIS_SPS, AXIS_PPS, NULL});
  cw_sdp_free(sdp);
}

/* Sets are only decoded for H.264/H.265; garbage in another codec's fmtp
 * (or an unparsable packetization-mode) is not an error. */
static void
test_other_codec_fmtp_ignored(void)
{
  const char *text = "m=video 0 RTP/AVP 26\r\n"
                     "a=fmtp:26 sprop-parameter-sets=!!!\r\n"
                     "m=video 0 RTP/AVP 96\r\n"
                     "a=rtpmap:96 H264/90000\r\n"
                     "a=fmtp:96 packetization-mode=x\r\n";
  cw_sdp_t *sdp = parse_ok(text, "rtsp://h/s");
  const cw_sdp_media_t *jpeg = media_at(sdp, 0);
  g_assert_cmpint(jpeg->payload_type, ==, 26);
  g_assert_null(jpeg->encoding);
  g_assert_cmpint(jpeg->codec, ==, CW_CODEC_NONE);
  g_assert_cmpuint(jpeg->clock_rate, ==, 0);
  g_assert_null(jpeg->param_sets);
  g_assert_cmpint(media_at(sdp, 1)->packetization_mode, ==, 0);
  g_assert_true(cw_sdp_first_video(sdp) == media_at(sdp, 1));
  cw_sdp_free(sdp);
}

/* A non-RTP medium (formats are not payload types) is kept with PT -1. */
static void
test_non_rtp_medium(void)
{
  cw_sdp_t *sdp = parse_ok("m=application 9 TCP/BFCP *\r\nm=video 0/2 RTP/AVP 96\r\n", "rtsp://h/");
  g_assert_cmpuint(sdp->media->len, ==, 2);
  g_assert_cmpint(media_at(sdp, 0)->payload_type, ==, -1);
  g_assert_cmpint(media_at(sdp, 1)->payload_type, ==, 96);
  cw_sdp_free(sdp);
}

static void
test_x_framerate_and_bad_hints(void)
{
  const char *text = "m=video 0 RTP/AVP 96\r\n"
                     "a=framerate:fast\r\n"
                     "a=x-framerate:12.5\r\n"
                     "a=x-dimensions:0,1080\r\n"
                     "a=x-dimensions:704,576\r\n";
  cw_sdp_t *sdp = parse_ok(text, "rtsp://h/s");
  g_assert_cmpfloat(media_at(sdp, 0)->framerate, ==, 12.5);
  g_assert_cmpint(media_at(sdp, 0)->width, ==, 704);
  g_assert_cmpint(media_at(sdp, 0)->height, ==, 576);
  cw_sdp_free(sdp);
}

static void
test_audio_only_has_no_video(void)
{
  const char *text = "v=0\r\n"
                     "s=Audio\r\n"
                     "m=audio 0 RTP/AVP 0\r\n"
                     "a=rtpmap:0 PCMU/8000\r\n"
                     "m=audio 0 RTP/AVP 97\r\n"
                     "a=rtpmap:97 H264/90000\r\n";
  cw_sdp_t *sdp = parse_ok(text, "rtsp://h/s");
  g_assert_cmpuint(sdp->media->len, ==, 2);
  g_assert_null(cw_sdp_first_video(sdp));
  cw_sdp_free(sdp);
}

/* ---- refusals ---------------------------------------------------------- */

typedef struct {
  const char *name;
  const char *text;
  size_t len; /* 0: strlen(text) */
  const char *msg;
} bad_case_t;

#define H264_MEDIA "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
#define H265_MEDIA "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H265/90000\r\n"
#define M_USAGE "expected 'm=<media> <port> <proto> <format>...'"
#define RTPMAP_USAGE "(expected 'a=rtpmap:<payload type> <encoding>/<clock rate>')"

static const bad_case_t bad_cases[] = {
    {"m_no_format", "v=0\r\nm=video 0 RTP/AVP\r\n", 0, "line 2: malformed m= line: " M_USAGE},
    {"m_empty", "m=\r\n", 0, "line 1: malformed m= line: " M_USAGE},
    {"m_port_text", "m=video abc RTP/AVP 96\n", 0,
     "line 1: malformed m= line: port is not a number"},
    {"m_port_range", "m=video 65536 RTP/AVP 96\n", 0,
     "line 1: malformed m= line: port is not a number"},
    {"m_port_count", "m=video 0/x RTP/AVP 96\n", 0,
     "line 1: malformed m= line: port is not a number"},
    {"m_pt_text", "s=x\n\nm=video 0 RTP/AVP H264\n", 0,
     "line 3: malformed m= line: RTP payload type must be a number from 0 to 127"},
    {"m_pt_range", "m=video 0 RTP/AVP 128\n", 0,
     "line 1: malformed m= line: RTP payload type must be a number from 0 to 127"},
    {"m_pt_savp", "m=video 0 RTP/SAVP -1\n", 0,
     "line 1: malformed m= line: RTP payload type must be a number from 0 to 127"},
    {"rtpmap_no_clock", "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264\r\n", 0,
     "line 2: malformed a=rtpmap " RTPMAP_USAGE},
    {"rtpmap_no_pt", "m=video 0 RTP/AVP 96\r\na=rtpmap:H264/90000\r\n", 0,
     "line 2: malformed a=rtpmap " RTPMAP_USAGE},
    {"rtpmap_clock_text", "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/abc\r\n", 0,
     "line 2: malformed a=rtpmap " RTPMAP_USAGE},
    {"rtpmap_clock_zero", "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/0\r\n", 0,
     "line 2: malformed a=rtpmap " RTPMAP_USAGE},
    {"rtpmap_clock_trailing", "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000x\r\n", 0,
     "line 2: malformed a=rtpmap " RTPMAP_USAGE},
    {"rtpmap_clock_overflow", "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/4294967296\r\n", 0,
     "line 2: malformed a=rtpmap " RTPMAP_USAGE},
    {"rtpmap_empty", "m=video 0 RTP/AVP 96\r\na=rtpmap\r\n", 0,
     "line 2: malformed a=rtpmap " RTPMAP_USAGE},
    {"rtpmap_other_pt", "m=video 0 RTP/AVP 96\r\na=rtpmap:97 /90000\r\n", 0,
     "line 2: malformed a=rtpmap " RTPMAP_USAGE},
    {"nul_byte", "v=0\r\ns=x\r\na=con\0trol:*\r\n", 24, "line 3: NUL byte"},
    {"sprop_h264", H264_MEDIA "a=control:x\r\na=fmtp:96 sprop-parameter-sets=Z0I*AA,aM48gA==\r\n",
     0, "line 4: invalid base64 in sprop-parameter-sets"},
    {"sprop_h264_padding", H264_MEDIA "a=fmtp:96 sprop-parameter-sets=Z0IAKeKQ,aM4=gA==\r\n", 0,
     "line 3: invalid base64 in sprop-parameter-sets"},
    {"sprop_h264_length", H264_MEDIA "a=fmtp:96 sprop-parameter-sets=Z0IAK\r\n", 0,
     "line 3: invalid base64 in sprop-parameter-sets"},
    /* The fmtp line is blamed even when rtpmap comes after it. */
    {"sprop_fmtp_before_rtpmap",
     "m=video 0 RTP/AVP 96\r\na=fmtp:96 sprop-parameter-sets=@@@@\r\na=rtpmap:96 H264/90000\r\n", 0,
     "line 2: invalid base64 in sprop-parameter-sets"},
    {"sprop_vps", H265_MEDIA "a=fmtp:96 sprop-vps=QAEM-f;sprop-sps=QgEB\r\n", 0,
     "line 3: invalid base64 in sprop-vps"},
    {"sprop_sps", H265_MEDIA "a=fmtp:96 sprop-vps=QAEM;sprop-sps=Qg E=\r\n", 0,
     "line 3: invalid base64 in sprop-sps"},
    {"sprop_pps", H265_MEDIA "a=fmtp:96 sprop-pps=RAHBcrRiQA===\r\n", 0,
     "line 3: invalid base64 in sprop-pps"},
    /* The first error wins: a later medium's is not reached. */
    {"first_error_wins", "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264\r\nm=video\r\n", 0,
     "line 2: malformed a=rtpmap " RTPMAP_USAGE},
};

static void
test_bad(gconstpointer data)
{
  const bad_case_t *c = data;
  cw_sdp_t *sdp = (cw_sdp_t *)&sdp; /* must be reset to NULL */
  cw_error_t err = {0};
  size_t len = c->len ? c->len : strlen(c->text);
  g_assert_cmpint(cw_sdp_parse(c->text, len, "rtsp://h/s", &sdp, &err), ==, -EINVAL);
  g_assert_null(sdp);
  g_assert_cmpint(err.code, ==, -EINVAL);
  g_assert_cmpstr(err.msg, ==, c->msg);
}

static void
test_too_many_media(void)
{
  GString *s = g_string_new("v=0\r\n");
  for (int i = 0; i < CW_SDP_MAX_MEDIA; i++)
    g_string_append_printf(s, "m=video 0 RTP/AVP %d\r\na=control:trackID=%d\r\n", 96, i);
  cw_sdp_t *sdp = parse_ok(s->str, "rtsp://h/s");
  g_assert_cmpuint(sdp->media->len, ==, CW_SDP_MAX_MEDIA);
  cw_sdp_free(sdp);

  g_string_append(s, "m=audio 0 RTP/AVP 0\r\n");
  cw_error_t err = {0};
  g_assert_cmpint(cw_sdp_parse(s->str, s->len, "rtsp://h/s", &sdp, &err), ==, -EINVAL);
  g_assert_null(sdp);
  g_assert_cmpstr(err.msg, ==, "line 34: more than 16 media (m= lines)");
  g_string_free(s, TRUE);
}

/* Exactly the limit parses; one byte more is refused, naming the line that
 * holds that byte. */
static void
test_too_large(void)
{
  GString *s = g_string_new("v=0\r\nm=video 0 RTP/AVP 96\r\n");
  while (s->len < CW_SDP_MAX_BYTES - 100)
    g_string_append(s, "a=x-padding:0123456789012345678901234567890123456789\r\n");
  while (s->len < CW_SDP_MAX_BYTES)
    g_string_append_c(s, ' ');
  cw_sdp_t *sdp = parse_ok(s->str, "rtsp://h/s");
  cw_sdp_free(sdp);
  guint lines = 1;
  for (size_t i = 0; i < s->len; i++)
    lines += s->str[i] == '\n';
  g_string_append_c(s, ' ');
  cw_error_t err = {0};
  g_assert_cmpint(cw_sdp_parse(s->str, s->len, "rtsp://h/s", &sdp, &err), ==, -EINVAL);
  g_assert_null(sdp);
  char *want = g_strdup_printf("line %u: SDP larger than 65536 bytes", lines);
  g_assert_cmpstr(err.msg, ==, want);
  g_free(want);
  g_string_free(s, TRUE);
}

/* ---- control resolution ------------------------------------------------ */

typedef struct {
  const char *name;
  const char *base;
  const char *control;
  const char *want;
} resolve_case_t;

static const resolve_case_t resolve_cases[] = {
    {"relative_appended", "rtsp://h/stream1", "trackID=1", "rtsp://h/stream1/trackID=1"},
    {"relative_base_slash", "rtsp://h/stream1/", "trackID=1", "rtsp://h/stream1/trackID=1"},
    {"relative_host_only", "rtsp://h:554", "trackID=1", "rtsp://h:554/trackID=1"},
    {"relative_deep", "rtsp://h/Streaming/Channels/101", "trackID=1",
     "rtsp://h/Streaming/Channels/101/trackID=1"},
    {"relative_ipv6", "rtsp://[::1]:8554/x", "stream=0", "rtsp://[::1]:8554/x/stream=0"},
    /* The query stays; the control follows it (what servers expect). */
    {"query_appended", "rtsp://h/live?ch=1", "trackID=1", "rtsp://h/live?ch=1/trackID=1"},
    {"query_dahua_slash", "rtsp://h:554/cam/realmonitor?channel=1&subtype=0/", "trackID=0",
     "rtsp://h:554/cam/realmonitor?channel=1&subtype=0/trackID=0"},
    {"star", "rtsp://h/stream1", "*", "rtsp://h/stream1"},
    {"empty", "rtsp://h/stream1/", "", "rtsp://h/stream1/"},
    {"null_control", "rtsp://h/stream1", NULL, "rtsp://h/stream1"},
    {"absolute_rtsp", "rtsp://h/a", "rtsp://10.0.0.1/Streaming/Channels/101/trackID=1",
     "rtsp://10.0.0.1/Streaming/Channels/101/trackID=1"},
    {"absolute_rtsps", "rtsp://h/a", "rtsps://g:322/x", "rtsps://g:322/x"},
    {"absolute_upper_case", "rtsp://h/a", "RTSP://G/X", "RTSP://G/X"},
    {"absolute_other_scheme", "rtsp://h/a", "http://g/x", "http://g/x"},
    {"absolute_path", "rtsp://h:554/a/b", "/c/d", "rtsp://h:554/c/d"},
    {"absolute_path_drops_query", "rtsp://h:554/a?x=1", "/c", "rtsp://h:554/c"},
    {"absolute_path_host_only", "rtsp://h:554", "/c", "rtsp://h:554/c"},
    {"absolute_path_query_only", "rtsp://h?q=1", "/c", "rtsp://h/c"},
    {"absolute_path_keeps_userinfo", "rtsp://u:p@h/a", "/b", "rtsp://u:p@h/b"},
    {"network_path", "rtsps://h/a", "//g:8554/x", "rtsps://g:8554/x"},
    {"colon_in_relative", "rtsp://h/a", "track:1", "rtsp://h/a/track:1"},
    {"no_base", "", "trackID=1", "trackID=1"},
    {"no_base_absolute_path", "", "/x", "/x"},
    {"null_base_star", NULL, "*", ""},
};

static void
test_resolve(gconstpointer data)
{
  const resolve_case_t *c = data;
  char *got = cw_rtsp_resolve_control(c->base, c->control);
  g_assert_cmpstr(got, ==, c->want);
  g_free(got);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/sdp/real/gst_rtsp_server_h264", test_gst_rtsp_server_h264);
  g_test_add_func("/sdp/real/gst_rtsp_server_h265", test_gst_rtsp_server_h265);
  g_test_add_func("/sdp/real/vlc_rtsp_output", test_vlc_rtsp_output);
  g_test_add_func("/sdp/real/ffmpeg_rtsp_server_perl", test_ffmpeg_rtsp_server_perl);
  g_test_add_func("/sdp/real/hikvision", test_hikvision);
  g_test_add_func("/sdp/real/axis_session_star", test_axis_session_star);
  g_test_add_func("/sdp/real/axis_media_amp_query", test_axis_media_amp_query);
  g_test_add_func("/sdp/real/dahua", test_dahua);
  g_test_add_func("/sdp/real/dahua_h265", test_dahua_h265);
  g_test_add_func("/sdp/tolerate/sloppy_camera", test_sloppy_camera);
  g_test_add_func("/sdp/tolerate/not_nul_terminated", test_not_nul_terminated);
  g_test_add_func("/sdp/tolerate/empty_input", test_empty_input);
  g_test_add_func("/sdp/tolerate/missing_media_control", test_missing_media_control);
  g_test_add_func("/sdp/tolerate/first_payload_type_and_first_line_win",
                  test_first_payload_type_and_first_line_win);
  g_test_add_func("/sdp/tolerate/sprop_start_code_and_no_padding",
                  test_sprop_start_code_and_no_padding);
  g_test_add_func("/sdp/tolerate/other_codec_fmtp_ignored", test_other_codec_fmtp_ignored);
  g_test_add_func("/sdp/tolerate/non_rtp_medium", test_non_rtp_medium);
  g_test_add_func("/sdp/tolerate/x_framerate_and_bad_hints", test_x_framerate_and_bad_hints);
  g_test_add_func("/sdp/first_video/audio_only", test_audio_only_has_no_video);
  for (guint i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
    char *path = g_strdup_printf("/sdp/reject/%s", bad_cases[i].name);
    g_test_add_data_func(path, &bad_cases[i], test_bad);
    g_free(path);
  }
  g_test_add_func("/sdp/reject/too_many_media", test_too_many_media);
  g_test_add_func("/sdp/reject/too_large", test_too_large);
  for (guint i = 0; i < G_N_ELEMENTS(resolve_cases); i++) {
    char *path = g_strdup_printf("/sdp/resolve_control/%s", resolve_cases[i].name);
    g_test_add_data_func(path, &resolve_cases[i], test_resolve);
    g_free(path);
  }
  return g_test_run();
}
