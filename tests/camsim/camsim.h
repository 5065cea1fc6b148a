/* camsim: a camera simulator serving many RTSP 1.0 streams from one libuv
 * loop. Everything here runs on that one loop thread; nothing is
 * thread-safe and nothing needs to be. See README.md. */
#ifndef CAMSIM_H
#define CAMSIM_H

#include <glib.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/* ---- clip.c: Annex B clips split into access units ---------------------- */

typedef enum { CS_CODEC_H264, CS_CODEC_H265 } cs_codec_t;

typedef struct {
  const uint8_t *data; /* points into the clip's file buffer */
  size_t len;
} cs_nal_t;

typedef struct {
  guint first_nal; /* index into cs_clip_t.nals */
  guint n_nals;
  bool key;
} cs_au_t;

typedef struct {
  cs_codec_t codec;
  char *path;
  uint8_t *buf; /* the whole file; NALs point into it */
  GArray *nals; /* cs_nal_t, AUDs already removed */
  GArray *aus;  /* cs_au_t, decode order */
  char *fmtp;   /* SDP a=fmtp parameters, without "a=fmtp:96 " */
  guint n_keys;
} cs_clip_t;

/* Loads PATH, splits it into NAL units and access units and derives the
 * SDP fmtp. Caller frees with cs_clip_free(). Returns 0 or -1 with ERROR. */
int cs_clip_load(cs_clip_t **out, cs_codec_t codec, const char *path, GError **error);
void cs_clip_free(cs_clip_t *clip);
/* "H264"/"H265" as in a=rtpmap; cs_codec_parse accepts h264/h265/hevc. */
const char *cs_codec_rtp_name(cs_codec_t codec);
int cs_codec_parse(const char *s, cs_codec_t *out);

/* ---- packetize.c: RTP (RFC 6184, RFC 7798) and RTCP SR ------------------ */

typedef struct {
  uint32_t ssrc;
  uint16_t seq;
  uint32_t packets; /* for the sender report */
  uint32_t octets;
} cs_rtp_state_t;

/* Called once per RTP packet; PKT is only valid during the call. */
typedef void (*cs_packet_fn)(const uint8_t *pkt, size_t len, void *user);

/* Packetises access unit AU of CLIP with timestamp TS (single NAL, FU, and
 * STAP-A/AP for runs of small NALs when AGGREGATE), payload type 96, the
 * marker on the last packet. MTU bounds the whole RTP packet. */
void cs_rtp_packetize(const cs_clip_t *clip, const cs_au_t *au, uint32_t ts, size_t mtu,
                      bool aggregate, cs_rtp_state_t *st, cs_packet_fn fn, void *user);

/* Writes an RTCP compound packet (SR + SDES CNAME) with the wall clock now
 * and RTP_TS into OUT (at least 64 bytes). Returns its length. */
size_t cs_rtcp_build_sr(uint8_t *out, const cs_rtp_state_t *st, uint32_t rtp_ts);

/* ---- behaviour.c: mounts, scripted faults, authentication --------------- */

typedef enum {
  CS_BHV_NORMAL,
  CS_BHV_REFUSE,
  CS_BHV_UNAUTHORIZED, /* Digest MD5, qop=auth */
  CS_BHV_BASIC,        /* Basic */
  CS_BHV_STALL,
  CS_BHV_DROP,
  CS_BHV_SLOW_DESCRIBE,
  CS_BHV_GARBAGE,
  CS_BHV_TS_JUMP,
  CS_BHV_SSRC_CHANGE,
  CS_BHV_OVERSIZED_SDP,
  CS_BHV_WRONG_CHANNEL,
  CS_BHV_TCP_REFUSED_SETUP,
} cs_behaviour_t;

typedef struct {
  char *name;
  cs_codec_t codec;
  cs_behaviour_t behaviour;
  double arg_s; /* T for the timed behaviours */
  bool once;    /* the fault happens only the first time */
  bool fired;
  cs_clip_t *clip;
} cs_mount_t;

/* Parses NAME:CODEC:BEHAVIOUR[:ARG][:once]. Caller frees with
 * cs_mount_free(). Returns 0 or -1 with ERROR. */
int cs_mount_parse(const char *spec, cs_mount_t **out, GError **error);
void cs_mount_free(cs_mount_t *m);
const char *cs_behaviour_name(cs_behaviour_t b);
/* Whether the mount's fault should happen now (false once a `once` fault
 * has fired); cs_mount_fire records that it happened. */
bool cs_mount_fault_armed(const cs_mount_t *m, cs_behaviour_t b);
void cs_mount_fire(cs_mount_t *m);

typedef struct {
  const char *user;
  const char *pass;
  const char *realm;
  const char *nonce;
} cs_auth_t;

/* Checks an Authorization header value for METHOD. */
bool cs_auth_check_digest(const cs_auth_t *a, const char *method, const char *header);
bool cs_auth_check_basic(const cs_auth_t *a, const char *header);

/* Bodies of the garbage and oversized_sdp faults (caller g_free()s). */
uint8_t *cs_garbage_new(size_t len);
char *cs_oversized_sdp_new(size_t len);

/* ---- server.c / rtsp.c: the RTSP server ---------------------------------- */

typedef struct cs_server cs_server_t;
typedef struct cs_conn cs_conn_t;
typedef struct cs_sess cs_sess_t;

typedef struct {
  const char *bind;
  int port;
  int fps;
  size_t mtu;
  bool aggregate;
  guint max_sessions;
  guint session_timeout_s;
  size_t backlog_bytes;
  int sndbuf_bytes; /* SO_SNDBUF of each connection; 0: the kernel's */
  const char *session_log;
  cs_auth_t auth;
} cs_config_t;

struct cs_sess {
  char id[17];
  cs_mount_t *mount;
  cs_conn_t *conn;
  GList *link; /* in the server's session queue */
  bool tcp;
  uint8_t ch_rtp; /* interleaved channel, RTCP on ch_rtp + 1 */
  struct sockaddr_in rtp_addr, rtcp_addr;
  bool playing;
  uint64_t setup_ms, play_ms, last_seen_ms;
  guint pos;       /* next access unit */
  uint64_t frames; /* sent or dropped since PLAY: the RTP clock */
  uint32_t ts_base;
  uint32_t ts_jump;
  uint8_t ch_send; /* ch_rtp, unless the wrong_channel fault is on */
  bool jumped, ssrc_changed, stalled;
  bool resync; /* a frame was dropped: skip to the next keyframe */
  cs_rtp_state_t rtp;
};

struct cs_conn {
  uv_tcp_t tcp; /* first: the handle's address is the conn's */
  cs_server_t *srv;
  GList *link;    /* in the server's connection queue */
  GByteArray *in; /* unparsed request bytes, at most CS_MAX_REQUEST */
  size_t skip;    /* bytes of a client interleaved frame still to discard */
  char peer[64];
  struct sockaddr_in peer_addr;
  bool closing;
  size_t backlog;   /* bytes queued in uv_write requests */
  GList *sessions;  /* cs_sess_t, owned */
  GString *delayed; /* response held back by slow_describe */
  uint64_t delay_until_ms;
  GList *delay_link; /* in the server's delayed queue */
};

#define CS_MAX_REQUEST 8192

typedef struct {
  guint64 conns_total, sessions_total;
  guint64 bytes, frames, drops, packets_dropped;
} cs_stats_t;

struct cs_server {
  uv_loop_t *loop;
  cs_config_t cfg;
  uv_tcp_t listener;
  uv_udp_t udp_rtp, udp_rtcp;
  int udp_port;
  uv_timer_t tick;
  GHashTable *mounts; /* name -> cs_mount_t, owned */
  GQueue conns, sessions, delayed;
  FILE *session_log;
  cs_stats_t stats;
  uint64_t start_ms, ticks_done;
  char nonce[33];
  GByteArray *scratch;
  int port;
  bool stopping;
};

/* server.c */
int cs_server_init(cs_server_t *srv, uv_loop_t *loop, const cs_config_t *cfg, GError **error);
/* Adds a mount; the server takes ownership. */
int cs_server_add_mount(cs_server_t *srv, cs_mount_t *m, GError **error);
int cs_server_start(cs_server_t *srv, GError **error);
/* Closes every handle; run the loop afterwards until it has none. */
void cs_server_stop(cs_server_t *srv);
void cs_server_free(cs_server_t *srv);
void cs_server_print_stats(cs_server_t *srv, FILE *out);

/* Sends bytes on the connection; MEDIA bytes are dropped (returns -1) when
 * the client's backlog passes the bound. */
int cs_conn_send(cs_conn_t *c, const void *data, size_t len, bool media);
/* Closes the connection and, when its handle has closed, its sessions. */
void cs_conn_close(cs_conn_t *c);
void cs_session_log(cs_server_t *srv, const cs_sess_t *s, const char *event);
void cs_sess_destroy(cs_sess_t *s);

/* rtsp.c: consumes complete requests from c->in. */
void cs_rtsp_process(cs_conn_t *c);
/* Sends the media due for one tick of the frame clock to session S. */
void cs_sess_send_frame(cs_sess_t *s);

#endif
