/* Fuzzes ingest/sdp.c: parses the input as a DESCRIBE answer's SDP against a
 * fixed base URL and checks what sdp.h promises of the result or the
 * refusal; then splits the input at its first line end into a base URL and
 * a control and checks cw_rtsp_resolve_control's rules. */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "sdp.h"

#define BASE_URL "rtsp://192.0.2.1:554/Streaming/Channels/101"

static void
check_media(const cw_sdp_media_t *m)
{
  static const guint8 start_code[] = {0, 0, 0, 1};
  FUZZ_CHECK(m != NULL);
  FUZZ_CHECK(m->media != NULL && m->media[0] != '\0');
  FUZZ_CHECK(m->payload_type >= -1 && m->payload_type <= 127);
  if (m->encoding) {
    FUZZ_CHECK(m->encoding[0] != '\0');
    FUZZ_CHECK(m->clock_rate > 0);
  } else {
    FUZZ_CHECK(m->clock_rate == 0);
  }
  cw_codec_t want = CW_CODEC_NONE;
  if (m->encoding && g_ascii_strcasecmp(m->encoding, "H264") == 0)
    want = CW_CODEC_H264;
  else if (m->encoding && g_ascii_strcasecmp(m->encoding, "H265") == 0)
    want = CW_CODEC_H265;
  FUZZ_CHECK(m->codec == want);
  /* Every control is resolved to an absolute URL (the base has a scheme). */
  FUZZ_CHECK(m->control != NULL);
  FUZZ_CHECK(strstr(m->control, "://") != NULL);
  FUZZ_CHECK(m->packetization_mode >= 0 && m->packetization_mode <= 2);
  if (m->codec != CW_CODEC_H264)
    FUZZ_CHECK(m->packetization_mode == 0);
  FUZZ_CHECK((m->param_sets == NULL) == (m->param_sets_len == 0));
  if (m->param_sets) {
    FUZZ_CHECK(m->codec != CW_CODEC_NONE && m->fmtp != NULL);
    FUZZ_CHECK(m->param_sets_len > sizeof start_code);
    FUZZ_CHECK(memcmp(m->param_sets, start_code, sizeof start_code) == 0);
  }
  FUZZ_CHECK(m->framerate >= 0 && m->framerate <= 1000);
  FUZZ_CHECK(m->width >= 0 && m->width <= 65535 && m->height >= 0 && m->height <= 65535);
  FUZZ_CHECK((m->width == 0) == (m->height == 0));
}

static void
check_parse(const char *text, size_t len)
{
  cw_sdp_t *sdp = (cw_sdp_t *)&sdp; /* must be overwritten */
  cw_error_t err = {0};
  int rc = cw_sdp_parse(text, len, BASE_URL, &sdp, &err);
  if (rc != 0) {
    FUZZ_CHECK(rc == -EINVAL && err.code == -EINVAL);
    FUZZ_CHECK(sdp == NULL);
    /* "line N: reason" with N a line the input has. */
    guint lines = 1;
    for (size_t i = 0; i < len; i++)
      lines += text[i] == '\n';
    unsigned line = 0;
    int used = 0;
    FUZZ_CHECK(sscanf(err.msg, "line %u: %n", &line, &used) == 1 && used > 0);
    FUZZ_CHECK(line >= 1 && line <= lines);
    FUZZ_CHECK(err.msg[used] != '\0');
    return;
  }
  FUZZ_CHECK(sdp != NULL && sdp->media != NULL);
  FUZZ_CHECK(len <= CW_SDP_MAX_BYTES);
  FUZZ_CHECK(memchr(text, '\0', len) == NULL);
  FUZZ_CHECK(sdp->media->len <= CW_SDP_MAX_MEDIA);
  if (sdp->session_control)
    FUZZ_CHECK(sdp->session_control[0] != '\0');
  for (guint i = 0; i < sdp->media->len; i++)
    check_media(sdp->media->pdata[i]);
  const cw_sdp_media_t *v = cw_sdp_first_video(sdp);
  if (v) {
    FUZZ_CHECK(g_ascii_strcasecmp(v->media, "video") == 0);
    FUZZ_CHECK(v->codec == CW_CODEC_H264 || v->codec == CW_CODEC_H265);
  }
  cw_sdp_free(sdp);
}

static void
check_resolve(const char *text, size_t len)
{
  const char *nl = memchr(text, '\n', len);
  if (!nl)
    return;
  char *base = g_strndup(text, (gsize)(nl - text));
  char *control = g_strndup(nl + 1, len - (size_t)(nl - text) - 1);
  char *got = cw_rtsp_resolve_control(base, control);
  FUZZ_CHECK(got != NULL);
  if (control[0] == '\0' || strcmp(control, "*") == 0) {
    FUZZ_CHECK(strcmp(got, base) == 0);
  } else if (control[0] != '/' && !strstr(control, "://") && base[0] != '\0') {
    /* Relative: appended to the base, never replacing any of it. */
    FUZZ_CHECK(g_str_has_prefix(got, base));
    FUZZ_CHECK(g_str_has_suffix(got, control));
    FUZZ_CHECK(strlen(got) <= strlen(base) + 1 + strlen(control));
  } else {
    FUZZ_CHECK(g_str_has_suffix(got, control));
  }
  g_free(got);
  g_free(control);
  g_free(base);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  check_parse((const char *)data, size);
  check_resolve((const char *)data, size);
  return 0;
}
